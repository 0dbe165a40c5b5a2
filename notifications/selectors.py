"""Reads of notifications for the API, the consumer and the dashboard."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cryptobot.api.errors import NotFound
from cryptobot.lib.time import iso_z
from notifications.models import Notification


def notification_list(
    *, user, unread: bool | None = None, kind: str | None = None, level: str | None = None
) -> QuerySet[Notification]:
    """The user's notifications, newest first, filtered."""
    rows = Notification.objects.filter(user=user)
    if unread is not None:
        rows = rows.filter(read_at__isnull=unread)
    if kind:
        rows = rows.filter(kind=kind)
    if level:
        rows = rows.filter(level=level)
    return rows


def notification_get(*, user, notification_id: int) -> Notification:
    """One of the user's notifications; another user's id is 404, as if it did not exist."""
    found = Notification.objects.filter(user=user, pk=notification_id).first()
    if found is None:
        raise NotFound(f"Notification {notification_id} not found.")
    return found


def unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def notification_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "level": n.level,
        "title": n.title,
        "message": n.message,
        "data": n.data,
        "link": n.link,
        "read": n.read_at is not None,
        "read_at": iso_z(n.read_at),
        "created_at": iso_z(n.created_at),
        "created_at_ms": int(n.created_at.timestamp() * 1000),
    }
