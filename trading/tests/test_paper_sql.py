"""The paper shell's writes: joined into one PostgreSQL statement, split past the cap."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from trading.models import Account, LedgerEntry
from trading.services import paper_sql
from trading.services.paper import account_get


def test_writes_join_into_one_statement_with_numbered_placeholders():
    statements = [
        ("INSERT INTO a (x) VALUES (%s)", [1]),
        ("INSERT INTO b (x, y) VALUES (%s, %s)", [2, 3]),
        ("UPDATE c SET x = %s WHERE id = %s", [4, 5]),
    ]
    assert paper_sql.joined(statements) == [
        (
            "WITH w0 AS (INSERT INTO a (x) VALUES ($1)), "
            "w1 AS (INSERT INTO b (x, y) VALUES ($2, $3)) "
            "UPDATE c SET x = $4 WHERE id = $5",
            [1, 2, 3, 4, 5],
        )
    ]


def test_writes_past_the_parameter_cap_split_into_several_statements(monkeypatch):
    monkeypatch.setattr(paper_sql, "MAX_PARAMS", 3)
    statements = [("A %s %s", [1, 2]), ("B %s %s", [3, 4]), ("C %s", [5])]
    assert paper_sql.joined(statements) == [
        ("A $1 $2", [1, 2]),
        ("WITH w0 AS (B $1 $2) C $3", [3, 4, 5]),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the joined path is PostgreSQL's")
def test_a_flush_past_the_cap_writes_every_row(user, monkeypatch):
    monkeypatch.setattr(paper_sql, "MAX_PARAMS", 50)
    account = account_get(user=user)
    before = LedgerEntry.objects.filter(account=account).count()
    now = datetime.now(UTC)
    rows = [
        {"asset": "USDT", "amount": Decimal(n), "kind": "fee", "symbol": "BTCUSDT", "time": now}
        for n in range(1, 31)
    ]
    with transaction.atomic():
        writes = paper_sql.Writes(account.pk)
        for chunk in (rows[:10], rows[10:20], rows[20:]):  # 80 parameters each
            writes.insert(LedgerEntry, chunk)
        writes.add("UPDATE trading_account SET peak_equity = %s WHERE id = %s", [7, account.pk])
        writes.flush()
    entries = LedgerEntry.objects.filter(account=account).order_by("id")[before:]
    assert [e.amount for e in entries] == [Decimal(n) for n in range(1, 31)]
    # Columns the rows leave out take their field's default.
    assert {(e.order_number, e.trade_number) for e in entries} == {(None, None)}
    assert Account.objects.get(pk=account.pk).peak_equity == 7
