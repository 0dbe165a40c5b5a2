"""Backtest metrics from an equity curve and a trade list (pure; floats, None if undefined).

Conventions (documented because every library differs a little):
- ``equity`` holds the account equity at each candle's close, one point per candle, in
  quote currency (USDT); its first value is the initial balance (nothing can be open
  during the first candle: a signal is acted on at the next candle's open).
- Returns are simple per-candle returns; Sharpe and Sortino are annualised with
  ``periods_per_year`` (e.g. 525,600 for 1m candles, 8,760 for 1h) and a zero risk-free
  rate. Sharpe uses the sample standard deviation (ddof 1); Sortino the downside
  deviation sqrt(mean(min(r, 0)^2)) over all periods.
- CAGR compounds the total return over len(equity) / periods_per_year years.
- max_drawdown_pct is the deepest fall from a running peak, as a negative percent
  (-12.5 = the equity once stood 12.5 % below its best); Calmar = CAGR / |max drawdown|.
- A trade wins when its net pnl (after fees and funding) is > 0. profit_factor = gross
  wins / gross losses (None without losses); expectancy = mean net pnl per trade (USDT).
- exposure_pct: share of candles during which a position was open, counting from the
  entry candle up to the exit candle (the exit candle itself is not counted; a trade that
  opens and closes within one candle counts that candle).
- buy_and_hold_return_pct: the first candle's open to the last candle's close.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

METRIC_NAMES = (
    "total_return_pct",
    "cagr_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "exposure_pct",
    "trades",
    "buy_and_hold_return_pct",
)


class TradeColumns(NamedTuple):
    """What the metrics read of the trades, as arrays: entry and exit times (epoch ms) and
    the net pnl (float) of each. A backtest that has them hands them over; otherwise
    ``of`` reads them from the trade dicts."""

    entry_ms: np.ndarray
    exit_ms: np.ndarray
    pnl: np.ndarray

    @classmethod
    def of(cls, trades: list[dict[str, Any]]) -> TradeColumns:
        """The columns of BacktestResult.trades dicts (or dicts with ISO times only)."""
        count = len(trades)
        pnl = np.fromiter((float(t["pnl"]) for t in trades), np.float64, count)
        try:
            entries = np.fromiter((t["entry_time_ms"] for t in trades), np.int64, count)
            exits = np.fromiter((t["exit_time_ms"] for t in trades), np.int64, count)
        except (KeyError, TypeError):  # trades from elsewhere: ISO strings only
            entries = np.array([_ms(t, "entry") for t in trades], dtype=np.int64)
            exits = np.array([_ms(t, "exit") for t in trades], dtype=np.int64)
        return cls(entries, exits, pnl)


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def backtest_metrics(
    equity: pd.Series | np.ndarray,
    trades: list[dict[str, Any]],
    *,
    candles: pd.DataFrame,
    periods_per_year: float,
    columns: TradeColumns | None = None,
    time_ms: np.ndarray | None = None,
) -> dict[str, Any]:
    """The metrics of one backtest (see the module docstring for each definition).

    ``trades`` are BacktestResult.trades dicts (pnl may be a Decimal or a string);
    ``candles`` is the candle frame the backtest ran on. Every value is a float (trades an
    int) or None when it is undefined (no trades, no losses, a flat equity...).
    ``columns`` (the trades' TradeColumns) and ``time_ms`` (the candles' open times in
    epoch ms) spare reading them again when the caller has them.
    """
    values = np.asarray(equity, dtype=np.float64)
    out: dict[str, Any] = dict.fromkeys(METRIC_NAMES)
    out["trades"] = len(trades)
    if len(values) == 0:
        return out
    start, end = values[0], values[-1]
    if start > 0:
        out["total_return_pct"] = _clean((end / start - 1.0) * 100.0)
    years = len(values) / periods_per_year if periods_per_year > 0 else 0.0
    if start > 0 and end > 0 and years > 0:
        out["cagr_pct"] = _clean(((end / start) ** (1.0 / years) - 1.0) * 100.0)
    if len(values) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = values[1:] / values[:-1]
        returns -= 1.0
        finite = np.isfinite(returns)
        if not finite.all():
            returns = returns[finite]
        if len(returns) > 1:
            mean = returns.mean()
            std = returns.std(ddof=1)
            if std > 0:
                out["sharpe"] = _clean(mean / std * math.sqrt(periods_per_year))
            downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
            if downside > 0:
                out["sortino"] = _clean(mean / downside * math.sqrt(periods_per_year))
    peaks = np.maximum.accumulate(values)
    if start > 0:  # every peak is positive; x - 1 rounds monotonically: min(x) - 1
        max_dd = (float((values / peaks).min()) - 1.0) * 100.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            drawdowns = np.where(peaks > 0, values / peaks - 1.0, 0.0)
        max_dd = float(drawdowns.min()) * 100.0
    out["max_drawdown_pct"] = _clean(max_dd)
    if out["cagr_pct"] is not None and max_dd < 0:
        out["calmar"] = _clean(out["cagr_pct"] / abs(max_dd))

    if trades:
        if columns is None:
            columns = TradeColumns.of(trades)
        pnls = columns.pnl
        wins, losses = pnls[pnls > 0], pnls[pnls <= 0]
        out["win_rate_pct"] = _clean(len(wins) / len(pnls) * 100.0)
        gross_loss = -losses.sum()
        if gross_loss > 0:
            out["profit_factor"] = _clean(wins.sum() / gross_loss)
        out["expectancy"] = _clean(pnls.mean())
    if len(candles):
        if time_ms is None:
            time_ms = _index_ms(candles.index)
        held = _exposure(columns, time_ms) if trades and columns is not None else 0.0
        out["exposure_pct"] = _clean(held * 100.0)
        first_open = float(candles["open"].iloc[0])
        if first_open > 0:
            out["buy_and_hold_return_pct"] = _clean(
                (float(candles["close"].iloc[-1]) / first_open - 1.0) * 100.0
            )
    return out


def _index_ms(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        return index.as_unit("ns").asi8 // 1_000_000
    return np.asarray(index, dtype=np.int64)


def _exposure(columns: TradeColumns, times: np.ndarray) -> float:
    """The share of candles held (see the module docstring)."""
    if len(columns.entry_ms) == 0 or len(times) == 0:
        return 0.0
    n = len(times)
    first = np.searchsorted(times, columns.entry_ms, side="left")
    last = np.minimum(
        np.maximum(np.searchsorted(times, columns.exit_ms, side="left"), first + 1), n
    )
    if np.all(first[1:] >= last[:-1]):  # one trade after another: the spans do not overlap
        return int((last - first).sum()) / n
    held = np.bincount(first, minlength=n + 1) - np.bincount(last, minlength=n + 1)
    return np.count_nonzero(np.cumsum(held[:-1])) / n


def _ms(trade: dict[str, Any], which: str) -> int:
    """A trade's entry / exit time in epoch ms (``<which>_time_ms``, else the ISO string)."""
    value = trade.get(f"{which}_time_ms")
    if value is not None:
        return int(value)
    return int(pd.Timestamp(trade[f"{which}_time"]).value // 1_000_000)
