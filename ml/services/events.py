"""ModelEvent rows: the one way ML code records what happened for /model/logs and
/model/errors (and the standard log, so operators see it too)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from ml.models import ModelEvent, ModelVersion, TrainingRun

logger = logging.getLogger("ml")
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def model_event_log(
    *,
    message: str,
    level: str = ModelEvent.Level.INFO,
    owner: AbstractBaseUser | None = None,
    version: ModelVersion | None = None,
    run: TrainingRun | None = None,
    context: dict[str, Any] | None = None,
) -> ModelEvent:
    """Record one event (``owner`` None: shared, every user sees it)."""
    logger.log(_LOG_LEVELS.get(level, logging.INFO), "%s %s", message, context or "")
    return ModelEvent.objects.create(
        owner=owner,
        level=level,
        message=message[:500],
        context=context or {},
        version=version,
        run=run,
    )
