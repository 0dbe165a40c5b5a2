"""Pure candle helpers: timeframe arithmetic, aggregation and CSV parsing (no ORM).

Candle times are UTC epoch milliseconds of the candle's open; buckets of a timeframe are
aligned to multiples of its length since the epoch (Binance's convention for m/h/d).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trading.exchange.base import TIMEFRAMES, Bar


class CandleFormatError(ValueError):
    """A candle file or row that cannot be read; says which line and why."""


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAMES[timeframe]
    except KeyError as exc:
        raise ValueError(
            f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
        ) from exc


def coarser_timeframes(timeframe: str) -> list[str]:
    """Timeframes that can be built from ``timeframe`` (strictly longer ones)."""
    base = timeframe_ms(timeframe)
    return [tf for tf, ms in TIMEFRAMES.items() if ms > base and ms % base == 0]


def bucket_start(time_ms: int, timeframe: str) -> int:
    size = timeframe_ms(timeframe)
    return time_ms - time_ms % size


def aggregate(bars: Iterable[Bar], timeframe: str) -> list[Bar]:
    """Group finer candles (ascending) into ``timeframe`` buckets.

    open = first, high = max, low = min, close = last, volume = sum; a bucket exists when
    at least one finer candle falls in it (gaps stay gaps, as on the exchange).
    """
    size = timeframe_ms(timeframe)
    out: list[Bar] = []
    current: list[float] | None = None
    bucket = -1
    for bar in bars:
        start = bar.open_time_ms - bar.open_time_ms % size
        if start != bucket:
            if current is not None:
                out.append(Bar(bucket, *current))
            bucket = start
            current = [bar.open, bar.high, bar.low, bar.close, bar.volume]
        else:
            assert current is not None
            current[1] = max(current[1], bar.high)
            current[2] = min(current[2], bar.low)
            current[3] = bar.close
            current[4] += bar.volume
    if current is not None:
        out.append(Bar(bucket, *current))
    return out


@dataclass(frozen=True)
class CandleFile:
    """What a candle file holds, as far as its name and first line tell."""

    kind: str  # "cryptobot" (header open_time_ms,...) or "binance" (kline CSV, no header)
    symbol: str | None
    timeframe: str | None


def sniff(path: Path) -> CandleFile:
    """Recognise the shared CSV format or Binance's kline CSV, and the symbol/timeframe
    from a name like ``BTCUSDT-1m.csv.gz`` or ``BTCUSDT-1m-2024-01.csv``."""
    with _open_text(path) as handle:
        first = handle.readline().strip()
    if not first:
        raise CandleFormatError(f"{path.name}: the file is empty")
    if first.lower().startswith("open_time"):
        kind = "cryptobot"
    elif first.split(",")[0].strip().isdigit():
        kind = "binance"
    else:
        raise CandleFormatError(
            f"{path.name}: line 1 is neither the header 'open_time_ms,open,high,low,close,volume'"
            " nor a Binance kline row"
        )
    stem = path.name.split(".")[0]
    parts = stem.split("-")
    symbol = parts[0].upper() if parts and parts[0].isalnum() else None
    timeframe = parts[1] if len(parts) > 1 and parts[1] in TIMEFRAMES else None
    return CandleFile(kind, symbol, timeframe)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_rows(path: Path, kind: str) -> Iterator[Bar]:
    """Validated bars from a candle file; a bad row raises CandleFormatError with its line."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        for line_no, row in enumerate(reader, start=1):
            if not row or (line_no == 1 and kind == "cryptobot"):
                continue
            yield _parse_row(row, line_no, kind)


def _parse_row(row: list[str], line_no: int, kind: str) -> Bar:
    want = 6 if kind == "cryptobot" else 11
    if len(row) < want:
        raise CandleFormatError(f"line {line_no}: expected at least {want} columns, got {len(row)}")
    try:
        open_time = int(row[0])
        o, h, low, c, v = (float(x) for x in row[1:6])
    except ValueError as exc:
        raise CandleFormatError(f"line {line_no}: not a number ({exc})") from exc
    if open_time > 10**14:  # Binance's 2025+ kline files count microseconds
        open_time //= 1000
    values = (o, h, low, c, v)
    if not all(np.isfinite(values)) or min(o, h, low, c) <= 0 or v < 0:
        raise CandleFormatError(f"line {line_no}: prices must be positive and finite")
    if h < max(o, c) or low > min(o, c):
        raise CandleFormatError(f"line {line_no}: high/low do not contain open and close")
    return Bar(open_time, o, h, low, c, v)
