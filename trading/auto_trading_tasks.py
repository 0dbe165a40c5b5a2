"""The auto-trading Celery task (thin: one service call). Imported by trading/tasks.py so
Celery's autodiscovery, which imports ``<app>.tasks`` only, registers it."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="trading.auto_trading.run",
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def auto_trading_run_task() -> dict[str, int]:
    """Act once on each enabled user's symbols' newest closed candle (beat: every few
    seconds; a candle already acted on is skipped by its run row, so firing often or twice
    is harmless). Returns how many steps ended in each status."""
    from trading.services.auto_trading import auto_trading_run_all

    return auto_trading_run_all()
