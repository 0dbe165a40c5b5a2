"""Proof that a strategy does not look ahead (pure: candles in, a report out).

A signal at bar t may use candles up to and including t's close, nothing later: the backtest
acts on it at t+1's open, so a signal that peeks at t+1 makes a backtest that live trading
can never match. The check runs the strategy once over all candles, then, for cut points t
spread over the series after the warm-up, runs it again

* on ``candles[:t+1]`` (the future removed, as live trading sees it at t), and
* on the candles with everything after t replaced by a random walk (the future altered),

and requires the signal, stop-loss and take-profit of every bar up to t to be identical to
the full run, bit for bit. Any difference is a lookahead, reported with the cut and the
first bar that moved.

It also runs the strategy on a window of candles ending at t, as a live run that loads only
the latest candles does: each of the window's last ``WARMUP_SPAN`` bars has at least
``warmup(params)`` candles of history in it, and their outputs must equal the full run's. A
warm-up that is too short (a recursive indicator's seed still showing) makes live signals
differ from backtest signals; comparing a span of bars rather than t alone catches it even
though most bars carry no signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading.strategies.base import Strategy, StrategyError

OUTPUTS = ("signal", "stop_loss", "take_profit")
REMOVED = "future removed"
ALTERED = "future altered"
WARMUP = "warm-up window"
WARMUP_SPAN = 50


@dataclass(frozen=True)
class Mismatch:
    """The first bar (``time`` <= ``cut``) whose output changed when the candles after
    ``cut`` were removed or altered, or in a warm-up window ending at ``cut``."""

    cut: pd.Timestamp
    time: pd.Timestamp
    variant: str
    column: str
    full: float
    recomputed: float

    def describe(self) -> str:
        return (
            f"cut {_stamp(self.cut)}, {self.variant}: {self.column} at {_stamp(self.time)} "
            f"was {self.full:g} with all candles, {self.recomputed:g} when recomputed"
        )


@dataclass(frozen=True)
class LookaheadReport:
    """What the check did and found; ``passed`` when nothing moved."""

    strategy: str
    params: dict[str, Any]
    candles: int
    first: pd.Timestamp
    last: pd.Timestamp
    warmup: int
    checked: tuple[pd.Timestamp, ...]
    mismatches: tuple[Mismatch, ...] = field(default=())

    @property
    def lookahead(self) -> tuple[Mismatch, ...]:
        """Mismatches caused by candles after the cut: the strategy uses the future."""
        return tuple(m for m in self.mismatches if m.variant != WARMUP)

    @property
    def warmup_short(self) -> tuple[Mismatch, ...]:
        """Mismatches of the warm-up window run: ``warmup(params)`` is too small."""
        return tuple(m for m in self.mismatches if m.variant == WARMUP)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def verdict(self) -> str:
        """One line: the outcome, in words."""
        where = (
            f"{self.strategy} {self.params} on {self.candles:,} candles "
            f"({_stamp(self.first)} .. {_stamp(self.last)}), {len(self.checked)} cut points"
        )
        if self.lookahead:
            cuts = len({m.cut for m in self.lookahead})
            return (
                f"LOOKAHEAD: {where}: signals up to t changed at {cuts} cut point(s) when "
                "the candles after t were removed or altered."
            )
        if self.warmup_short:
            cuts = len({m.cut for m in self.warmup_short})
            return (
                f"WARM-UP TOO SHORT: {where}: no lookahead, but {self.warmup} candles of "
                f"history do not reproduce the full run's signals at {cuts} cut point(s)."
            )
        return (
            f"OK, no lookahead: {where}: signals up to t unchanged when the candles after t "
            f"were removed or replaced by a random walk; {self.warmup} candles of history "
            "reproduce the full run's signals."
        )

    def lines(self) -> list[str]:
        """The verdict followed by each mismatch."""
        return [self.verdict(), *(f"  {m.describe()}" for m in self.mismatches)]


def lookahead_check(
    strategy: Strategy,
    params: Mapping[str, Any] | None,
    candles: pd.DataFrame,
    *,
    points: int = 20,
    seed: int = 0,
) -> LookaheadReport:
    """Check ``strategy`` with ``params`` (validated here) over ``candles`` for lookahead.

    ``points`` cut points are spread evenly from the end of the warm-up to the last bar but
    one (there must be a future to change; the warm-up window, ``warmup + WARMUP_SPAN - 1``
    candles, must fit before t). The random walks are seeded from ``seed`` and
    the cut, so a report is reproducible. Raises :class:`StrategyError` for invalid
    params, a strategy that cannot compute, or too few candles (field ``candles``).
    """
    values = strategy.validate(params)
    warmup = max(int(strategy.warmup(values)), 1)
    window = warmup + WARMUP_SPAN - 1
    n = len(candles)
    start, stop = window - 1, n - 2
    if points < 1 or stop < start:
        raise StrategyError(
            "candles",
            f"{strategy.name} needs more than {window} candles to be checked "
            f"(warm-up {warmup} + {WARMUP_SPAN - 1} bars + one later candle); got {n}.",
        )
    cuts = np.unique(np.linspace(start, stop, num=points).round().astype(np.int64))
    full = _outputs(strategy, candles, values)
    rng_scale = _return_scale(candles)
    mismatches: list[Mismatch] = []
    for t in cuts.tolist():
        removed = _outputs(strategy, candles.iloc[: t + 1], values)
        mismatches += _compare(full, removed, candles.index, t, 0, REMOVED)
        garbage = _random_future(candles, t, rng_scale, np.random.default_rng([seed, t]))
        altered = {k: v[: t + 1] for k, v in _outputs(strategy, garbage, values).items()}
        mismatches += _compare(full, altered, candles.index, t, 0, ALTERED)
        recent = _outputs(strategy, candles.iloc[t + 1 - window : t + 1], values)
        mismatches += _compare(full, recent, candles.index, t, t + 1 - WARMUP_SPAN, WARMUP)
    return LookaheadReport(
        strategy=strategy.name,
        params=values,
        candles=n,
        first=candles.index[0],
        last=candles.index[-1],
        warmup=warmup,
        checked=tuple(candles.index[cuts]),
        mismatches=tuple(mismatches),
    )


def _outputs(
    strategy: Strategy, candles: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    out = strategy.signals(candles, params)
    if len(out) != len(candles) or not out.index.equals(candles.index):
        raise StrategyError(
            "strategy",
            f"{strategy.name} returned {len(out)} rows for {len(candles)} candles; a strategy "
            "must return one row per candle, on the candles' index.",
        )
    return {name: out[name].to_numpy(dtype=np.float64) for name in OUTPUTS}


def _compare(
    full: dict[str, np.ndarray],
    other: dict[str, np.ndarray],
    index: pd.Index,
    t: int,
    first: int,
    variant: str,
) -> list[Mismatch]:
    """The first differing bar of each output over bars ``first..t`` (NaN equals NaN).

    ``other`` ends at bar t (its rows are the last bars up to t).
    """
    found = []
    for name in OUTPUTS:
        a = full[name][first : t + 1]
        b = other[name][len(other[name]) - len(a) :]
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            found.append(
                Mismatch(index[t], index[first + i], variant, name, float(a[i]), float(b[i]))
            )
    return found


def _return_scale(candles: pd.DataFrame) -> float:
    """A bar-to-bar log-return size for the random walk: three times the series' own."""
    close = candles["close"].to_numpy(dtype=np.float64)
    if len(close) < 3:
        return 0.05
    spread = float(np.nanstd(np.diff(np.log(close))))
    return max(3 * spread, 0.01) if np.isfinite(spread) else 0.05


