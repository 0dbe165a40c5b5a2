"""Candles for backtests from the shipped csv.gz files (pure: no ORM).

The files in trading/data (source: ../shared/data, see trading/data/SOURCES.md) have the
header ``open_time_ms,open,high,low,close,volume``. The frame a strategy and the
backtester take is indexed by the candle's open time (UTC DatetimeIndex, ascending,
unique) with float64 columns open, high, low, close, volume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
COLUMNS = ("open", "high", "low", "close", "volume")


def candles_frame(open_time_ms: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """The backtest frame from epoch-ms open times and an (n, 5) OHLCV float array."""
    index = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(open_time_ms, dtype=np.int64), unit="ms", utc=True)
    )
    index.name = "open_time"
    return pd.DataFrame(np.asarray(values, dtype=np.float64), index=index, columns=list(COLUMNS))


def candles_read(path: Path | str, *, limit: int | None = None) -> pd.DataFrame:
    """Read a candle csv(.gz) in the shipped format into the backtest frame.

    ``limit`` keeps the first ``limit`` candles. Rows are sorted by time and duplicate
    times dropped (the last row wins), so the index is strictly increasing.
    """
    raw = pd.read_csv(
        path,
        nrows=limit,
        dtype={"open_time_ms": np.int64, **dict.fromkeys(COLUMNS, np.float64)},
    )
    raw = raw.drop_duplicates("open_time_ms", keep="last").sort_values("open_time_ms")
    return candles_frame(raw["open_time_ms"].to_numpy(), raw[list(COLUMNS)].to_numpy())


def shipped_candles(symbol: str, timeframe: str, *, limit: int | None = None) -> pd.DataFrame:
    """The shipped candles of ``symbol`` / ``timeframe`` (e.g. BTCUSDT, 1h) as a frame."""
    path = DATA_DIR / f"{symbol.upper()}-{timeframe}.csv.gz"
    if not path.exists():
        raise FileNotFoundError(f"no shipped candles {path.name} in {DATA_DIR}")
    return candles_read(path, limit=limit)


def candles_time_ms(candles: pd.DataFrame) -> np.ndarray:
    """The open times of a candle frame as int64 epoch milliseconds."""
    index = candles.index
    if isinstance(index, pd.DatetimeIndex):
        return index.as_unit("ns").asi8 // 1_000_000
    return np.asarray(index, dtype=np.int64)
