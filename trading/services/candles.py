"""Writing candles: upserts from the exchange or files, and building coarser timeframes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
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


def candles_upsert(*, symbol: Symbol, timeframe: str, frame: pd.DataFrame) -> int:
    """Insert or update candles (open_time in ms); re-running with the same rows changes
    nothing, so every writer (poll, backfill, import) is idempotent. Returns rows written."""
    if frame.empty:
        return 0
    rows = [
        Candle(
            symbol=symbol,
            timeframe=timeframe,
            open_time=_dt(int(r.open_time)),
            open=float(r.open),
            high=float(r.high),
            low=float(r.low),
            close=float(r.close),
            volume=float(r.volume),
        )
        for r in frame.itertuples(index=False)
    ]
    with transaction.atomic():
        for start in range(0, len(rows), _UPSERT_BATCH):
            Candle.objects.bulk_create(
                rows[start : start + _UPSERT_BATCH],
                update_conflicts=True,
                unique_fields=["symbol", "timeframe", "open_time"],
                update_fields=["open", "high", "low", "close", "volume"],
            )
    return len(rows)


def candles_frame(*, symbol: Symbol, timeframe: str, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Stored candles in [start_ms, end_ms] as a float64 frame with open_time in ms."""
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
    frame = pd.DataFrame(list(values), columns=candle_math.COLUMNS)
    if frame.empty:
        return frame
    frame["open_time"] = frame["open_time"].map(lambda d: int(d.timestamp() * 1000))
    return frame


def candles_rebuild(*, symbol: Symbol, base_timeframe: str, start_ms: int, end_ms: int) -> int:
    """Rebuild every coarser timeframe's buckets that overlap [start_ms, end_ms].

    Each level is built from the level below it (1m → 5m → 15m → 1h → 4h → 1d), which is
    the same as building from ``base_timeframe`` (open/high/low/close/volume compose) but
    reads a handful of rows per bucket instead of a day of minutes. Returns rows written.
    """
    written = 0
    source = base_timeframe
    for timeframe in candle_math.coarser_timeframes(base_timeframe):
        if TIMEFRAMES[timeframe] % TIMEFRAMES[source]:
            source = base_timeframe
        first = candle_math.bucket_start(start_ms, timeframe)
        last = candle_math.bucket_start(end_ms, timeframe) + TIMEFRAMES[timeframe] - 1
        lower = candles_frame(symbol=symbol, timeframe=source, start_ms=first, end_ms=last)
        written += candles_upsert(
            symbol=symbol, timeframe=timeframe, frame=candle_math.aggregate(lower, timeframe)
        )
        source = timeframe
    return written


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
            symbol=symbol, timeframe=timeframe, frame=candle_math.bars_to_frame(bars[-count:])
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
    frame = candle_math.bars_to_frame(candle_math.read_rows(path, kind))
    if frame.empty:
        return {"imported": 0, "rebuilt": 0}
    frame = frame.drop_duplicates("open_time", keep="last").sort_values("open_time")
    total = 0
    with transaction.atomic():
        for start in range(0, len(frame), _UPSERT_BATCH):
            chunk = frame.iloc[start : start + _UPSERT_BATCH]
            total += candles_upsert(symbol=symbol, timeframe=timeframe, frame=chunk)
            if progress:
                progress(len(chunk))
        rebuilt = candles_rebuild(
            symbol=symbol,
            base_timeframe=timeframe,
            start_ms=int(frame["open_time"].iloc[0]),
            end_ms=int(frame["open_time"].iloc[-1]),
        )
    return {"imported": total, "rebuilt": rebuilt}
