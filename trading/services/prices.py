"""Live prices: the poll that fetches them, the cache that serves them, the feed's health.

The poll is the only writer: one at a time (a Redis lock), and a ticker whose timestamp is
not newer than the cached one is ignored, so running the poll twice for the same instant
changes nothing. Readers (API, WebSocket, paper engine) read the cache only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from cryptobot.lib.redis import redis_client
from trading.candles import bars_to_frame
from trading.errors import PriceUnavailable
from trading.exchange.base import ExchangeError, Ticker
from trading.models import Symbol
from trading.services.candles import candles_rebuild, candles_upsert
from trading.services.exchange import current_exchange, exchange_instant
from trading.services.markets import symbol_resolve, watched_symbols

logger = logging.getLogger(__name__)

PRICE_GROUP = "prices"
FEED_KEY = "prices:feed"


def price_key(symbol: str) -> str:
    return f"price:{symbol}"


@dataclass
class PollResult:
    """What one poll did: symbols whose price moved, and whether it ran at all."""

    ran: bool
    moved: list[str] = field(default_factory=list)
    error: str | None = None


def ticker_payload(ticker: Ticker, *, fetched_at_ms: int, source: str) -> dict[str, Any]:
    """The cached and published form of a ticker: decimals as strings, times in ms."""
    return {
        "symbol": ticker.symbol,
        "price": str(ticker.price),
        "bid": str(ticker.bid),
        "ask": str(ticker.ask),
        "change_24h_pct": str(ticker.change_24h_pct),
        "high_24h": str(ticker.high_24h),
        "low_24h": str(ticker.low_24h),
        "volume_24h": str(ticker.volume_24h),
        "timestamp": ticker.timestamp_ms,
        "source": source,
        "fetched_at": fetched_at_ms,
    }


def prices_poll() -> PollResult:
    """Fetch the watched symbols' tickers, cache them, update forming candles, publish.

    Holds the poll lock for its duration; a concurrent poll returns ``ran=False``.
    """
    lock = redis_client().lock(
        f"{settings.CACHE_KEY_PREFIX}:lock:prices_poll",
        timeout=max(10.0, settings.PRICE_POLL_SECONDS * 5),
        blocking=False,
    )
    if not lock.acquire():
        return PollResult(ran=False)
    try:
        return _poll_locked()
    finally:
        lock.release()


def _poll_locked() -> PollResult:
    with exchange_instant():
        return _poll_at_one_instant()


def _poll_at_one_instant() -> PollResult:
    exchange = current_exchange()
    symbols = watched_symbols()
    now_ms = int(time.time() * 1000)
    try:
        tickers = exchange.fetch_tickers(symbols)
    except ExchangeError as exc:
        _mark_feed_failed(symbols, str(exc), now_ms)
        logger.warning("Price poll failed: %s", exc)
        return PollResult(ran=True, error=str(exc))

    cached = cache.get_many([price_key(s) for s in tickers])
    fresh: dict[str, dict[str, Any]] = {}
    for symbol, ticker in tickers.items():
        previous = cached.get(price_key(symbol))
        if previous and previous["timestamp"] >= ticker.timestamp_ms and not previous.get("stale"):
            continue
        fresh[symbol] = ticker_payload(ticker, fetched_at_ms=now_ms, source=exchange.name)
    if fresh:
        cache.set_many({price_key(s): p for s, p in fresh.items()}, timeout=None)
        _update_forming_candles(list(fresh))
    cache.set(FEED_KEY, {"ok": True, "last_success": now_ms, "error": None}, timeout=None)
    if fresh:
        payloads = list(fresh.values())
        transaction.on_commit(lambda: _publish(payloads))
    return PollResult(ran=True, moved=sorted(fresh))


def _update_forming_candles(symbols: list[str]) -> None:
    """Upsert the latest finest candles (closed + forming) and their coarser buckets."""
    exchange = current_exchange()
    rows = {s.symbol: s for s in Symbol.objects.filter(symbol__in=symbols)}
    for name, symbol in rows.items():
        finest = exchange.finest_timeframe(name)
        try:
            bars = exchange.fetch_ohlcv(name, finest, limit=2)
        except ExchangeError as exc:
            logger.warning("Forming candle of %s not updated: %s", name, exc)
            continue
        if not bars:
            continue
        with transaction.atomic():
            candles_upsert(symbol=symbol, timeframe=finest, frame=bars_to_frame(bars))
            candles_rebuild(
                symbol=symbol,
                base_timeframe=finest,
                start_ms=bars[0].open_time_ms,
                end_ms=bars[-1].open_time_ms,
            )


def _mark_feed_failed(symbols: list[str], error: str, now_ms: int) -> None:
    """Keep serving the last good prices, flagged stale with the error."""
    feed = cache.get(FEED_KEY) or {}
    cache.set(
        FEED_KEY,
        {"ok": False, "last_success": feed.get("last_success"), "error": error},
        timeout=None,
    )
    cached = cache.get_many([price_key(s) for s in symbols])
    for payload in cached.values():
        payload["stale"] = True
        payload["error"] = error
    if cached:
        cache.set_many(cached, timeout=None)


def _publish(payloads: list[dict[str, Any]]) -> None:
    """One channel-layer message per poll; each consumer filters its own symbols."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(PRICE_GROUP, {"type": "prices.update", "prices": payloads})


