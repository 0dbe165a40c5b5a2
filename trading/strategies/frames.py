"""Candles as the DataFrame a strategy takes (pure apart from reading a local file).

A strategy's input is indexed by open time (UTC ``DatetimeIndex`` named ``open_time``,
ascending) with float64 columns ``open, high, low, close, volume``. These helpers build that
frame from :class:`~trading.exchange.base.Bar` rows, from a candle CSV (the shared format or
Binance's kline CSV, read and validated by :mod:`trading.candles`) or from the candles
shipped with the project, so commands and tests can run strategies without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from trading import candles as candle_math
from trading.exchange.base import Bar

COLUMNS = ("open", "high", "low", "close", "volume")
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "data"


def candles_frame(bars: Iterable[Bar]) -> pd.DataFrame:
    """Bars (ascending open time) as a strategy's candles frame."""
    rows = [(b.open_time_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars]
    values = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return frame_of(values[:, 0].astype(np.int64), values[:, 1:])


def rows_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """The candles frame of stored candle rows ``(open_time datetime, open, high, low,
    close, volume)``, ascending: what a values_list over Candle gives."""
    return candles_frame(
        Bar(int(t.timestamp() * 1000), o, h, lo, c, v) for t, o, h, lo, c, v in rows
    )


def frame_of(open_time_ms: np.ndarray, ohlcv: np.ndarray) -> pd.DataFrame:
    """The candles frame from epoch-ms open times and an (n, 5) OHLCV array."""
    index = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(open_time_ms, dtype=np.int64), unit="ms", utc=True),
        name="open_time",
    )
    return pd.DataFrame(
        np.array(ohlcv, dtype=np.float64).reshape(-1, 5), index=index, columns=list(COLUMNS)
    )


def candles_time_ms(candles: pd.DataFrame) -> np.ndarray:
    """The open times of a candles frame as int64 epoch milliseconds."""
    index = candles.index
    if isinstance(index, pd.DatetimeIndex):
        return index.as_unit("ns").asi8 // 1_000_000
    return np.asarray(index, dtype=np.int64)


def candles_read(path: Path) -> pd.DataFrame:
    """A candle file (.csv or .csv.gz) as a candles frame.

    Raises :class:`trading.candles.CandleFormatError` naming the line of a bad row.
    """
    info = candle_math.sniff(path)
    return candles_frame(candle_math.read_rows(path, info.kind))


def shipped_candles_path(symbol: str, timeframe: str) -> Path:
    """The shipped ``<SYMBOL>-<timeframe>.csv.gz`` (it may not exist; check ``is_file``)."""
    return SHIPPED_DATA / f"{symbol.upper().replace('/', '')}-{timeframe}.csv.gz"


def shipped_candles(symbol: str, timeframe: str) -> pd.DataFrame:
    """The shipped candles of ``symbol`` / ``timeframe`` (e.g. BTCUSDT, 1h) as a frame."""
    path = shipped_candles_path(symbol, timeframe)
    if not path.is_file():
        raise FileNotFoundError(f"no shipped candles {path.name} in {SHIPPED_DATA}")
    return candles_read(path)


def shipped_candles_available() -> list[str]:
    """Names like ``BTCUSDT 1h`` of every shipped candle file."""
    return sorted(
        path.name.removesuffix(".csv.gz").replace("-", " ")
        for path in SHIPPED_DATA.glob("*-*.csv.gz")
    )


_YEAR_10000_MS = 253_402_300_800_000
_TWO_DIGITS = np.array([[ord(a), ord(b)] for a in "0123456789" for b in "0123456789"], np.uint8)


def iso_seconds(ms: np.ndarray) -> list[str]:
    """Epoch-ms times as ISO-8601 UTC strings to the second (``2025-06-01T08:00:00Z``).

    The strings of ``np.datetime_as_string(..., unit="s", timezone="UTC")``, a few times
    faster for many times: numpy writes the date of each day in the span once, the clock
    is looked up two digits at a time, and a time equal to the one before it (a trade's
    exit and the next one's entry) shares its string. Outside 1970-9999 or over a long
    span, numpy's own."""
    ms = np.asarray(ms, dtype=np.int64)
    count = len(ms)
    if not count or ms.min() < 0 or ms.max() >= _YEAR_10000_MS:
        return _numpy_iso_seconds(ms)
    seconds = ms // 1000
    days = seconds // 86_400
    first, span = int(days.min()), int(days.max() - days.min()) + 1
    if span > 4 * count + 366:  # more days to write than times
        return _numpy_iso_seconds(ms)
    new = np.empty(count, dtype=bool)
    new[0] = True
    np.not_equal(ms[1:], ms[:-1], out=new[1:])
    seconds, days = seconds[new], days[new]
    day_dates = np.arange(first, first + span).astype("datetime64[D]")
    dates = np.datetime_as_string(day_dates).astype("S10").view(np.uint8).reshape(-1, 10)
    clock = (seconds - days * 86_400).astype(np.int32)
    minutes, second = np.divmod(clock, 60)
    hour, minute = np.divmod(minutes, 60)
    text = np.empty((len(seconds), 21), dtype=np.uint8)  # a line each: one split makes them
    text[:, :10] = dates[days - first]
    text[:, 10] = ord("T")
    text[:, 11:13] = _TWO_DIGITS[hour]
    text[:, 13] = ord(":")
    text[:, 14:16] = _TWO_DIGITS[minute]
    text[:, 16] = ord(":")
    text[:, 17:19] = _TWO_DIGITS[second]
    text[:, 19] = ord("Z")
    text[:, 20] = ord("\n")
    strings = text.tobytes().decode("ascii").split("\n")[:-1]
    if len(strings) == count:
        return strings
    return list(map(strings.__getitem__, (np.cumsum(new) - 1).tolist()))


def _numpy_iso_seconds(ms: np.ndarray) -> list[str]:
    return np.datetime_as_string(ms.astype("datetime64[ms]"), unit="s", timezone="UTC").tolist()
