"""The one hook through which trading tells the outside world what happened.

Trading calls ``trading_event`` after commit for trade opened / closed, stop-loss,
take-profit, trailing stop, liquidation and order rejected. Until the notifications app
connects a receiver, events are logged (the log is the audit trail either way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("trading.events")

Receiver = Callable[[int, str, dict[str, Any]], None]
_receivers: list[Receiver] = []


def connect(receiver: Receiver) -> None:
    """Register a receiver ``(user_id, kind, data)`` (the notifications app does this)."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def trading_event(user_id: int, kind: str, data: dict[str, Any]) -> None:
    """Report one event; a failing receiver is logged and never breaks trading."""
    logger.info("user %s: %s %s", user_id, kind, data)
    for receiver in _receivers:
        try:
            receiver(user_id, kind, data)
        except Exception:
            logger.exception("Notification receiver %r failed for %s", receiver, kind)
