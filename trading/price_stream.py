"""Per-process fan-out of price updates to this process's /ws/price consumers.

Every poll PUBLISHes one message on a Redis pub/sub channel; each web (daphne) process holds
ONE subscription and hands the update to its local consumers in memory. A channel-layer
group would instead deliver one Redis message per consumer (one BZPOPMIN round trip each),
which caps fan-out at ~4,000 deliveries/s per process (PERFORMANCE.md); with 500 clients
that alone is ~125 ms per poll. More web processes each subscribe, so scale-out works the
same way as with groups, and no process keeps state another one needs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, Protocol

import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger(__name__)


def price_channel() -> str:
    return f"{settings.CHANNEL_PREFIX}:prices"


class PriceListener(Protocol):
    async def on_prices(self, payloads: list[dict[str, Any]]) -> None: ...


class PriceStream:
    """One Redis subscription per process (per event loop), started by the first listener."""

    def __init__(self) -> None:
        self.listeners: set[PriceListener] = set()
        self._task: asyncio.Task | None = None

    def add(self, listener: PriceListener) -> None:
        self.listeners.add(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, listener: PriceListener) -> None:
        self.listeners.discard(listener)

    async def _run(self) -> None:
        """Subscribe and relay forever; reconnect with jittered backoff if Redis drops."""
        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(price_channel())
                    delay = 0.5
                    async for message in pubsub.listen():
                        await self._relay(json.loads(message["data"]))
            except (OSError, aioredis.RedisError) as exc:
                logger.warning("Price stream lost Redis (%s); retrying in %.1f s", exc, delay)
            finally:
                await client.aclose()
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 30)

    async def _relay(self, payloads: list[dict[str, Any]]) -> None:
        # A listener's send only queues a frame in daphne, so a slow client costs nothing
        # here; one failing listener must not stop the others.
        for listener in list(self.listeners):
            try:
                await listener.on_prices(payloads)
            except Exception:
                logger.exception("Relaying prices to a WebSocket failed")


_streams: dict[int, PriceStream] = {}


def price_stream() -> PriceStream:
    """The stream of the running event loop (daphne runs one loop per process)."""
    loop_id = id(asyncio.get_running_loop())
    stream = _streams.get(loop_id)
    if stream is None:
        stream = _streams[loop_id] = PriceStream()
    return stream
