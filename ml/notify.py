"""The one hook through which the ML app tells the outside world what happened.

ML calls ``ml_event`` after commit for a model retrained, a training failed, an upload's
retraining done or failed, and drift detected. ``user_id`` is the owner of what happened,
or None for shared models (every user may care). Until the notifications app connects a
receiver, events are logged (ModelEvent rows are the audit trail either way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("ml.events")

Receiver = Callable[[int | None, str, dict[str, Any]], None]
_receivers: list[Receiver] = []


def connect(receiver: Receiver) -> None:
    """Register a receiver ``(user_id or None, kind, data)`` (the notifications app)."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def ml_event(user_id: int | None, kind: str, data: dict[str, Any]) -> None:
    """Report one event; a failing receiver is logged and never breaks learning."""
    logger.info("user %s: %s %s", user_id, kind, data)
    for receiver in _receivers:
        try:
            receiver(user_id, kind, data)
        except Exception:
            logger.exception("Notification receiver %r failed for %s", receiver, kind)