def _random_future(
    candles: pd.DataFrame, t: int, scale: float, rng: np.random.Generator
) -> pd.DataFrame:
    """``candles`` with every bar after ``t`` replaced by a consistent random OHLCV walk."""
    out = candles.copy()
    m = len(candles) - t - 1
    if m <= 0:
        return out
    last_close = float(candles["close"].iloc[t])
    closes = last_close * np.exp(np.cumsum(rng.normal(0.0, scale, m)))
    opens = np.concatenate(([last_close], closes[:-1]))
    wick = np.abs(rng.normal(0.0, scale / 2, (2, m)))
    highs = np.maximum(opens, closes) * (1 + wick[0])
    lows = np.minimum(opens, closes) * (1 - np.minimum(wick[1], 0.5))
    volume = candles["volume"].to_numpy(dtype=np.float64)
    mean_volume = float(np.nanmean(volume[: t + 1])) or 1.0
    future = {
        "open": opens,
        "high": highs,
        "low": lows,
        "close": closes,
        "volume": rng.exponential(mean_volume, m),
    }
    for name, values in future.items():
        if name in out.columns:
            out.iloc[t + 1 :, out.columns.get_loc(name)] = values
    return out


def _stamp(time: pd.Timestamp) -> str:
    return time.isoformat() if isinstance(time, pd.Timestamp) else str(time)
