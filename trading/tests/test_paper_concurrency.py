"""200 simultaneous POST /trade for one account through the real server on PostgreSQL:
exactly as many succeed as the balance funds, and the ledger still adds up."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from django.db.models import Sum

from cryptobot.api.tokens import api_token_get_or_create
from trading.models import Account, Balance, LedgerEntry, RiskSettings
from trading.services.paper import account_get
from trading.services.prices import prices_poll

pytestmark = pytest.mark.live

REQUESTS = 200
BODY = {
    "symbol": "BTCUSDT",
    "direction": "long",
    "quote_amount": "1000",
    "leverage": 1,
    "margin_type": "isolated",
}


async def _fire(url: str, token: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        headers = {"Authorization": f"Token {token}"}
        return await asyncio.gather(
            *(client.post("/trade", json=BODY, headers=headers) for _ in range(REQUESTS))
        )


def test_simultaneous_trades_never_overdraw(
    transactional_db, live_server_stack, user, frozen_replay
):
    prices_poll()
    account = account_get(user=user)
    RiskSettings.objects.filter(account=account).update(
        max_position_pct=None,
        max_open_trades=None,
        max_risk_per_trade_pct=None,
        min_free_balance=None,
        max_daily_loss_pct=None,
        max_drawdown_pct=None,
    )
    token = api_token_get_or_create(user=user).key
    responses = asyncio.run(_fire(live_server_stack.url, token))

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses and set(statuses) <= {201, 422}, set(statuses)
    ok = [r.json() for r in responses if r.status_code == 201]
    refused = [r.json()["error"] for r in responses if r.status_code == 422]
    assert {e["details"]["rule"] for e in refused} == {"insufficient_margin"}
    assert all("margin" in e["message"].lower() for e in refused)
    # Every order is the same size at the same (cached) price, so each success costs the
    # same isolated margin (quote at 1x) plus fee; exactly as many succeed as fit in 10,000.
    fills = list(Account.objects.get(pk=account.pk).fills.all())
    assert len(fills) == len(ok) and len({(f.qty, f.price) for f in fills}) == 1
    cost = fills[0].quote_qty + fills[0].fee
    assert len(ok) == int(Decimal("10000") // cost) and len(refused) == REQUESTS - len(ok)

    account = Account.objects.get(pk=account.pk)
    for balance in Balance.objects.filter(account=account):
        total = LedgerEntry.objects.filter(account=account, asset=balance.asset).aggregate(
            s=Sum("amount")
        )["s"]
        assert total == balance.amount and balance.amount >= 0
    # The daily-loss rule's running flow saw every committed order exactly once.
    fees = LedgerEntry.objects.filter(account=account, asset="USDT").exclude(kind="deposit")
    assert account.flow_today == fees.aggregate(s=Sum("amount"))["s"] < 0
    position = account.positions.get(symbol="BTCUSDT")
    fills = account.fills.aggregate(q=Sum("qty"))["q"]
    assert position.quantity == fills  # every success filled once, none twice
    assert position.isolated_wallet <= Decimal("10000")
