"""trading.analytics: hand-computed examples, edge cases, and an independent cross-check.

Sharpe, Sortino and max drawdown are recomputed here with pandas (resample to UTC days,
pct_change, cummax) on random equity curves and must agree with the module to the 4
decimals it reports. Pure: no database.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import analytics
from trading.analytics import ClosedTrade
from trading.engine.types import Direction, Market, Trade, TradeStatus

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SQRT_365 = math.sqrt(365)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def closed(symbol: str, pnl: str, fees: str, closed_ms: int) -> ClosedTrade:
    return ClosedTrade(symbol, "long", D(pnl), D(fees), closed_ms - HOUR_MS, closed_ms)


# --------------------------------------------------------------------------- trade_stats

TRADES = [
    closed("BTCUSDT", "100", "2", ms(2026, 11, 20, 10)),
    closed("BTCUSDT", "-50", "1", ms(2026, 11, 20, 23, 59) + 59_999),  # last ms of the 20th
    closed("ETHUSDT", "30", "1", ms(2026, 11, 21)),  # first ms of the 21st
    closed("ETHUSDT", "-20", "1", ms(2026, 11, 21, 8)),
    closed("ETHUSDT", "0", "0.5", ms(2026, 11, 21, 9)),  # break-even: neither win nor loss
]


def test_trade_stats_on_a_hand_computed_example():
    stats = analytics.trade_stats(TRADES)
    assert stats["trades_count"] == 5
    assert (stats["wins"], stats["losses"]) == (2, 2)
    assert stats["win_rate"] == 0.4  # 2 wins / 5 trades
    assert stats["gross_profit"] == D("130")  # 100 + 30
    assert stats["gross_loss"] == D("-70")  # -50 - 20
    assert stats["profit_factor"] == 1.8571  # 130 / 70 = 1.857142...
    assert stats["expectancy"] == D("12")  # (100 - 50 + 30 - 20 + 0) / 5 = 60 / 5
    assert stats["avg_win"] == D("65")  # 130 / 2
    assert stats["avg_loss"] == D("-35")  # -70 / 2
    assert stats["realized_pnl"] == D("60")
    assert stats["fees_paid"] == D("5.5")  # 2 + 1 + 1 + 1 + 0.5
    assert stats["per_symbol"] == {
        "BTCUSDT": {"trades": 2, "realized_pnl": D("50"), "win_rate": 0.5},
        "ETHUSDT": {"trades": 3, "realized_pnl": D("10"), "win_rate": 0.3333},  # 1 / 3
    }
    # by the UTC day the trade closed: 100 - 50 on the 20th, 30 - 20 + 0 on the 21st
    assert stats["per_day"] == [
        {"date": "2026-11-20", "realized_pnl": D("50"), "trades": 2},
        {"date": "2026-11-21", "realized_pnl": D("10"), "trades": 3},
    ]


def test_trade_stats_money_is_quantized_to_8_places_and_ratios_are_floats():
    # expectancy 1 / 3 = 0.333333333... -> 0.33333333
    stats = analytics.trade_stats([closed("BTCUSDT", p, "0", ms(2026, 1, 1)) for p in "100"])
    assert stats["expectancy"] == D("0.33333333")
    assert stats["expectancy"].as_tuple().exponent == -8
    assert stats["realized_pnl"].as_tuple().exponent == -8
    assert isinstance(stats["win_rate"], float)


def test_trade_stats_without_trades_is_zero_totals_and_undefined_ratios():
    stats = analytics.trade_stats([])
    assert stats["trades_count"] == 0
    for key in ("win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss"):
        assert stats[key] is None
    assert stats["realized_pnl"] == 0
    assert stats["fees_paid"] == 0
    assert stats["per_symbol"] == {}
    assert stats["per_day"] == []


def test_trade_stats_all_wins_has_no_profit_factor_and_no_average_loss():
    stats = analytics.trade_stats(
        [closed("BTCUSDT", "10", "1", ms(2026, 1, 1)), closed("BTCUSDT", "30", "1", ms(2026, 1, 2))]
    )
    assert stats["win_rate"] == 1.0
    assert stats["profit_factor"] is None  # 40 / 0: undefined, not infinity
    assert stats["avg_win"] == D("20")
    assert stats["avg_loss"] is None


def test_trade_stats_all_losses_has_profit_factor_zero():
    stats = analytics.trade_stats(
        [
            closed("BTCUSDT", "-10", "1", ms(2026, 1, 1)),
            closed("ETHUSDT", "-5", "1", ms(2026, 1, 1)),
        ]
    )
    assert stats["win_rate"] == 0.0
    assert stats["profit_factor"] == 0.0  # 0 / 15
    assert stats["avg_win"] is None
    assert stats["avg_loss"] == D("-7.5")  # -15 / 2
    assert stats["expectancy"] == D("-7.5")


def test_closed_trade_from_an_engine_trade_is_net_of_fees_and_funding():
    trade = Trade(
        id=7,
        symbol="BTCUSDT",
        market=Market.FUTURES,
        direction=Direction.SHORT,
        quantity=D("0"),
        entry_price=D("50000"),
        opened_ms=1_000,
        status=TradeStatus.CLOSED,
        closed_ms=5_000,
        fees=D("2"),
        realized_pnl=D("100"),
        funding=D("-1"),
    )
    # 100 - 2 + (-1) = 97
    assert ClosedTrade.from_trade(trade) == ClosedTrade(
        "BTCUSDT", "short", D("97"), D("2"), 1_000, 5_000
    )
    trade.closed_ms = None
    with pytest.raises(ValueError):
        ClosedTrade.from_trade(trade)


# --------------------------------------------------------------------------- equity_stats

T0 = ms(2026, 1, 1)
# 100 at 00:00 of day 0, then one point at noon of each day: daily closes 110, 99, 108.9,
# 119.79, so daily returns +10 %, -10 %, +10 %, +10 %.
CURVE = [
    (T0, D("100")),
    (T0 + 12 * HOUR_MS, D("110")),
    (T0 + DAY_MS + 12 * HOUR_MS, D("99")),
    (T0 + 2 * DAY_MS + 12 * HOUR_MS, D("108.9")),
    (T0 + 3 * DAY_MS + 12 * HOUR_MS, D("119.79")),
]


def test_equity_stats_on_a_hand_computed_example():
    stats = analytics.equity_stats(CURVE)
    # returns r = [0.1, -0.1, 0.1, 0.1]: mean 0.05; deviations 0.05, -0.15, 0.05, 0.05;
    # squares sum 0.0025 + 0.0225 + 0.0025 + 0.0025 = 0.03; / (4 - 1) = 0.01; std 0.1
    # Sharpe = 0.05 / 0.1 x sqrt(365) = 0.5 x 19.10497 = 9.5525
    assert stats["sharpe"] == pytest.approx(round(0.5 * SQRT_365, 4), abs=1e-4)
    assert stats["sharpe"] == 9.5525
    # downside: min(r, 0)^2 = [0, 0.01, 0, 0], mean 0.0025, sqrt 0.05
    # Sortino = 0.05 / 0.05 x sqrt(365) = 19.1050
    assert stats["sortino"] == 19.105
    # peak 110, trough 99: (110 - 99) / 110 = 10 %
    assert stats["max_drawdown_pct"] == 10.0
    # 119.79 / 100 - 1 = 19.79 %
    assert stats["total_return_pct"] == 19.79
    # span 3.5 days: (1.1979 ^ (365 / 3.5) - 1) x 100; calmar = that / 10
    cagr = (1.1979 ** (365 / 3.5) - 1) * 100
    assert stats["cagr_pct"] == pytest.approx(cagr, rel=1e-9)
    assert stats["calmar"] == pytest.approx(cagr / 10, rel=1e-9)


def test_equity_stats_with_periods_per_year_uses_the_points_as_periods():
    stats = analytics.equity_stats(CURVE[1:], periods_per_year=12)
    # returns between points: [-0.1, 0.1, 0.1], mean 0.0333..., std (ddof 1) 0.11547
    r = np.array([99 / 110 - 1, 108.9 / 99 - 1, 119.79 / 108.9 - 1])
    assert stats["sharpe"] == round(r.mean() / r.std(ddof=1) * math.sqrt(12), 4)
    # downside sqrt(0.01 / 3) = 0.057735; Sortino = 0.0333 / 0.057735 x sqrt(12) = 2.0
    assert stats["sortino"] == 2.0


def test_equity_stats_cagr_and_calmar_over_two_years():
    points = [(T0, D("100")), (T0 + 365 * DAY_MS, D("80")), (T0 + 730 * DAY_MS, D("121"))]
    stats = analytics.equity_stats(points)
    # (121 / 100) ^ (365 / 730) = 1.1 -> 10 %; drawdown (100 - 80) / 100 = 20 %; 10 / 20
    assert stats["total_return_pct"] == 21.0
    assert stats["cagr_pct"] == 10.0
    assert stats["max_drawdown_pct"] == 20.0
    assert stats["calmar"] == 0.5


def test_equity_stats_sorts_points_by_time():
    assert analytics.equity_stats(list(reversed(CURVE))) == analytics.equity_stats(CURVE)


def test_equity_stats_without_points_is_all_undefined():
    assert analytics.equity_stats([]) == {
        "max_drawdown_pct": None,
        "sharpe": None,
        "sortino": None,
        "total_return_pct": None,
        "cagr_pct": None,
        "calmar": None,
    }


def test_equity_stats_of_one_point_has_no_drawdown_and_no_ratios():
    assert analytics.equity_stats([(T0, D("100"))]) == {
        "max_drawdown_pct": 0.0,
        "sharpe": None,
        "sortino": None,
        "total_return_pct": 0.0,
        "cagr_pct": None,  # spans less than a day
        "calmar": None,
    }


def test_equity_stats_of_a_flat_curve_has_no_sharpe_or_sortino():
    points = [(T0 + i * DAY_MS, D("100")) for i in range(10)]
    stats = analytics.equity_stats(points)
    assert stats["sharpe"] is None  # std 0
    assert stats["sortino"] is None  # no downside
    assert stats["max_drawdown_pct"] == 0.0
    assert stats["cagr_pct"] == 0.0
    assert stats["calmar"] is None  # drawdown 0


def test_equity_stats_of_a_rising_curve_has_a_sharpe_but_no_sortino():
    points = [(T0 + i * DAY_MS, D(100 + i * i)) for i in range(10)]
    stats = analytics.equity_stats(points)
    assert stats["sharpe"] > 0
    assert stats["sortino"] is None


def test_equity_stats_of_a_wiped_out_account_is_a_full_drawdown():
    stats = analytics.equity_stats(
        [(T0, D("100")), (T0 + DAY_MS, D("50")), (T0 + 2 * DAY_MS, D("0"))]
    )
    assert stats["max_drawdown_pct"] == 100.0
    assert stats["total_return_pct"] == -100.0
    assert stats["cagr_pct"] == -100.0
    # returns [0, -0.5, -1]: all finite; nothing is NaN or infinite
    for value in stats.values():
        assert value is None or math.isfinite(value)


def test_equity_stats_never_returns_infinity_for_an_exploding_curve():
    stats = analytics.equity_stats([(T0, D("1")), (T0 + DAY_MS, D("1e30"))])
    assert stats["cagr_pct"] is None  # (1e30) ^ 365 overflows a float
    assert stats["calmar"] is None


def test_equity_stats_refuses_a_non_positive_period_count():
    with pytest.raises(ValueError):
        analytics.equity_stats(CURVE, periods_per_year=0)


def _reference(times_ms: list[int], values: list[float]) -> dict[str, float | None]:
    """Sharpe, Sortino and max drawdown the pandas way, written independently."""
    s = pd.Series(values, index=pd.to_datetime(times_ms, unit="ms", utc=True))
    daily = s.resample("1D").last().ffill()
    series = pd.concat([pd.Series([values[0]]), pd.Series(daily.to_numpy())], ignore_index=True)
    r = series.pct_change().dropna()
    out: dict[str, float | None] = {"sharpe": None, "sortino": None}
    if len(r) >= 2 and r.std(ddof=1) > 1e-12:
        out["sharpe"] = r.mean() / r.std(ddof=1) * SQRT_365
    downside = math.sqrt((r.clip(upper=0) ** 2).mean()) if len(r) else 0.0
    if len(r) >= 2 and downside > 1e-12:
        out["sortino"] = r.mean() / downside * SQRT_365
    peak = s.cummax()
    out["max_drawdown_pct"] = float(((peak - s) / peak).max() * 100)
    return out


def _assert_matches(stats: dict, ref: dict) -> None:
    for key in ("sharpe", "sortino", "max_drawdown_pct"):
        if ref[key] is None:
            assert stats[key] is None, key
        else:
            assert stats[key] == pytest.approx(ref[key], abs=6e-5, rel=1e-9), key


@pytest.mark.parametrize("seed", range(8))
def test_equity_stats_matches_pandas_on_a_random_walk(seed):
    rng = np.random.default_rng(seed)
    n = 400
    gaps = rng.integers(1, 3 * DAY_MS // 2, size=n)  # irregular, some days without points
    times = (T0 + np.cumsum(gaps)).tolist()
    values = (10_000 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, size=n)))).round(8).tolist()
    points = [(t, D(repr(v))) for t, v in zip(times, values, strict=True)]
    _assert_matches(analytics.equity_stats(points), _reference(times, values))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=5 * DAY_MS),
            st.decimals(min_value=1, max_value=1_000_000, places=2),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_equity_stats_matches_pandas_on_any_curve(steps):
    times = np.cumsum([gap for gap, _ in steps]).tolist()
    points = [(T0 + t, value) for t, (_, value) in zip(times, steps, strict=True)]
    ref = _reference([t for t, _ in points], [float(v) for _, v in points])
    _assert_matches(analytics.equity_stats(points), ref)


# --------------------------------------------------------------------------- equity curve


def test_equity_points_sum_the_ledger_in_time_order_and_add_unrealized_at_the_end():
    ledger = [(1_000, D("-5")), (1_000, D("100")), (2_000, D("-50")), (500, D("10"))]
    points = analytics.equity_points(D("10000"), ledger, D("25"), 3_000)
    # 500: 10,000 + 10; 1,000: + 100 - 5 (one instant, one point); 2,000: - 50;
    # now 3,000: 10,055 + 25 unrealized
    assert points == [
        (500, D("10010")),
        (1_000, D("10105")),
        (2_000, D("10055")),
        (3_000, D("10080")),
    ]


def test_equity_points_put_unrealized_on_the_last_entry_when_it_is_now():
    points = analytics.equity_points(D("0"), [(1_000, D("10000")), (2_000, D("-1"))], D("5"), 2_000)
    assert points == [(1_000, D("10000")), (2_000, D("10004"))]


def test_equity_curve_without_ledger_is_one_point_now():
    curve = analytics.equity_curve(D("10000"), [], D("-12.5"), 7_000)
    assert curve == [{"time": 7_000, "equity": "9987.50000000"}]


def test_equity_curve_renders_8_place_strings():
    curve = analytics.equity_curve(D("0"), [(1, D("10000")), (2, D("0.123456789"))], D("0"), 3)
    assert curve == [
        {"time": 1, "equity": "10000.00000000"},
        {"time": 2, "equity": "10000.12345679"},
        {"time": 3, "equity": "10000.12345679"},
    ]


def test_equity_curve_downsamples_keeping_ends_and_extremes():
    rng = np.random.default_rng(1)
    amounts = rng.normal(0, 10, size=10_000).round(2)
    amounts[3_333] = 5_000  # a spike: the highest equity
    amounts[3_334] = -10_000  # a crash: the lowest equity
    ledger = [(i * 1_000, D(repr(float(a)))) for i, a in enumerate(amounts)]
    full = analytics.equity_points(D("100000"), ledger, D("0"), 10_000_000)
    curve = analytics.equity_curve(D("100000"), ledger, D("0"), 10_000_000, max_points=500)

    assert len(full) == 10_001
    assert len(curve) <= 500
    assert curve[0] == {"time": full[0][0], "equity": format(full[0][1].quantize(D("1e-8")), "f")}
    assert curve[-1]["time"] == full[-1][0]
    times = [p["time"] for p in curve]
    assert times == sorted(set(times))
    equities = [D(p["equity"]) for p in curve]
    assert max(equities) == max(e for _, e in full)
    assert min(equities) == min(e for _, e in full)


def test_equity_curve_keeps_every_point_up_to_max_points():
    ledger = [(i, D(1)) for i in range(1, 10)]  # 9 entries + now = 10 points
    assert len(analytics.equity_curve(D("0"), ledger, D("0"), 100, max_points=10)) == 10
    assert len(analytics.equity_curve(D("0"), ledger, D("0"), 100, max_points=9)) <= 9


def test_equity_curve_refuses_fewer_than_four_points():
    with pytest.raises(ValueError):
        analytics.equity_curve(D("0"), [], D("0"), 1, max_points=3)
