"""Price ticks drive stops and targets through the ORM shell, exactly once."""

from __future__ import annotations

import json
from decimal import Decimal

from cryptobot.lib.redis import redis_client
from cryptobot.testing.prices import cached_price_set
from trading.models import Account, LedgerEntry, Trade
from trading.services.paper import ticks_process
from trading.services.prices import _prices_key, prices_poll


def test_stop_loss_fires_once_on_the_tick_that_crosses_it(api_client, user, frozen_replay):
    prices_poll()
    trade = api_client.post(
        "/trade",
        {
            "symbol": "ETHUSDT",
            "direction": "long",
            "quote_amount": "1000",
            "leverage": 3,
            "margin_type": "isolated",
            "stop_loss_pct": "1",
            "take_profit_pct": "3",
        },
        format="json",
    ).json()
    stop = Decimal(trade["stop_loss"])
    cached_price_set("ETHUSDT", stop + Decimal("0.50"))
    assert ticks_process(symbols=["ETHUSDT"]) == 1
    assert Trade.objects.get(number=trade["id"]).status == "open"
    cached_price_set("ETHUSDT", stop - Decimal("0.10"))
    ticks_process(symbols=["ETHUSDT"])
    closed = Trade.objects.get(number=trade["id"])
    assert closed.status == "closed" and closed.close_reason == "stop_loss"
    entries = LedgerEntry.objects.count()
    ticks_process(symbols=["ETHUSDT"])  # the same tick again changes nothing
    assert LedgerEntry.objects.count() == entries
    account = Account.objects.get(user=user)
    assert account.positions.count() == 0


def test_take_profit_on_a_short(api_client, frozen_replay):
    prices_poll()
    trade = api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "short", "quote_amount": "800", "take_profit_pct": "2"},
        format="json",
    ).json()
    cached_price_set("BTCUSDT", Decimal(trade["take_profit"]) - Decimal("1"))
    ticks_process(symbols=["BTCUSDT"])
    closed = api_client.get(f"/trades/{trade['id']}").json()
    assert closed["status"] == "closed" and closed["close_reason"] == "take_profit"
    assert Decimal(closed["realized_pnl"]) > 0


def test_equity_peak_follows_a_winning_close_so_drawdown_measures_from_it(
    api_client, user, frozen_replay
):
    prices_poll()
    trade = api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "2000", "take_profit_pct": "5"},
        format="json",
    ).json()
    peak_before = Account.objects.get(user=user).peak_equity
    cached_price_set("BTCUSDT", Decimal(trade["take_profit"]) + Decimal("1"))
    ticks_process(symbols=["BTCUSDT"])  # the take-profit closes it in profit
    balance = api_client.get("/virtual_balance").json()
    account = Account.objects.get(user=user)
    assert Decimal(balance["equity"]) > peak_before
    assert account.peak_equity == Decimal(balance["equity"])


def test_funding_counts_only_instants_since_the_position_opened(api_client, user, frozen_replay):
    """An earlier position's last funding instant (days ago) must not bill the new one for
    every instant in between."""
    from trading import engine as core

    prices_poll()
    api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "500"},
        format="json",
    )
    account = Account.objects.get(user=user)
    position = account.positions.get(symbol="BTCUSDT")
    opened_ms = int(position.opened_at.timestamp() * 1000)
    three_days = 3 * 86_400_000
    Account.objects.filter(pk=account.pk).update(funding_ms={"BTCUSDT": opened_ms - three_days})
    price = Decimal(json.loads(redis_client().hget(_prices_key(), "BTCUSDT"))["price"])
    cached_price_set("BTCUSDT", price)  # the next tick, a minute later
    tick_ms = json.loads(redis_client().hget(_prices_key(), "BTCUSDT"))["timestamp"]
    ticks_process(symbols=["BTCUSDT"])
    charged = LedgerEntry.objects.filter(account=account, kind="funding").count()
    assert charged == len(list(core.funding_due(opened_ms, tick_ms)))  # 0 or 1, never ~9
