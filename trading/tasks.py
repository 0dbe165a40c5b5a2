"""Celery tasks of the trading app: thin wrappers around one service call each."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from trading.services.prices import prices_poll


@shared_task(
    name="trading.prices.poll",
    ignore_result=True,
    soft_time_limit=max(5, int(settings.PRICE_POLL_SECONDS * 4)),
    time_limit=max(10, int(settings.PRICE_POLL_SECONDS * 5)),
)
def prices_poll_task() -> dict:
    """Fetch and publish the watched symbols' prices (beat: every PRICE_POLL_SECONDS)."""
    result = prices_poll()
    return {"ran": result.ran, "moved": result.moved, "error": result.error}


@shared_task(
    name="trading.ticks.process",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def ticks_process_task(symbols: list[str]) -> int:
    """Run paper orders, stops, trailing stops, liquidations and funding on new prices."""
    from trading.services.paper import ticks_process

    return ticks_process(symbols=symbols)


# Celery autodiscovery imports this module only; the backtest and auto-trading tasks live
# beside their features.
from trading import auto_trading_tasks, backtest_tasks  # noqa: E402, F401
