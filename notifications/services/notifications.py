"""Creating notifications (the one entry point every event goes through), reading state
changes, and the push to /ws/notifications after commit.

``notification_create`` inserts the row, decides in the same transaction whether an e-mail
goes out (and records that decision as an EmailDelivery), and only after commit pushes the
notification to the user's sockets and queues the e-mail: nothing is announced that could
still roll back.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications import catalogue
from notifications.models import Notification
from notifications.selectors import notification_dict, notification_get, unread_count
from notifications.services.email import delivery_plan, delivery_queue

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's /ws/notifications sockets."""
    return f"notifications.{user_id}"


def notification_create(
    *,
    user_id: int,
    kind: str,
    title: str,
    message: str = "",
    level: str | None = None,
    data: dict[str, Any] | None = None,
    link: str = "",
    dedupe_key: str = "",
) -> tuple[Notification, bool]:
    """Store one notification; ``(notification, created)``. An event already notified
    (same user and dedupe key) returns the existing row and does nothing else."""
    spec = catalogue.KINDS.get(kind)
    level = level or (spec.level if spec else "info")
    with transaction.atomic():
        try:
            with transaction.atomic():
                note = Notification.objects.create(
                    user_id=user_id,
                    kind=kind,
                    level=level,
                    title=title[:200],
                    message=message,
                    data=data or {},
                    link=link or catalogue.link_of(kind),
                    dedupe_key=dedupe_key[:200],
                )
        except IntegrityError:
            if not dedupe_key:
                raise
            existing = Notification.objects.get(user_id=user_id, dedupe_key=dedupe_key[:200])
            return existing, False
        delivery = delivery_plan(note)
        transaction.on_commit(lambda: _announce(note, delivery))
    return note, True


def _announce(note: Notification, delivery_id: int | None) -> None:
    if delivery_id is not None:
        delivery_queue(delivery_id)
    publish(note.user_id, {"type": "notification.new", "notification": notification_dict(note)})


def publish(user_id: int, event: dict[str, Any]) -> None:
    """Send an event to the user's sockets, with the current unread count. A channel
    layer that is down loses the push (the notification itself is stored) and is logged."""
    event = {**event, "unread_count": unread_count(user_id=user_id)}
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user_id), event)
    except Exception:  # the push is best effort; the row is the record
        logger.warning("Could not push a notification to user %s", user_id, exc_info=True)


def notify_event(*, user_id: int | None, kind: str, data: dict[str, Any]) -> list[Notification]:
    """The receiver the trading and ML hooks and the system watch call. ``user_id`` None
    (a shared model, the whole system) tells every active user. Returns the new rows."""
    content = catalogue.describe(kind, data)
    if user_id is None:
        user_ids = list(
            get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
        )
    else:
        user_ids = [user_id]
    created = []
    for uid in user_ids:
        note, new = notification_create(
            user_id=uid,
            kind=content.kind,
            level=content.level,
            title=content.title,
            message=content.message,
            data=content.data,
            link=content.link,
            dedupe_key=content.dedupe_key,
        )
        if new:
            created.append(note)
    return created


def notification_mark(*, user, notification_id: int, read: bool) -> Notification:
    """Mark one notification read or unread."""
    note = notification_get(user=user, notification_id=notification_id)
    note.read_at = (note.read_at or timezone.now()) if read else None
    note.save(update_fields=["read_at"])
    transaction.on_commit(lambda: publish(note.user_id, {"type": "notification.unread"}))
    return note


def notification_delete(*, user, notification_id: int) -> None:
    note = notification_get(user=user, notification_id=notification_id)
    note.delete()
    transaction.on_commit(lambda: publish(user.pk, {"type": "notification.unread"}))


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; how many were."""
    marked = Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    transaction.on_commit(lambda: publish(user.pk, {"type": "notification.unread"}))
    return marked
