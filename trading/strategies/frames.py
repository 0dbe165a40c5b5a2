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
