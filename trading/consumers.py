"""/ws/price: live prices for the symbols each client subscribes to.

Every poll publishes ONE channel-layer message to the "prices" group; each consumer picks
its own symbols from it. That keeps channel-layer deliveries at one per client per poll
(PERFORMANCE.md: per-symbol groups multiply the fan-out cost).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading.services.markets import watched_symbols
from trading.services.prices import PRICE_GROUP, price_list, price_view
from trading.symbols import normalize_symbol

CLOSE_UNAUTHENTICATED = 4401


class PriceConsumer(AsyncJsonWebsocketConsumer):
    """Authenticated by the session cookie or ``?token=``; subscribe with ``?symbols=`` or
    ``{"action": "subscribe"|"unsubscribe", "symbols": [...]}``; ``{"action": "ping"}``
    is answered with ``{"type": "pong"}``."""

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        user = self.scope.get("user")
        if not (user and user.is_authenticated):
            token = (query.get("token") or [""])[0]
            user = await _user_for_token(token) if token else None
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.symbols: set[str] = set()
        self.valid = set(await database_sync_to_async(watched_symbols)())
        await self.channel_layer.group_add(PRICE_GROUP, self.channel_name)
        await self.accept()
        requested = [s for raw in query.get("symbols", []) for s in raw.split(",") if s]
        if requested:
            await self._subscribe(requested)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(PRICE_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        symbols = content.get("symbols", []) if isinstance(content, dict) else []
        if action == "ping":
            await self.send_json({"type": "pong"})
        elif action in ("subscribe", "unsubscribe") and isinstance(symbols, list):
            if action == "subscribe":
                await self._subscribe([str(s) for s in symbols])
            else:
                self.symbols -= {normalize_symbol(str(s)) for s in symbols}
                await self.send_json({"type": "subscribed", "symbols": sorted(self.symbols)})
        else:
            await self.send_json(
                {
                    "type": "error",
                    "message": 'Send {"action": "subscribe"|"unsubscribe", "symbols": [...]}'
                    ' or {"action": "ping"}.',
                }
            )

    async def _subscribe(self, raw: list[str]) -> None:
        names = {normalize_symbol(s) for s in raw}
        unknown = sorted(names - self.valid)
        if unknown:
            await self.send_json(
                {
                    "type": "error",
                    "message": f"Unknown symbol(s) {', '.join(unknown)}; "
                    f"valid: {', '.join(sorted(self.valid))}.",
                }
            )
        added = names & self.valid
        self.symbols |= added
        await self.send_json({"type": "subscribed", "symbols": sorted(self.symbols)})
        # The latest price at once, so a client never waits a poll for its first value.
        latest = await database_sync_to_async(price_list)(sorted(added))
        for view in latest:
            await self.send_json({"type": "price", **view})

    async def prices_update(self, event: dict[str, Any]) -> None:
        for payload in event["prices"]:
            if payload["symbol"] in self.symbols:
                await self.send_json({"type": "price", **price_view(payload)})


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user
