"""Acceptance: web, a Celery worker and beat on the replay exchange at high speed; the bot
opens and closes trades on the paper account, visible in /trades with source "auto"."""

from __future__ import annotations

import time

import httpx
import pytest
from django.test import override_settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.schedule import beat_schedule_install
from trading.models import AutoTradingRun, Symbol
from trading.services.candles import candles_backfill
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed

pytestmark = pytest.mark.live

# A 1m candle closes every 2 wall seconds: the 1 s price poll stores every one of them.
SPEED = 30.0
DEADLINE_S = 90


def _auto_trading_every_second() -> None:
    """The auto-trading beat entry, at 1 s (whatever interval cryptobot/schedule.py
    declares, the task acts once per closed candle)."""
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="trading.auto_trading.run").delete()
    PeriodicTask.objects.create(
        name="Auto-trading (test)",
        task="trading.auto_trading.run",
        interval=every,
        queue="default",
        expire_seconds=2,
    )


def test_bot_opens_and_closes_auto_trades_on_the_live_stack(live_server_stack, live_workers, user):
    symbols_seed()
    watched_symbols_changed()
    replay_clock_ensure(speed=SPEED)
    current_exchange.cache_clear()
    candles_backfill(symbol=Symbol.objects.get(symbol="BTCUSDT"), timeframes=["1m"], count=60)
    token = api_token_get_or_create(user=user).key
    api = httpx.Client(
        base_url=live_server_stack.url, headers={"Authorization": f"Token {token}"}, timeout=10
    )
    config = api.post(
        "/auto_trading/config",
        json={
            "symbols": ["BTCUSDT"],
            "strategy": "sma_cross",
            "strategy_params": {"fast": 1, "slow": 2},
            "timeframe": "1m",
            "market": "futures",
            "sizing": "quote",
            "size": "300",
            "leverage": 2,
        },
    )
    assert config.status_code == 200, config.text
    assert api.post("/auto_trading/start").json()["enabled"] is True
    with override_settings(PRICE_POLL_SECONDS=1):
        beat_schedule_install()
    _auto_trading_every_second()

    trades: list[dict] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        trades = api.get("/trades", params={"source": "auto", "page_size": 100}).json()["results"]
        if any(t["status"] == "closed" for t in trades):
            break
        time.sleep(1)
    runs = list(AutoTradingRun.objects.filter(user=user).values_list("action", "error"))
    context = f"runs: {runs[:20]}\nworkers' log:\n{live_workers.log()}"
    closed = [t for t in trades if t["status"] == "closed"]
    assert closed, context
    assert all(t["source"] == "auto" and t["strategy"] == "sma_cross" for t in trades)
    assert all(t["symbol"] == "BTCUSDT" and t["leverage"] == 2 for t in trades)
    # Each closed candle was decided once, and what it decided is what /trades shows.
    opened = AutoTradingRun.objects.filter(user=user, action__in=["open", "reverse"])
    assert {t["id"] for t in trades} >= set(opened.values_list("trade_number", flat=True))

    status = api.get("/auto_trading/status").json()
    assert status["enabled"] is True and status["pnl"]["closed_trades"] >= 1
    assert status["symbols"][0]["last_run"] is not None
    api.close()
