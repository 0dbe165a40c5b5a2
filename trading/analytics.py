"""Performance metrics of closed trades and of an equity curve (pure: no ORM, no I/O).

Used by ``GET /trades/analytics`` and by the backtester. Conventions of every output:

* Money (USDT) is a Decimal quantized to 8 decimal places.
* Ratios and percentages are floats rounded to 4 decimal places; percentages are percent
  (``12.5`` = 12.5 %), ``win_rate`` is a fraction in [0, 1].
* A metric that is undefined (no trades, no losses for a profit factor, fewer than two
  returns for a Sharpe ratio...) is None, never NaN or infinity, which JSON cannot carry.
  Note that DRF's JSON encoder turns a Decimal into a float: render money with ``str``.
* Times are epoch milliseconds; days are UTC calendar days.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

import numpy as np

from trading.engine.types import Trade

ZERO = Decimal(0)
Q8 = Decimal("0.00000001")
DAY_MS: Final = 86_400_000
DAYS_PER_YEAR: Final = 365  # crypto trades every day
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TINY = 1e-12  # a standard deviation this small is zero up to float rounding


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One closed trade as the metrics see it.

    realized_pnl is net: after fees (and funding), in USDT; fees is what was paid (>= 0).
    """

    symbol: str
    direction: str
    realized_pnl: Decimal
    fees: Decimal
    opened_ms: int
    closed_ms: int

    @classmethod
    def from_trade(cls, trade: Trade) -> ClosedTrade:
        """From an engine Trade that has closed: its net PnL (realized - fees + funding)."""
        if trade.closed_ms is None:
            raise ValueError(f"trade {trade.id} is not closed")
        return cls(
            symbol=trade.symbol,
            direction=str(trade.direction),
            realized_pnl=trade.net_pnl,
            fees=trade.fees,
            opened_ms=trade.opened_ms,
            closed_ms=trade.closed_ms,
        )


