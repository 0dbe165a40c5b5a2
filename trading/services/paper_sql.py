"""The paper shell's writes as plain SQL: INSERT and upsert statements built from row values
(column attname → value), sent to the database together.

No ORM and no model instances on this path: compiling an ORM bulk upsert, or even building
the model instances to hand to one, costs more CPU than the engine's whole order (see
bench/bench_trade.py and docs/ARCHITECTURE.md). The caller holds the account's row lock in
an open transaction; every statement here writes that account's rows only.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import psycopg
from django.db import connection, models

# PostgreSQL refuses a statement with more than 65,535 parameters.
MAX_PARAMS = 30_000
_MISSING = object()


class Writes:
    """Statements for one account's rows, sent together by :meth:`flush`."""

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.statements: list[tuple[str, list[Any]]] = []

    def add(self, sql: str, params: list[Any]) -> None:
        self.statements.append((sql, params))

    def insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        """INSERT ``rows`` (values by attname; a missing column takes its field's default)."""
        self.add(*self._insert_sql(model, rows))

    def upsert(
        self,
        model: type[models.Model],
        rows: list[dict[str, Any]],
        unique: tuple[str, ...],
        update: tuple[str, ...],
    ) -> None:
        """INSERT ``rows``, updating the ``update`` fields of those that exist by ``unique``."""
        sql, params = self._insert_sql(model, rows)
        self.add(sql + _conflict_clause(model, unique, update), params)

    def _insert_sql(
        self, model: type[models.Model], rows: list[dict[str, Any]]
    ) -> tuple[str, list[Any]]:
        head, columns, row_sql = _insert_plan(model, connection.vendor)
        params: list[Any] = []
        for row in rows:
            for attname, field, prep in columns:
                if attname == "account_id":
                    value = self.account_id
                else:
                    value = row.get(attname, _MISSING)
                    if value is _MISSING:
                        value = field.get_default()
                params.append(value if prep is None else prep(value, connection))
        return head + ", ".join([row_sql] * len(rows)), params

    def flush(self) -> None:
        """Send every statement: on PostgreSQL as one (see :func:`joined`), elsewhere in turn."""
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            with connection.wrap_database_errors, psycopg.RawCursor(connection.connection) as cur:
                for sql, params in joined(self.statements):
                    cur.execute(sql, params)
            return
        with connection.cursor() as cursor:
            for sql, params in self.statements:
                cursor.execute(sql, params)


def joined(statements: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    """PostgreSQL: the statements as one (more only past MAX_PARAMS parameters), each but the
    last a data-modifying WITH clause: ``WITH w0 AS (INSERT ...), w1 AS (...) UPDATE ...``.

    One statement is one network write, one Bind/Execute and one wake-up of the server
    instead of one per table (a psycopg pipeline still flushes each statement on its own).
    WITH clauses share one snapshot and do not see each other's rows; an order's writes never
    need to, since no two of them touch the same row (each table appears once, and a
    position is either deleted or upserted). Placeholders become PostgreSQL's own ($1, $2,
    ...) for psycopg's RawCursor, because psycopg parses a %s query this long on every call.
    """
    batches: list[list[tuple[str, list[Any]]]] = [[]]
    count = 0
    for sql, params in statements:
        if batches[-1] and count + len(params) > MAX_PARAMS:
            batches.append([])
            count = 0
        batches[-1].append((sql, params))
        count += len(params)
    out = []
    for batch in batches:
        *clauses, (last, _) = batch
        prefix = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(clauses))
        params = [value for _, values in batch for value in values]
        out.append((_numbered(f"WITH {prefix} {last}" if clauses else last), params))
    return out


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``%s`` placeholders as ``$1, $2, ...`` (the writes come in a few shapes only)."""
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


@cache
def _insert_plan(
    model: type[models.Model], vendor: str
) -> tuple[str, list[tuple[str, models.Field, Any]], str]:
    """Per model and database: ``INSERT INTO t (columns) VALUES ``, each column's attname,
    field and the adapter the driver needs, and one row's placeholders. psycopg takes text,
    numbers, Decimal and aware datetimes as they are (only JSON needs wrapping); sqlite3
    needs Django's conversions for every column."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [
        (
            f.attname,
            f,
            f.get_db_prep_save
            if vendor != "postgresql" or isinstance(f, models.JSONField)
            else None,
        )
        for f in fields
    ]
    head = f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in fields)}) VALUES "
    return head, columns, "(" + ", ".join(["%s"] * len(fields)) + ")"


@cache
def _conflict_clause(
    model: type[models.Model], unique: tuple[str, ...], update: tuple[str, ...]
) -> str:
    meta = model._meta
    columns = ", ".join(meta.get_field(name).column for name in unique)
    sets = ", ".join(f"{(c := meta.get_field(name).column)} = EXCLUDED.{c}" for name in update)
    return f" ON CONFLICT ({columns}) DO UPDATE SET {sets}"
