"""/ws/price: live prices for the symbols each client subscribes to.

Every poll publishes ONE message that each web process relays to its local consumers
(trading.price_stream); each consumer picks its own symbols and sends ONE frame per poll:
a single ``{"type": "price", ...}`` message when one subscribed symbol moved, else
``{"type": "prices", "prices": [...]}`` holding one such message per symbol. Per-symbol
groups or frames multiply the fan-out cost (PERFORMANCE.md: ~0.7 s instead of ~0.15 s for
500 clients x 5 symbols).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cryptobot.ws_security import CLOSE_UNAUTHENTICATED, ws_user
from trading.price_stream import price_stream
from trading.services.markets import watched_symbols
from trading.services.prices import price_list, price_view
from trading.symbols import normalize_symbol


class PriceConsumer(AsyncJsonWebsocketConsumer):
    """Authenticated by the session cookie or ``?token=``; subscribe with ``?symbols=`` or
    ``{"action": "subscribe"|"unsubscribe", "symbols": [...]}``; ``{"action": "ping"}``
    is answered with ``{"type": "pong"}``."""

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        user = await ws_user(self.scope)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.symbols: set[str] = set()
        self.valid = set(await _off_loop(watched_symbols)())
        price_stream().add(self)
        await self.accept()
        requested = [s for raw in query.get("symbols", []) for s in raw.split(",") if s]
        if requested:
            await self._subscribe(requested)

    async def disconnect(self, code: int) -> None:
        price_stream().discard(self)

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
        latest = await _off_loop(price_list)(sorted(added))
        await self._send_prices(latest)

    async def on_prices(self, payloads: list[dict[str, Any]]) -> None:
        now_ms = int(time.time() * 1000)
        await self._send_prices(
            [price_view(p, now_ms=now_ms) for p in payloads if p["symbol"] in self.symbols]
        )

    async def _send_prices(self, views: list[dict[str, Any]]) -> None:
        messages = [{"type": "price", **view} for view in views]
        if len(messages) == 1:
            await self.send_json(messages[0])
        elif messages:
            await self.send_json({"type": "prices", "prices": messages})


def _off_loop(func):
    """Run a short cache/DB read in the thread pool, not the single thread-sensitive thread:
    a burst of handshakes (clients reconnecting together) must not queue behind each other.
    """
    return sync_to_async(func, thread_sensitive=False)
