"""/ws/notifications: each user's new notifications, pushed after commit.

The services publish to the user's channel-layer group (``notifications.<user id>``);
this consumer only joins that group and relays. The unread count rides along with every
event so the badge never needs a second request.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cryptobot.ws_security import CLOSE_UNAUTHENTICATED, ws_user
from notifications.selectors import unread_count
from notifications.services.notifications import user_group


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Authenticated by the session cookie or ``?token=``; ``{"action": "ping"}`` is
    answered with ``{"type": "pong"}``."""

    async def connect(self) -> None:
        user = await ws_user(self.scope)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        count = await database_sync_to_async(unread_count)(user_id=user.pk)
        await self.send_json({"type": "unread", "unread_count": count})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": 'Send {"action": "ping"}.'})

    async def notification_new(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "notification",
                "notification": event["notification"],
                "unread_count": event["unread_count"],
            }
        )

    async def notification_unread(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "unread", "unread_count": event["unread_count"]})
