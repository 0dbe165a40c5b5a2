"""The reads behind the Binance-compatible market routes: catalogue markets with the
engine's rules, cached quotes and books, stored candles (coarser intervals aggregated),
synthetic trades and funding marks; returned as market_shapes values for the views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from trading import engine as core
from trading.binance import errors
from trading.binance import market_shapes as shapes
from trading.binance.params import MAX_TIME_MS
from trading.binance.signing import server_ms
from trading.exchange.base import TIMEFRAMES, Bar, OrderBook
from trading.models import Candle, Symbol
from trading.selectors import candle_list, symbol_list
from trading.services.markets import watched_symbols
from trading.services.paper_account import paper_engine
from trading.services.prices import market_read, price_list


@dataclass(frozen=True, slots=True)
class TradeQuery:
    """aggTrades' selection: from an id, from a start (to an end), or the newest."""

    from_id: int | None
    start_ms: int | None
    end_ms: int | None
    limit: int


def markets_listed(*, futures: bool) -> list[tuple[core.MarketRules, str]]:
    """The catalogue markets of a venue with the engine's rules and Binance's status."""
    rows = list(symbol_list(watched_only=False).filter(**{"futures" if futures else "spot": True}))
    rules = paper_engine().rules
    if any(row.symbol not in rules for row in rows):
        # The engine was built before these symbols existed: rebuild it once, so what
        # exchangeInfo lists and what orders accept stay the same rules.
        paper_engine.cache_clear()
        rules = paper_engine().rules
    return [
        (rules[row.symbol], shapes.symbol_status(row.status, row.watched))
        for row in rows
        if row.symbol in rules
    ]


def quotes(
    names: list[str] | None, *, books: bool = False, required: bool = True
) -> list[shapes.Quote]:
    """Cached quotes of ``names`` (all watched when None), in that order. A symbol the poll
    has not priced yet is -1008 when it was asked for by name, and left out of a listing."""
    if names is None:
        names, required = watched_symbols(), False
    payloads = {p["symbol"]: p for p in price_list(names)}
    if required and any(name not in payloads for name in names):
        raise errors.overloaded()
    if books:
        return [shapes.quote(*market_read(name)[:2]) for name in names if name in payloads]
    return [shapes.quote(payloads[name]) for name in names if name in payloads]


def book_of(name: str) -> OrderBook | None:
    """The order book the poll stored with ``name``'s price (PriceUnavailable, which
    BinanceView renders as -1008, before the first poll)."""
    return market_read(name)[1]


def symbol_rows(names: list[str]) -> dict[str, Symbol]:
    return {s.symbol: s for s in symbol_list(watched_only=False).filter(symbol__in=names)}


def symbol_row(name: str) -> Symbol:
    row = symbol_rows([name]).get(name)
    if row is None:  # removed from the catalogue since the watched list was cached
        raise errors.bad_symbol()
    return row


def ms_dt(time_ms: int | None) -> datetime | None:
    return None if time_ms is None else datetime.fromtimestamp(time_ms / 1000, UTC)


def stored_bars(
    symbol: Symbol,
    timeframe: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int,
) -> list[Bar]:
    """Stored candles ascending: from ``start_ms`` on, else the newest up to ``end_ms``."""
    candles = candle_list(
        symbol=symbol, timeframe=timeframe, start=ms_dt(start_ms), end=ms_dt(end_ms), limit=limit
    )
    return [
        Bar(int(c.open_time.timestamp() * 1000), c.open, c.high, c.low, c.close, c.volume)
        for c in candles
    ]


def klines(
    symbol: Symbol, interval: str, start_ms: int | None, end_ms: int | None, limit: int
) -> list[Bar]:
    """``interval`` candles: stored ones as they are, others aggregated from the stored
    timeframe below them (whole buckets: the reads start and end on bucket bounds)."""
    source = shapes.KLINE_SOURCES[interval]
    if source == interval:
        return stored_bars(symbol, source, start_ms=start_ms, end_ms=end_ms, limit=limit)
    first = None if start_ms is None else shapes.interval_open(interval, start_ms)
    last = None
    if end_ms is not None:
        last = shapes.interval_close(interval, shapes.interval_open(interval, end_ms))
    finer = stored_bars(
        symbol,
        source,
        start_ms=first,
        end_ms=last,
        limit=(limit + 2) * shapes.source_per_candle(interval),
    )
    bars = shapes.aggregate(finer, interval)
    if start_ms is not None:
        return [b for b in bars if b.open_time_ms >= start_ms][:limit]
    return bars[-limit:]  # the oldest bucket may be partial: one more than needed was read


def day_hours(symbols: dict[str, Symbol], q: shapes.Quote) -> list[Bar]:
    symbol = symbols.get(q.symbol)
    if symbol is None:
        return []
    start = shapes.day_window_start(q.time_ms)
    return stored_bars(symbol, "1h", start_ms=start, end_ms=q.time_ms, limit=24)


def agg_trades(symbol: Symbol, query: TradeQuery, *, now_ms: int | None) -> list[shapes.AggTrade]:
    """Synthetic trades of the finest stored candles that cover the query. Trades after
    the price's exchange time (the forming candle's future) are left out."""
    count = query.limit // 4 + 2
    for timeframe, period in TIMEFRAMES.items():
        if query.from_id is not None:
            since = min(query.from_id // 4 * shapes.MINUTE_MS, MAX_TIME_MS)
            bars = stored_bars(symbol, timeframe, start_ms=since - since % period, limit=count)
        elif query.start_ms is not None:
            first = query.start_ms - query.start_ms % period
            bars = stored_bars(symbol, timeframe, start_ms=first, end_ms=query.end_ms, limit=count)
        else:
            bars = stored_bars(
                symbol,
                timeframe,
                end_ms=now_ms if query.end_ms is None else query.end_ms,
                limit=count,
            )
        if bars:
            break
    else:
        return []
    trades = [
        t
        for bar in bars
        for t in shapes.candle_trades(bar, period, tick=symbol.tick_size, step=symbol.step_size)
        if (query.from_id is None or t.id >= query.from_id)
        and (query.start_ms is None or t.time_ms >= query.start_ms)
        and (query.end_ms is None or t.time_ms <= query.end_ms)
        and (now_ms is None or t.time_ms <= now_ms)
    ]
    if query.from_id is None and query.start_ms is None:
        return trades[-query.limit :]  # the newest
    return trades[: query.limit]


def funding_marks(
    names: list[str], *, start_ms: int | None, end_ms: int | None, limit: int
) -> list[tuple[str, int, float]]:
    """(symbol, instant, price) at the funding instants up to the exchange's now: the open
    of the hourly candle starting then (instants without a stored candle are left out)."""
    times = [q.time_ms for q in quotes(names, required=False)]
    now = max(times) if times else server_ms()
    instants = shapes.funding_instants(start_ms, min(now, now if end_ms is None else end_ms), limit)
    if not instants:
        return []
    rows = Candle.objects.filter(
        symbol__symbol__in=names,
        timeframe="1h",
        open_time__in=[ms_dt(t) for t in instants],
    ).values_list("symbol__symbol", "open_time", "open")
    marks = sorted(
        ((name, int(opened.timestamp() * 1000), price) for name, opened, price in rows),
        key=lambda m: (m[1], m[0]),
    )
    return marks[:limit] if start_ms is not None else marks[-limit:]