def price_view(payload: dict[str, Any], *, now_ms: int | None = None) -> dict[str, Any]:
    """A cached ticker as the API shows it, with its age and staleness at read time."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    age_ms = max(0, now_ms - payload["fetched_at"])
    stale = bool(payload.get("stale")) or age_ms > settings.PRICE_STALE_SECONDS * 1000
    view = {k: v for k, v in payload.items() if k not in ("fetched_at", "error", "stale")}
    view["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(payload["timestamp"] / 1000))
    view["time"] += f".{payload['timestamp'] % 1000:03d}Z"
    view["age_ms"] = age_ms
    view["stale"] = stale
    if payload.get("error"):
        view["error"] = payload["error"]
    return view


def price_get(raw_symbol: str) -> dict[str, Any]:
    """The latest price of one symbol; UnknownSymbol or PriceUnavailable otherwise."""
    payload = cache.get(price_key(raw_symbol)) if raw_symbol.isupper() else None
    if payload is None:
        symbol = symbol_resolve(raw_symbol)
        payload = cache.get(price_key(symbol))
        if payload is None:
            raise PriceUnavailable(
                f"No price for {symbol} yet: the price feed has not polled it. "
                "Check that the Celery worker and beat are running (GET /health).",
                details={"symbol": symbol},
            )
    return price_view(payload)


def price_list(symbols: list[str] | None = None) -> list[dict[str, Any]]:
    """Latest prices of the watched symbols (or the given ones), skipping unpolled ones."""
    names = symbols if symbols is not None else watched_symbols()
    cached = cache.get_many([price_key(s) for s in names])
    now_ms = int(time.time() * 1000)
    return [
        price_view(cached[price_key(s)], now_ms=now_ms) for s in names if price_key(s) in cached
    ]


def price_feed_status() -> dict[str, Any]:
    """For /health: ok while the last successful poll is younger than PRICE_STALE_SECONDS."""
    feed = cache.get(FEED_KEY)
    if not feed or feed.get("last_success") is None:
        return {"ok": False, "error": "no price poll has succeeded yet"}
    age_s = time.time() - feed["last_success"] / 1000
    status: dict[str, Any] = {
        "ok": bool(feed["ok"]) and age_s <= settings.PRICE_STALE_SECONDS,
        "age_s": round(age_s, 1),
        "exchange": settings.EXCHANGE,
    }
    if feed.get("error"):
        status["error"] = feed["error"]
    elif not status["ok"]:
        status["error"] = f"last price poll was {age_s:.0f} s ago"
    return status
