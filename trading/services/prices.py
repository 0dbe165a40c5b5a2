"""Live prices: the poll that fetches them, the cache that serves them, the feed's health.

The poll is the only writer: one at a time (a Redis lock), and a ticker whose timestamp is
not newer than the cached one is ignored, so running the poll twice for the same instant
changes nothing. Readers (API, WebSocket, paper engine) read the cache only.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

from cryptobot.lib.redis import redis_client
from trading.errors import PriceUnavailable
from trading.exchange.base import ExchangeError, OrderBook, Ticker
from trading.models import Symbol
from trading.price_stream import price_channel
from trading.services.candles import candles_store
from trading.services.exchange import current_exchange, exchange_instant
from trading.services.markets import symbol_resolve, watched_symbols

logger = logging.getLogger(__name__)

FEED_KEY = "prices:feed"


def _prices_key() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:prices:latest"


def _feed_key() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:{FEED_KEY}"


def _read_prices(symbols: list[str]) -> dict[str, dict[str, Any]]:
    """Latest payloads by symbol from one Redis hash (one round trip, JSON, no pickling:
    this read is the hot path of GET /price and of every order's price check)."""
    if not symbols:
        return {}
    raw = redis_client().hmget(_prices_key(), symbols)
    return {s: json.loads(v) for s, v in zip(symbols, raw, strict=True) if v is not None}


def _write_prices(payloads: dict[str, dict[str, Any]]) -> None:
    if payloads:
        redis_client().hset(_prices_key(), mapping={s: json.dumps(p) for s, p in payloads.items()})


def _books_key() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:prices:books"


def _write_books(books: dict[str, OrderBook]) -> None:
    if books:
        redis_client().hset(
            _books_key(),
            mapping={
                s: json.dumps(
                    {
                        "bids": [[str(p), str(q)] for p, q in b.bids],
                        "asks": [[str(p), str(q)] for p, q in b.asks],
                        "timestamp": b.timestamp_ms,
                    }
                )
                for s, b in books.items()
            },
        )


def market_read(symbol: str) -> tuple[dict[str, Any], OrderBook | None, dict[str, Any]]:
    """One round trip for an order: ``symbol``'s price payload and order book, and the
    price payloads of every watched symbol (to value the account's other positions)."""
    names = sorted({*watched_symbols(), symbol})
    pipe = redis_client().pipeline(transaction=False)
    pipe.hmget(_prices_key(), names)
    pipe.hget(_books_key(), symbol)
    raw_prices, raw_book = pipe.execute()
    payloads = {s: json.loads(v) for s, v in zip(names, raw_prices, strict=True) if v}
    if symbol not in payloads:
        raise _no_price(symbol)
    return payloads[symbol], _book_from(symbol, raw_book), payloads


@lru_cache(maxsize=64)
def _book_from(symbol: str, raw: bytes | None) -> OrderBook | None:
    """The order book stored by the last poll (the paper engine walks it for slippage).

    Remembered by its stored bytes: every order between two polls reads the same book, and
    an OrderBook (frozen, tuples of Decimals) can be shared.
    """
    if raw is None:
        return None
    data = json.loads(raw)
    return OrderBook(
        symbol=symbol,
        bids=tuple((Decimal(p), Decimal(q)) for p, q in data["bids"]),
        asks=tuple((Decimal(p), Decimal(q)) for p, q in data["asks"]),
        timestamp_ms=data["timestamp"],
    )


def _read_feed() -> dict[str, Any]:
    raw = redis_client().get(_feed_key())
    return json.loads(raw) if raw else {}


def _write_feed(feed: dict[str, Any]) -> None:
    redis_client().set(_feed_key(), json.dumps(feed))


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

    cached = _read_prices(list(tickers))
    fresh: dict[str, dict[str, Any]] = {}
    for symbol, ticker in tickers.items():
        previous = cached.get(symbol)
        if previous and previous["timestamp"] >= ticker.timestamp_ms and not previous.get("stale"):
            continue
        fresh[symbol] = ticker_payload(ticker, fetched_at_ms=now_ms, source=exchange.name)
    if fresh:
        _write_prices(fresh)
        _write_books(_fetch_books(exchange, list(fresh)))
        _update_forming_candles(list(fresh))
    _write_feed({"ok": True, "last_success": now_ms, "error": None})
    if fresh:
        payloads = list(fresh.values())
        transaction.on_commit(lambda: _publish(payloads))
        transaction.on_commit(lambda: _enqueue_ticks(sorted(fresh)))
    return PollResult(ran=True, moved=sorted(fresh))


def _fetch_books(exchange, symbols: list[str]) -> dict[str, OrderBook]:
    books = {}
    for symbol in symbols:
        try:
            books[symbol] = exchange.fetch_order_book(symbol, depth=20)
        except ExchangeError as exc:
            logger.warning("Order book of %s not updated: %s", symbol, exc)
    return books


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
        candles_store(symbol=symbol, timeframe=finest, bars=bars)


def _mark_feed_failed(symbols: list[str], error: str, now_ms: int) -> None:
    """Keep serving the last good prices, flagged stale with the error."""
    feed = _read_feed()
    _write_feed({"ok": False, "last_success": feed.get("last_success"), "error": error})
    cached = _read_prices(symbols)
    for payload in cached.values():
        payload["stale"] = True
        payload["error"] = error
    _write_prices(cached)


def _publish(payloads: list[dict[str, Any]]) -> None:
    """One message per poll; each web process relays it to its own /ws/price clients."""
    redis_client().publish(price_channel(), json.dumps(payloads))


def _enqueue_ticks(symbols: list[str]) -> None:
    """Paper orders, stops and liquidations react to the new prices (trading.tasks)."""
    current_app.send_task(
        "trading.ticks.process",
        args=[symbols],
        queue="ticks",
        expires=max(2.0, settings.PRICE_POLL_SECONDS * 2),
    )


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
    payload = _read_prices([raw_symbol]).get(raw_symbol) if raw_symbol.isupper() else None
    if payload is None:
        symbol = symbol_resolve(raw_symbol)
        payload = _read_prices([symbol]).get(symbol)
        if payload is None:
            raise _no_price(symbol)
    return price_view(payload)


def _no_price(symbol: str) -> PriceUnavailable:
    return PriceUnavailable(
        f"No price for {symbol} yet: the price feed has not polled it. "
        "Check that the Celery worker and beat are running (GET /health).",
        details={"symbol": symbol},
    )


def price_list(symbols: list[str] | None = None) -> list[dict[str, Any]]:
    """Latest prices of the watched symbols (or the given ones), skipping unpolled ones."""
    names = symbols if symbols is not None else watched_symbols()
    cached = _read_prices(names)
    now_ms = int(time.time() * 1000)
    return [price_view(cached[s], now_ms=now_ms) for s in names if s in cached]


def price_feed_status() -> dict[str, Any]:
    """For /health: ok while the last successful poll is younger than PRICE_STALE_SECONDS."""
    feed = _read_feed()
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
