"""The two-statement PostgreSQL load gives exactly the state the ORM load gives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from trading.models import Account, LedgerEntry
from trading.services.paper_state import flow_today, locked_load, state_load
from trading.services.prices import prices_poll


def test_fast_load_equals_orm_load(api_client, user, frozen_replay):
    prices_poll()
    api_client.post(
        "/trade",
        {
            "symbol": "BTCUSDT",
            "direction": "long",
            "quote_amount": "900",
            "leverage": 3,
            "margin_type": "isolated",
            "stop_loss_pct": "3",
        },
        format="json",
    )
    api_client.post(
        "/trade",
        {"symbol": "ETHUSDT", "direction": "long", "market": "spot", "quantity": "0.05"},
        format="json",
    )
    price = Decimal(api_client.get("/price/SOLUSDT").json()["price"])
    api_client.post(
        "/trade",
        {
            "symbol": "SOLUSDT",
            "direction": "short",
            "quantity": "1",
            "order_type": "limit",
            "price": str(price * Decimal("1.5")),
        },
        format="json",
    )
    account = Account.objects.get(user=user)
    with transaction.atomic():
        fast = locked_load(user.pk)
    orm = state_load(account)
    assert fast is not None
    assert fast.state == orm.state
    assert fast.balances == orm.balances
    assert len(fast.state.orders) == 1 and len(fast.state.trades) == 2
    assert fast.risk["max_leverage"] == 20 and fast.recent_net == []
    # Today's running flow is the day's ledger sum apart from the deposit: fees and the
    # spot purchase, kept as each order was written.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    ledger = (
        LedgerEntry.objects.filter(account=account, asset="USDT", time__gte=today)
        .exclude(kind__in=["deposit", "reset"])
        .aggregate(s=Sum("amount"))["s"]
    )
    assert fast.account.flow_today == ledger < 0 and flow_today(fast.account) == ledger
