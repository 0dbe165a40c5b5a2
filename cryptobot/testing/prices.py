"""Moving the cached market in tests: what the next price poll would write."""

from __future__ import annotations

import json
from decimal import Decimal

from cryptobot.lib.redis import redis_client
from trading.services.prices import _books_key, _prices_key


def cached_price_set(symbol: str, price: Decimal, *, time_ms: int | None = None) -> None:
    """Stand in for the next poll: the cached price and its order book move together (the
    paper engine reads only these), stamped ``time_ms`` (default: a minute after the last)."""
    payload = json.loads(redis_client().hget(_prices_key(), symbol))
    shift = price - Decimal(payload["price"])
    stamp = payload["timestamp"] + 60_000 if time_ms is None else time_ms
    payload.update(price=str(price), timestamp=stamp)
    redis_client().hset(_prices_key(), symbol, json.dumps(payload))
    book = json.loads(redis_client().hget(_books_key(), symbol))
    for side in ("bids", "asks"):
        book[side] = [[str(Decimal(p) + shift), q] for p, q in book[side]]
    if time_ms is not None:
        book["timestamp"] = time_ms
    redis_client().hset(_books_key(), symbol, json.dumps(book))
