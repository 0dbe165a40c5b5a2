"""Celery tasks of backtests and sweeps: ids in, one service call out.

Imported by trading/tasks.py so that the workers' task autodiscovery registers them.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from trading.services.backtests import backtest_run, sweep_finish


@shared_task(
    name="trading.backtest.run",
    ignore_result=True,
    soft_time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT - 60,
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
)
def backtest_run_task(backtest_id: int) -> str:
    """Run one queued backtest (a sweep's last run also marks the sweep done)."""
    return backtest_run(backtest_id)


@shared_task(
    name="trading.backtest.sweep_finish", ignore_result=True, soft_time_limit=30, time_limit=60
)
def sweep_finish_task(sweep_id: int) -> bool:
    """Mark a sweep done if none of its backtests is still queued or running."""
    return sweep_finish(sweep_id)
