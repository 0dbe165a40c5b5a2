"""Celery tasks of the ML app: ids in, one service call out. Training runs on the ``ml``
queue (a long CPU job must not hold up price polls); scoring and live predictions are
short and go to the default queue."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from ml.services.hybrid import online_learn_all, performance_snapshot
from ml.services.predictions import predictions_live, predictions_score
from ml.services.training import training_execute, training_scheduled


@shared_task(
    name="ml.training.run",
    ignore_result=True,
    soft_time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT - 60,
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
)
def training_run_task(run_id: int) -> str:
    """Train one queued run (an upload's retraining too) and record its version."""
    return training_execute(run_id)


@shared_task(name="ml.training.scheduled", ignore_result=True, soft_time_limit=60, time_limit=90)
def training_scheduled_task() -> list[int]:
    """Queue the retraining of shared default models that are due (beat)."""
    return training_scheduled()


@shared_task(name="ml.predictions.live", ignore_result=True, soft_time_limit=60, time_limit=90)
def predictions_live_task() -> int:
    """Store each shared default model's prediction for newly closed candles (beat)."""
    return predictions_live()


@shared_task(name="ml.predictions.score", ignore_result=True, soft_time_limit=120, time_limit=150)
def predictions_score_task() -> int:
    """Score stored predictions whose label is now known (beat)."""
    return predictions_score()


@shared_task(name="ml.online.learn", ignore_result=True, soft_time_limit=240, time_limit=300)
def online_learn_task() -> dict:
    """Feed every collected symbol's online model its newly closed candles (beat)."""
    return online_learn_all()


@shared_task(
    name="ml.performance.snapshot", ignore_result=True, soft_time_limit=120, time_limit=150
)
def performance_snapshot_task() -> int:
    """Snapshot batch, online and hybrid live performance (beat)."""
    return performance_snapshot()
