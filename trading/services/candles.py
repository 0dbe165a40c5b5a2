"""Writing candles: upserts from the exchange or files, and building coarser timeframes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from trading import candles as candle_math
from trading.exchange.base import TIMEFRAMES, Bar
from trading.models import Candle, Symbol
from trading.services.exchange import current_exchange, exchange_now_ms

logger = logging.getLogger(__name__)
_UPSERT_BATCH = 5000


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def candles_upsert(*, symbol: Symbol, rows: Iterable[tuple[str, Bar]]) -> int:
    """Insert or update (timeframe, bar) rows; re-running with the same rows changes nothing,
    so every writer (poll, backfill, import) is idempotent. Returns rows written."""
    objects = [
        Candle(
            symbol=symbol,
            timeframe=timeframe,
            open_time=_dt(bar.open_time_ms),
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
        )
        for timeframe, bar in rows
    ]
    with transaction.atomic():
        for start in range(0, len(objects), _UPSERT_BATCH):
            Candle.objects.bulk_create(
                objects[start : start + _UPSERT_BATCH],
                update_conflicts=True,
                unique_fields=["symbol", "timeframe", "open_time"],
                update_fields=["open", "high", "low", "close", "volume"],
            )
    return len(objects)


def _open_ms(bar: Bar) -> int:
    return bar.open_time_ms


def _stored_bars(*, symbol: Symbol, timeframe: str, start_ms: int, end_ms: int) -> list[Bar]:
    """Stored candles with open_time in [start_ms, end_ms], ascending."""
    values = (
        Candle.objects.filter(
            symbol=symbol,
            timeframe=timeframe,
            open_time__gte=_dt(start_ms),
            open_time__lte=_dt(end_ms),
        )
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )
    return [Bar(int(t.timestamp() * 1000), o, h, lo, c, v) for t, o, h, lo, c, v in values]


def candles_rebuild(
    *,
    symbol: Symbol,
    base_timeframe: str,
    start_ms: int,
    end_ms: int,
    fresh: Iterable[Bar] = (),
) -> list[tuple[str, Bar]]:
    """Coarser timeframes' buckets that overlap [start_ms, end_ms], rebuilt (not written).

    Each level is built from the level below it (1m → 5m → 15m → 1h → 4h → 1d), which is
    the same as building from ``base_timeframe`` (open/high/low/close/volume compose) but
    reads a handful of rows per bucket instead of a day of minutes. ``fresh`` base bars
    (not yet stored) override stored ones, so callers write everything in one upsert.
    """
    rebuilt: list[tuple[str, Bar]] = []
    source, overlay = base_timeframe, {bar.open_time_ms: bar for bar in fresh}
    for timeframe in candle_math.coarser_timeframes(base_timeframe):
        first = candle_math.bucket_start(start_ms, timeframe)
        last = candle_math.bucket_start(end_ms, timeframe) + TIMEFRAMES[timeframe] - 1
        lower = {
            bar.open_time_ms: bar
            for bar in _stored_bars(symbol=symbol, timeframe=source, start_ms=first, end_ms=last)
        }
        lower.update({t: bar for t, bar in overlay.items() if first <= t <= last})
        built = candle_math.aggregate(sorted(lower.values(), key=_open_ms), timeframe)
        rebuilt.extend((timeframe, bar) for bar in built)
        source, overlay = timeframe, {bar.open_time_ms: bar for bar in built}
    return rebuilt


def candles_store(*, symbol: Symbol, timeframe: str, bars: list[Bar]) -> int:
    """Store base candles and rebuild the coarser timeframes over their range, in one
    upsert. The price poll calls this with the latest (closed + forming) candles."""
    if not bars:
        return 0
    rows = [(timeframe, bar) for bar in bars]
    rows += candles_rebuild(
        symbol=symbol,
        base_timeframe=timeframe,
        start_ms=bars[0].open_time_ms,
        end_ms=bars[-1].open_time_ms,
        fresh=bars,
    )
    return candles_upsert(symbol=symbol, rows=rows)


def candles_backfill(
    *,
    symbol: Symbol,
    timeframes: Iterable[str] | None = None,
    count: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Fetch the last ``count`` candles of each timeframe from the exchange and store them,
    starting at the newest stored candle when that is more recent (so a restart fills only
    the gap since the bot stopped).

    Coarser timeframes come from the exchange too (the replay exchange aggregates its
    finest data, and uses its 1h file before its 1m data starts, so 1h/4h/1d reach years
    back). Idempotent. Returns rows stored per timeframe.
    """
    exchange = current_exchange()
    count = count or settings.BACKFILL_CANDLES
    finest_ms = TIMEFRAMES[exchange.finest_timeframe(symbol.symbol)]
    wanted = [tf for tf in (timeframes or TIMEFRAMES) if TIMEFRAMES[tf] >= finest_ms]
    stored: dict[str, int] = {}
    for timeframe in wanted:
        since = exchange_now_ms() - count * TIMEFRAMES[timeframe]
        newest = (
            Candle.objects.filter(symbol=symbol, timeframe=timeframe)
            .order_by("-open_time")
            .values_list("open_time", flat=True)
            .first()
        )
        if newest is not None:
            since = max(since, int(newest.timestamp() * 1000))
        bars: list[Bar] = []
        while len(bars) < count:
            page = exchange.fetch_ohlcv(symbol.symbol, timeframe, since_ms=since, limit=1000)
            if not page:
                break
            bars.extend(page)
            since = page[-1].open_time_ms + TIMEFRAMES[timeframe]
            if len(page) < 1000:
                break
        stored[timeframe] = candles_upsert(
            symbol=symbol, rows=[(timeframe, bar) for bar in bars[-count:]]
        )
        if progress:
            progress(stored[timeframe])
    return stored


def candles_import(
    *,
    path: Path,
    symbol: Symbol,
    timeframe: str,
    kind: str,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Import a candle file, then rebuild the coarser timeframes over the imported range.

    Every row is validated before anything is written, so a malformed file changes
    nothing; re-importing the same file changes nothing either (upserts).
    """
    by_time = {bar.open_time_ms: bar for bar in candle_math.read_rows(path, kind)}
    bars = [by_time[t] for t in sorted(by_time)]
    if not bars:
        return {"imported": 0, "rebuilt": 0}
    with transaction.atomic():
        for start in range(0, len(bars), _UPSERT_BATCH):
            chunk = bars[start : start + _UPSERT_BATCH]
            candles_upsert(symbol=symbol, rows=[(timeframe, bar) for bar in chunk])
            if progress:
                progress(len(chunk))
        rebuilt = candles_rebuild(
            symbol=symbol,
            base_timeframe=timeframe,
            start_ms=bars[0].open_time_ms,
            end_ms=bars[-1].open_time_ms,
        )
        candles_upsert(symbol=symbol, rows=rebuilt)
    return {"imported": len(bars), "rebuilt": len(rebuilt)}
