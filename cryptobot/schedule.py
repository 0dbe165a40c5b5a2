"""The beat schedule, declared in code and installed into django-celery-beat's tables by
``manage.py setup`` (so a fresh install is complete, and admins can still edit it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    every_seconds: float
    queue: str = "default"
    # Drop a queued run that is older than this instead of running it late.
    expires_seconds: int | None = None


def beat_entries() -> list[Entry]:
    poll = settings.PRICE_POLL_SECONDS
    return [
        Entry(
            "Poll prices",
            "trading.prices.poll",
            poll,
            queue="ticks",
            expires_seconds=max(2, int(poll * 2)),
        ),
        # Acts on each closed candle once (the run row is the claim), so firing often only
        # shortens the delay after a close; at replay speed a minute passes faster.
        Entry(
            "Auto-trading",
            "trading.auto_trading.run",
            max(1.0, min(10.0, 60 / settings.REPLAY_SPEED)),
            expires_seconds=10,
        ),
        # ML: predictions of the shared default models at each closed candle, their
        # scoring once the label is known, and the retraining of models that are due.
        Entry("ML live predictions", "ml.predictions.live", 60, expires_seconds=55),
        Entry("ML score predictions", "ml.predictions.score", 300, expires_seconds=290),
        Entry("ML scheduled retraining", "ml.training.scheduled", 3600, expires_seconds=3000),
        # Hybrid learning: the online models learn from each closed candle (at replay speed
        # candles close faster) and the three models' live performance is snapshotted.
        Entry(
            "ML online learning",
            "ml.online.learn",
            max(5.0, min(60.0, 600 / settings.REPLAY_SPEED)),
            expires_seconds=55,
        ),
        Entry("ML performance snapshot", "ml.performance.snapshot", 900, expires_seconds=850),
        # Notification e-mail held by the rate limit or quiet hours goes out as one digest;
        # deliveries a dead worker left behind are settled.
        Entry(
            "E-mail digest",
            "notifications.email.digest",
            settings.EMAIL_DIGEST_MINUTES * 60,
            expires_seconds=settings.EMAIL_DIGEST_MINUTES * 60,
        ),
        Entry("E-mail sweep", "notifications.email.sweep", 600, expires_seconds=590),
    ]


@transaction.atomic
def beat_schedule_install() -> list[str]:
    """Create or update every entry; intervals follow the current settings."""
    names = []
    for entry in beat_entries():
        # IntervalSchedule counts whole units; sub-second polls round up to 1 s.
        every = max(1, round(entry.every_seconds))
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=entry.name,
            defaults={
                "task": entry.task,
                "interval": interval,
                "queue": entry.queue,
                "expire_seconds": entry.expires_seconds,
                "enabled": True,
            },
        )
        names.append(entry.name)
    return names
