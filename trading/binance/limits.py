"""Binance's rate limits: request weight per IP per minute, orders per account.

Fixed windows in Redis (one pipelined round trip per request), as Binance counts them.
Past the weight limit a request gets 429 with Retry-After; a client that keeps going gets
banned for BINANCE_BAN_SECONDS (418). If Redis is down requests pass uncounted (logged):
the limiter protects the service, it must not take it down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import RedisError

from cryptobot.lib.redis import redis_client
from trading.binance import errors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Venue:
    name: str  # "spot" | "futures"
    weight_limit: int
    # (header suffix, seconds, limit) for each ORDERS window
    order_windows: tuple[tuple[str, int, int], ...]


def venue(name: str) -> Venue:
    if name == "spot":
        return Venue(
            "spot",
            settings.BINANCE_SPOT_WEIGHT_PER_MINUTE,
            (("10S", 10, settings.BINANCE_SPOT_ORDERS_PER_10S), ("1D", 86_400, 200_000)),
        )
    return Venue(
        "futures",
        settings.BINANCE_FUTURES_WEIGHT_PER_MINUTE,
        (("1M", 60, settings.BINANCE_FUTURES_ORDERS_PER_MINUTE), ("10S", 10, 300)),
    )


def _key(*parts: object) -> str:
    return ":".join([settings.CACHE_KEY_PREFIX, "binance", *map(str, parts)])


def weight_use(v: Venue, ip: str, weight: int) -> int:
    """Count ``weight`` for ``ip``; the minute's total, or a 429 / 418 BinanceError."""
    now = time.time()
    minute = int(now // 60)
    retry = max(1, int((minute + 1) * 60 - now) + 1)
    used_key, ban_key = _key("w", v.name, ip, minute), _key("ban", v.name, ip)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incrby(used_key, weight)
        pipe.expire(used_key, 61)
        pipe.get(ban_key)
        used, _, banned_until = pipe.execute()
    except RedisError as exc:
        logger.warning("Binance weight not counted, Redis is down: %s", exc)
        return 0
    now_ms = int(now * 1000)
    if banned_until is not None and int(banned_until) > now_ms:
        raise errors.banned(int(banned_until), max(1, (int(banned_until) - now_ms) // 1000))
    if used > v.weight_limit:
        refused_key = _key("429", v.name, ip, minute)
        try:
            pipe = redis_client().pipeline(transaction=False)
            pipe.incr(refused_key)
            pipe.expire(refused_key, 61)
            refused = pipe.execute()[0]
            if refused > settings.BINANCE_BAN_AFTER_429:
                until = now_ms + settings.BINANCE_BAN_SECONDS * 1000
                redis_client().set(ban_key, until, ex=settings.BINANCE_BAN_SECONDS)
                raise errors.banned(until, settings.BINANCE_BAN_SECONDS)
        except RedisError as exc:  # pragma: no cover - Redis failed between two calls
            logger.warning("Binance ban not recorded, Redis is down: %s", exc)
        raise errors.too_much_weight(v.weight_limit, retry)
    return used


def orders_use(v: Venue, account_key: str) -> dict[str, str]:
    """Count one new order for the account; the X-MBX-ORDER-COUNT-* headers, or a 429."""
    now = time.time()
    keys = [
        (suffix, seconds, limit, _key("o", v.name, account_key, suffix, int(now // seconds)))
        for suffix, seconds, limit in v.order_windows
    ]
    try:
        pipe = redis_client().pipeline(transaction=False)
        for _, seconds, _, key in keys:
            pipe.incr(key)
            pipe.expire(key, seconds + 1)
        counts = pipe.execute()[::2]
    except RedisError as exc:
        logger.warning("Binance orders not counted, Redis is down: %s", exc)
        return {}
    headers = {}
    for (suffix, seconds, limit, _), count in zip(keys, counts, strict=True):
        if count > limit:
            retry = max(1, int((now // seconds + 1) * seconds - now) + 1)
            interval = {"10S": "10 SECOND", "1M": "1 MINUTE", "1D": "1 DAY"}[suffix]
            raise errors.too_many_orders(limit, interval, retry)
        headers[f"X-MBX-ORDER-COUNT-{suffix}"] = str(count)
    return headers
