"""Indicator timings over a year of 1m candles: `python -m bench indicators`.

Each indicator runs through trading.indicators (a candles DataFrame in, a Series/DataFrame
out) beside the raw TA-Lib call on the same float64 arrays; the goal is ours / TA-Lib <= 2.
VWAP has no TA-Lib function, so its baseline is the plain pandas way (groupby-day cumsum).
Then `compute_indicators` for the full default set, against the sum of its raw calls.

The 525,600 candles are the shipped real BTCUSDT 1m file (36,400 rows) repeated: each copy
is scaled so it opens where the previous one closed, and open times continue minute by
minute. Ours and the baseline alternate run by run, so machine noise hits both alike; the
figures are per-call medians of RUNS runs (BENCH_RUNS, default 5), each run timing enough
calls to last ~50 ms. Needs no Django settings.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import talib

from trading import indicators as ind

CANDLES = 525_600
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RUN_SECONDS = 0.05
GOAL_RATIO = 2.0
MINUTE_MS = 60_000
DATA = Path(__file__).resolve().parent.parent / "trading" / "data" / "BTCUSDT-1m.csv.gz"


def year_of_candles(rows: int = CANDLES) -> pd.DataFrame:
    """``rows`` 1m candles built from the real file, with an integer ``open_time`` (ms)."""
    real = pd.read_csv(DATA)
    drift = real["close"].iloc[-1] / real["open"].iloc[0]
    copies = -(-rows // len(real))
    scale = np.repeat(drift ** np.arange(copies), len(real))[:rows]
    columns = {"open_time": real["open_time_ms"].iloc[0] + np.arange(rows) * MINUTE_MS}
    for name in ("open", "high", "low", "close"):
        columns[name] = np.tile(real[name].to_numpy(), copies)[:rows] * scale
    columns["volume"] = np.tile(real["volume"].to_numpy(), copies)[:rows]
    return pd.DataFrame(columns)


def _vwap_pandas(candles: pd.DataFrame) -> pd.Series:
    """The usual pandas VWAP (daily anchor), as the baseline TA-Lib cannot provide."""
    day = candles["open_time"] // 86_400_000
    typical = (candles["high"] + candles["low"] + candles["close"]) / 3
    sums = pd.DataFrame({"pv": typical * candles["volume"], "v": candles["volume"]})
    sums = sums.groupby(day, sort=False).cumsum()
    return sums["pv"] / sums["v"]


def _time_pair(ours: Callable[[], object], base: Callable[[], object]) -> list[str]:
    """Table cells for ``ours`` beside ``base``: per-call milliseconds, interleaved runs.

    A run times enough back-to-back calls to last about RUN_SECONDS (as timeit does), so a
    1 ms call is not at the mercy of one preemption; the figure is the median of RUNS runs.
    The ratio of the best runs is printed too, as a check on noise from a busy machine.
    """
    calls = max(1, math.ceil(RUN_SECONDS / max(_seconds(ours, 1), _seconds(base, 1))))
    ours_ms: list[float] = []
    base_ms: list[float] = []
    for _ in range(RUNS):
        ours_ms.append(_seconds(ours, calls) * 1000)
        base_ms.append(_seconds(base, calls) * 1000)
    ratio = statistics.median(ours_ms) / statistics.median(base_ms)
    return [
        f"{statistics.median(ours_ms):.2f}",
        f"{statistics.median(base_ms):.2f}",
        f"{ratio:.2f}x",
        f"{min(ours_ms) / min(base_ms):.2f}x",
        "ok" if ratio <= GOAL_RATIO else "MISSED",
    ]


def _seconds(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call over ``calls`` calls (after one untimed call: first-call costs)."""
    fn()
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def _print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for number, row in enumerate(cells):
        first, *rest = row
        padded = (cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))
        print("  ".join([first.ljust(widths[0]), *padded]))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    candles = year_of_candles()
    high, low, close, volume = (
        np.ascontiguousarray(candles[c].to_numpy(dtype=np.float64))
        for c in ("high", "low", "close", "volume")
    )
    spec = ind.IndicatorSpec()
    raw: dict[str, Callable[[], object]] = {
        "sma 20": lambda: talib.SMA(close, 20),
        "ema 20": lambda: talib.EMA(close, 20),
        "rsi 14": lambda: talib.RSI(close, 14),
        "macd 12/26/9": lambda: talib.MACD(close, 12, 26, 9),
        "bollinger 20/2": lambda: talib.BBANDS(close, 20, 2.0, 2.0, 0),
        "atr 14": lambda: talib.ATR(high, low, close, 14),
        "stoch 14/3/3": lambda: talib.STOCH(high, low, close, 14, 3, 0, 3, 0),
        "obv": lambda: talib.OBV(close, volume),
        "vwap (baseline: pandas)": lambda: _vwap_pandas(candles),
        "adx 14": lambda: talib.ADX(high, low, close, 14),
    }
    ours: dict[str, Callable[[], object]] = {
        "sma 20": lambda: ind.sma(candles, 20),
        "ema 20": lambda: ind.ema(candles, 20),
        "rsi 14": lambda: ind.rsi(candles, 14),
        "macd 12/26/9": lambda: ind.macd(candles, 12, 26, 9),
        "bollinger 20/2": lambda: ind.bollinger(candles, 20, 2.0),
        "atr 14": lambda: ind.atr(candles, 14),
        "stoch 14/3/3": lambda: ind.stochastic(candles, 14, 3, 3),
        "obv": lambda: ind.obv(candles),
        "vwap (baseline: pandas)": lambda: ind.vwap(candles),
        "adx 14": lambda: ind.adx(candles, 14),
    }
    print(
        f"{len(candles):,} 1m candles (real BTCUSDT 1m, repeated); ms per call, median of {RUNS}"
        f" interleaved runs of ~{RUN_SECONDS * 1000:.0f} ms; {os.cpu_count()} cores;"
        f" goal: ours / TA-Lib <= {GOAL_RATIO:g}"
    )
    rows = [[label, *_time_pair(ours[label], base)] for label, base in raw.items()]

    def all_raw() -> list[object]:
        return [base() for base in raw.values()]  # kept alive together, as a caller would

    label = f"compute_indicators, defaults ({len(spec.columns)} columns)"
    rows.append([label, *_time_pair(lambda: ind.compute_indicators(candles, spec), all_raw)])
    header = ["indicator", "ours ms", "TA-Lib ms", "ratio", "best/best", "goal"]
    _print_table(header, rows)
    print(
        "compute_indicators' baseline: all the raw calls above, results kept together;"
        " best/best = fastest run of ours / fastest run of the baseline."
    )