def trade_stats(trades: Sequence[ClosedTrade]) -> dict[str, Any]:
    """Win rate, profit factor, expectancy and totals of closed trades, overall and split.

    Definitions (pnl = a trade's net realized_pnl):

    - a win is pnl > 0, a loss pnl < 0; a break-even trade (pnl == 0) is neither but
      counts in trades_count, win_rate's denominator and expectancy;
    - win_rate = wins / trades_count, a fraction in [0, 1]; None without trades;
    - gross_profit = sum of winning pnl (>= 0), gross_loss = sum of losing pnl (<= 0);
    - profit_factor = gross_profit / |gross_loss|; None without losses (or trades);
    - expectancy = mean pnl per trade; None without trades;
    - avg_win = mean winning pnl (None without wins), avg_loss = mean losing pnl, a
      negative number (None without losses);
    - realized_pnl = sum of pnl, fees_paid = sum of fees (0 without trades);
    - per_symbol = {symbol: {trades, realized_pnl, win_rate}}, symbols sorted;
    - per_day = [{date, realized_pnl, trades}] by the UTC day a trade closed, days with
      trades only, ascending.
    """
    pnls = [t.realized_pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_profit = sum(wins, ZERO)
    gross_loss = sum(losses, ZERO)
    count = len(pnls)

    by_symbol: dict[str, list[Decimal]] = defaultdict(list)
    by_day: dict[str, list[Decimal]] = defaultdict(list)
    for t in trades:
        by_symbol[t.symbol].append(t.realized_pnl)
        by_day[_utc_date(t.closed_ms)].append(t.realized_pnl)

    return {
        "trades_count": count,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": _win_rate(pnls),
        "profit_factor": _ratio(gross_profit / -gross_loss) if losses else None,
        "expectancy": _money(sum(pnls, ZERO) / count) if count else None,
        "avg_win": _money(gross_profit / len(wins)) if wins else None,
        "avg_loss": _money(gross_loss / len(losses)) if losses else None,
        "gross_profit": _money(gross_profit),
        "gross_loss": _money(gross_loss),
        "realized_pnl": _money(sum(pnls, ZERO)),
        "fees_paid": _money(sum((t.fees for t in trades), ZERO)),
        "per_symbol": {
            symbol: {
                "trades": len(values),
                "realized_pnl": _money(sum(values, ZERO)),
                "win_rate": _win_rate(values),
            }
            for symbol, values in sorted(by_symbol.items())
        },
        "per_day": [
            {"date": day, "realized_pnl": _money(sum(values, ZERO)), "trades": len(values)}
            for day, values in sorted(by_day.items())
        ],
    }


def equity_stats(
    points: Sequence[tuple[int, Decimal]], *, periods_per_year: float | None = None
) -> dict[str, Any]:
    """Drawdown, risk-adjusted return and growth of an equity curve of (time_ms, equity).

    Points are taken in time order (sorted here, ties keep their order). The curve should
    reflect performance only: deposits and resets show as returns, so pass the curve since
    the last reset.

    - max_drawdown_pct: the largest fall from a running peak, (peak - equity) / peak x 100,
      over every point; 0.0 for a single point, None without points.
    - returns: without periods_per_year the curve is resampled to UTC days: the equity at
      the end of each day from the first point's day to the last point's day (carried
      forward over days without points), preceded by the first point's equity as the
      opening value; a return is the relative change between consecutive values. With
      periods_per_year (e.g. a backtest's bars per year) the points are taken as evenly
      spaced periods and their consecutive relative changes are the returns. A change
      from an equity <= 0 is skipped.
    - sharpe = mean(r) / std(r, ddof=1) x sqrt(N), N = 365 (or periods_per_year), risk-free
      rate 0; None with fewer than 2 returns or a zero standard deviation.
    - sortino = mean(r) / sqrt(mean(min(r, 0)^2)) x sqrt(N) (downside deviation over all
      returns, target 0); None with fewer than 2 returns or no negative return.
    - total_return_pct = (last / first - 1) x 100; None when the first equity is <= 0.
    - cagr_pct = ((last / first) ^ (365 / span_days) - 1) x 100, only when the points span at
      least one day; None otherwise (or when it overflows a float).
    - calmar = cagr_pct / max_drawdown_pct; None when either is undefined or the drawdown 0.
    """
    if periods_per_year is not None and not periods_per_year > 0:
        raise ValueError("periods_per_year must be positive")
    ordered = sorted(points, key=lambda point: point[0])
    result: dict[str, Any] = dict.fromkeys(
        ("max_drawdown_pct", "sharpe", "sortino", "total_return_pct", "cagr_pct", "calmar")
    )
    if not ordered:
        return result
    values = [float(equity) for _, equity in ordered]
    first_ms, first = ordered[0][0], values[0]
    last_ms, last = ordered[-1][0], values[-1]

    max_dd = _max_drawdown_pct(values)
    if periods_per_year is None:
        returns = _returns(_daily_closes(ordered, first))
        annual = float(DAYS_PER_YEAR)
    else:
        returns = _returns(values)
        annual = float(periods_per_year)

    cagr = None
    if first > 0:
        result["total_return_pct"] = _ratio((last / first - 1) * 100)
        span_days = (last_ms - first_ms) / DAY_MS
        if span_days >= 1:
            cagr = _cagr_pct(first, last, span_days)
    result["max_drawdown_pct"] = _ratio(max_dd)
    result["sharpe"] = _ratio(_sharpe(returns, annual))
    result["sortino"] = _ratio(_sortino(returns, annual))
    result["cagr_pct"] = _ratio(cagr)
    result["calmar"] = _ratio(cagr / max_dd) if cagr is not None and max_dd else None
    return result


def equity_points(
    initial_balance: Decimal,
    ledger: Sequence[tuple[int, Decimal]],
    unrealized_now: Decimal,
    now_ms: int,
) -> list[tuple[int, Decimal]]:
    """The equity after each ledger instant, then now with the unrealized PnL: (ms, USDT).

    initial_balance is the balance before the first ledger entry (0 when the ledger
    starts with the account's opening deposit); ledger holds (time_ms, amount) of the
    USDT entries, summed in time order; entries at one instant make one point. The last
    point, at now_ms (or the last entry's time if that is later), adds unrealized_now,
    which should also carry the value of spot holdings when there are any. Without
    entries the curve is the single point now.
    """
    ordered = sorted(ledger, key=lambda entry: entry[0])
    balance = initial_balance
    out: list[tuple[int, Decimal]] = []
    for time_ms, amount in ordered:
        balance += amount
        if out and out[-1][0] == time_ms:
            out[-1] = (time_ms, balance)
        else:
            out.append((time_ms, balance))
    if out and out[-1][0] >= now_ms:
        out[-1] = (out[-1][0], balance + unrealized_now)
    else:
        out.append((now_ms, balance + unrealized_now))
    return out


def equity_curve(
    initial_balance: Decimal,
    ledger: Sequence[tuple[int, Decimal]],
    unrealized_now: Decimal,
    now_ms: int,
    max_points: int = 500,
) -> list[dict[str, Any]]:
    """:func:`equity_points` as ``[{"time": ms, "equity": "10012.50000000"}]``, thinned.

    With more than max_points points (max_points >= 4), the first and last are kept and
    the rest are split into (max_points - 2) // 2 runs of consecutive points; each run
    keeps its lowest and highest point. So the curve's highest and lowest equity, and each
    stretch's range, survive; time order is kept.
    """
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    points = _downsample(equity_points(initial_balance, ledger, unrealized_now, now_ms), max_points)
    return [{"time": time_ms, "equity": format(_money(equity), "f")} for time_ms, equity in points]


# --------------------------------------------------------------------------- internals


def _money(value: Decimal) -> Decimal:
    return value.quantize(Q8, ROUND_HALF_EVEN)


def _ratio(value: float | Decimal | None) -> float | None:
    """A float rounded to 4 places, or None when undefined or not finite."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return round(number, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _win_rate(pnls: Sequence[Decimal]) -> float | None:
    if not pnls:
        return None
    return _ratio(sum(1 for p in pnls if p > 0) / len(pnls))


def _utc_date(ms: int) -> str:
    return (EPOCH + timedelta(milliseconds=ms)).date().isoformat()


def _max_drawdown_pct(values: Sequence[float]) -> float:
    peak = -math.inf
    worst = 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak * 100)
    return worst


def _daily_closes(ordered: Sequence[tuple[int, Decimal]], opening: float) -> list[float]:
    """The opening value, then each UTC day's last equity, carried over empty days."""
    closes: dict[int, float] = {}
    for time_ms, equity in ordered:
        closes[time_ms // DAY_MS] = float(equity)
    first_day, last_day = ordered[0][0] // DAY_MS, ordered[-1][0] // DAY_MS
    out = [opening]
    for day in range(first_day, last_day + 1):
        out.append(closes.get(day, out[-1]))
    return out


def _returns(values: Sequence[float]) -> np.ndarray:
    series = np.asarray(values, dtype=float)
    previous, current = series[:-1], series[1:]
    keep = previous > 0
    return current[keep] / previous[keep] - 1


def _sharpe(returns: np.ndarray, annual: float) -> float | None:
    if returns.size < 2:
        return None
    std = float(np.std(returns, ddof=1))
    if std <= _TINY:
        return None
    return float(np.mean(returns)) / std * math.sqrt(annual)


def _sortino(returns: np.ndarray, annual: float) -> float | None:
    if returns.size < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside <= _TINY:
        return None
    return float(np.mean(returns)) / downside * math.sqrt(annual)


def _cagr_pct(first: float, last: float, span_days: float) -> float | None:
    if last <= 0:
        return -100.0
    try:
        growth = math.exp(math.log(last / first) * DAYS_PER_YEAR / span_days)
    except OverflowError:
        return None
    return (growth - 1) * 100


def _downsample(
    points: Sequence[tuple[int, Decimal]], max_points: int
) -> list[tuple[int, Decimal]]:
    if len(points) <= max_points:
        return list(points)
    inner = points[1:-1]
    runs = (max_points - 2) // 2
    kept: list[tuple[int, Decimal]] = [points[0]]
    for run in range(runs):
        start, stop = run * len(inner) // runs, (run + 1) * len(inner) // runs
        if start == stop:
            continue
        chunk = range(start, stop)
        low = min(chunk, key=lambda i: inner[i][1])
        high = max(chunk, key=lambda i: inner[i][1])
        kept.extend(inner[i] for i in sorted({low, high}))
    kept.append(points[-1])
    return kept
