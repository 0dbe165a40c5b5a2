"""The backtester core (trading/backtest): hand-computed cases, fast path == reference loop,
metrics. Pure: no database."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest

from trading import engine as core
from trading.backtest import (
    BacktestConfig,
    backtest_metrics,
    run_backtest,
    run_backtest_reference,
)
from trading.strategies.frames import frame_of, shipped_candles

SYMBOL = "BTCUSDT"
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
Q8 = Decimal("0.00000001")


def _engine() -> core.Engine:
    return core.Engine(
        fees=core.FeeSchedule(),
        slippage=core.SlippageModel(mode="off"),
        rules={SYMBOL: core.rules_for(SYMBOL)},
    )


def _candles(rows: list[tuple[float, float, float, float]], start: int = T0) -> pd.DataFrame:
    values = np.array([[o, h, low, c, 1.0] for o, h, low, c in rows], dtype=np.float64)
    return frame_of(start + np.arange(len(rows), dtype=np.int64) * HOUR, values)


def _signals(candles: pd.DataFrame, marks: dict[int, int], **levels: dict[int, float]):
    signal = np.zeros(len(candles), dtype=np.int8)
    for i, value in marks.items():
        signal[i] = value
    frame = pd.DataFrame(
        {"signal": signal, "stop_loss": np.nan, "take_profit": np.nan}, index=candles.index
    )
    for column, values in levels.items():
        for i, value in values.items():
            frame.iloc[i, frame.columns.get_loc(column)] = value
    return frame


def sma_cross(candles: pd.DataFrame, fast: int = 10, slow: int = 30) -> pd.DataFrame:
    """SMA cross in plain pandas: +1 when fast crosses above slow, -1 below."""
    close = candles["close"]
    above = (close.rolling(fast).mean() > close.rolling(slow).mean()).to_numpy()
    signal = np.zeros(len(close), dtype=np.int8)
    change = above[1:] != above[:-1]
    signal[1:][change & above[1:]] = 1
    signal[1:][change & ~above[1:]] = -1
    signal[:slow] = 0
    return pd.DataFrame(
        {"signal": signal, "stop_loss": np.nan, "take_profit": np.nan}, index=candles.index
    )


def _qty(equity: Decimal, pct: Decimal, price: Decimal, leverage: int = 1) -> Decimal:
    """Paper trading's equity_pct sizing: pct % of equity as margin, at the open's price."""
    raw = equity * pct / 100 * leverage / price
    return core.round_qty(raw, core.rules_for(SYMBOL))


def _fee(notional: Decimal, rate: Decimal) -> Decimal:
    return (notional * rate).quantize(Q8, ROUND_HALF_UP)


# ------------------------------------------------------------------ hand-computed cases


def test_long_is_entered_at_the_next_open_and_pays_the_exact_fees():
    candles = _candles(
        [
            (30000, 30100, 29900, 30050),
            (30050, 30400, 30000, 30300),  # entry at this open
            (30300, 30600, 30200, 30500),  # the -1 signal here...
            (30550, 30700, 30500, 30600),  # ...exits at this open
            (30600, 30650, 30550, 30600),
        ]
    )
    signals = _signals(candles, {0: 1, 2: -1})
    fee = D("0.001")
    config = BacktestConfig(
        SYMBOL, fee_rate=fee, allow_short=False, funding=False, position_pct=D("80")
    )
    result = run_backtest(candles, signals, config, engine=_engine())

    qty = _qty(D("10000"), D("80"), D("30050"))
    assert qty == D("0.26622")  # 8,000 USDT of margin at 1x / 30,050, down to 0.00001
    fees = _fee(qty * D("30050"), fee) + _fee(qty * D("30550"), fee)
    pnl = (D("30550") - D("30050")) * qty - fees
    [trade] = result.trades
    assert trade["direction"] == "long"
    assert trade["entry_time"] == "2024-01-01T01:00:00Z"
    assert trade["exit_time"] == "2024-01-01T03:00:00Z"
    assert D(trade["entry_price"]) == D("30050")
    assert D(trade["exit_price"]) == D("30550")
    assert D(trade["quantity"]) == qty
    assert D(trade["fees"]) == fees
    assert D(trade["pnl"]) == pnl
    assert trade["exit_reason"] == "signal"
    assert result.final_balance == D("10000") + pnl
    assert result.candles == 5
    # equity: flat, then marked at each close, then the balance
    equity = [e for _, e in result.equity_curve]
    assert equity[0] == 10000.0
    assert equity[1] == pytest.approx(
        float(D("10000") - _fee(qty * D("30050"), fee)) + 250 * float(qty)
    )
    assert equity[-1] == pytest.approx(float(result.final_balance))


def test_entries_are_sized_and_protected_from_the_open_before_slippage_as_paper_trading():
    """Paper trading's equity_pct: pct % of equity as margin x leverage / the snapshot
    price (the open), down to the step; the stop is a percent of that price too. The fill
    itself pays the slippage."""
    candles = _candles(
        [
            (30000, 30010, 29990, 30000),
            (30000, 30050, 29950, 30000),  # short entered at this open, 10 bps worse
            (30000, 30290, 29980, 30200),  # above 1 % over the fill, below 1 % over the open
            (30200, 30310, 30150, 30250),  # through 30300: 1 % over the open
            (30250, 30260, 30240, 30250),
        ]
    )
    signals = _signals(candles, {0: -1})
    config = BacktestConfig(
        SYMBOL,
        leverage=3,
        position_pct=D("50"),
        slippage_bps=D("10"),
        stop_loss_pct=D("1"),
        funding=False,
    )
    for run in (run_backtest, run_backtest_reference):
        [trade] = run(candles, signals, config, engine=_engine()).trades
        assert D(trade["quantity"]) == D("0.5")  # 5,000 x 3 / 30,000, not / 29,970
        assert D(trade["entry_price"]) == D("29970")
        assert trade["exit_reason"] == "stop_loss"
        assert trade["exit_time"] == "2024-01-01T03:00:00Z"
        assert D(trade["exit_price"]) == D("30330.3")  # the stop 30300, 10 bps worse


def test_all_of_the_equity_as_margin_is_refused_because_the_fee_comes_on_top():
    candles = _candles([(30000, 30010, 29990, 30000)] * 4)
    signals = _signals(candles, {0: 1})
    config = BacktestConfig(SYMBOL, position_pct=D("100"), funding=False)
    result = run_backtest(candles, signals, config, engine=_engine())
    assert result.trades == []
    assert [r["rule"] for r in result.rejected] == ["insufficient_margin"]
    assert result.final_balance == D("10000")


def test_a_signal_on_the_last_candle_is_not_acted_on_and_open_trades_close_at_the_end():
    candles = _candles([(30000, 30100, 29900, 30000)] * 3 + [(30000, 30500, 29990, 30400)])
    signals = _signals(candles, {1: -1, 3: 1})
    result = run_backtest(candles, signals, BacktestConfig(SYMBOL, funding=False), engine=_engine())
    [trade] = result.trades
    assert trade["direction"] == "short"
    assert trade["exit_reason"] == "end"
    assert D(trade["exit_price"]) == D("30400")


def test_stop_wins_over_target_when_one_candle_reaches_both():
    candles = _candles(
        [
            (30000, 30010, 29990, 30000),
            (30000, 30050, 29950, 30000),  # long entered at 30000
            (30000, 30500, 29500, 30400),  # reaches the target 30300 and the stop 29700
            (30400, 30500, 30300, 30400),
        ]
    )
    signals = _signals(candles, {0: 1})
    config = BacktestConfig(SYMBOL, stop_loss_pct=D("1"), take_profit_pct=D("1"), funding=False)
    for run in (run_backtest, run_backtest_reference):
        result = run(candles, signals, config, engine=_engine())
        [trade] = result.trades
        assert trade["exit_reason"] == "stop_loss"
        assert D(trade["exit_price"]) == D("29700")
        assert trade["exit_time"] == "2024-01-01T02:00:00Z"


def test_signal_stop_loss_column_wins_over_the_config_percent_and_a_gap_fills_at_the_open():
    candles = _candles(
        [
            (30000, 30010, 29990, 30000),
            (30000, 30050, 29950, 30000),  # short entered at 30000, stop 30200 from the signal
            (30100, 30150, 30050, 30100),
            (30500, 30600, 30400, 30450),  # gaps over the stop: filled at the open
        ]
    )
    signals = _signals(candles, {0: -1}, stop_loss={0: 30200.0})
    config = BacktestConfig(SYMBOL, stop_loss_pct=D("5"), funding=False)
    result = run_backtest(candles, signals, config, engine=_engine())
    [trade] = result.trades
    assert trade["direction"] == "short"
    assert trade["exit_reason"] == "stop_loss"
    assert D(trade["exit_price"]) == D("30500")


def test_liquidation_happens_at_the_engines_liquidation_price():
    candles = _candles(
        [
            (30000, 30010, 29990, 30000),
            (30000, 30100, 29900, 30000),  # 50x long entered at 30000
            (30000, 30050, 28000, 28500),  # far through the liquidation price
            (28500, 28600, 28400, 28500),
        ]
    )
    signals = _signals(candles, {0: 1})
    config = BacktestConfig(SYMBOL, leverage=50, funding=False)
    engine = _engine()
    result = run_backtest(candles, signals, config, engine=engine)

    # the engine's own liquidation price for the same entry
    state = core.AccountState()
    engine.deposit(state, "USDT", D("10000"), T0)
    snap = core.MarketSnapshot(SYMBOL, D("30000"), T0 + HOUR)
    engine.open_trade(
        state,
        symbol=SYMBOL,
        market=core.Market.FUTURES,
        direction=core.Direction.LONG,
        snapshot=snap,
        quantity=_qty(D("10000"), D("95"), D("30000"), 50),
        leverage=50,
    )
    expected = core.position_liquidation_price(state, engine.rules, SYMBOL)
    assert D("29000") < expected < D("30000")

    [trade] = result.trades
    assert trade["exit_reason"] == "liquidation"
    assert D(trade["exit_price"]) == expected
    assert result.final_balance < D("1000")
    reference = run_backtest_reference(candles, signals, config, engine=engine)
    assert reference.trades == result.trades


def test_trailing_stop_follows_the_best_high_and_exits_at_its_level():
    candles = _candles(
        [
            (30000, 30010, 29990, 30000),
            (30000, 31000, 29950, 30900),  # long entered at 30000; best 31000
            (30900, 32000, 30500, 31800),  # best 32000 -> trailing level 31360
            (31800, 31850, 31000, 31100),  # falls through 31360
            (31100, 31200, 31000, 31100),
        ]
    )
    signals = _signals(candles, {0: 1})
    config = BacktestConfig(SYMBOL, trailing_stop_pct=D("2"), funding=False)
    for run in (run_backtest, run_backtest_reference):
        [trade] = run(candles, signals, config, engine=_engine()).trades
        assert trade["exit_reason"] == "trailing_stop"
        assert D(trade["exit_price"]) == D("31360")
        assert trade["exit_time"] == "2024-01-01T03:00:00Z"


def test_funding_is_charged_at_00_08_16_utc_at_the_open_of_that_candle():
    start = T0 + 5 * HOUR  # 05:00
    rows = [(30000 + 10 * k, 30100 + 10 * k, 29900 + 10 * k, 30000 + 10 * k) for k in range(22)]
    candles = _candles(rows, start=start)
    signals = _signals(candles, {0: 1, 20: -1})  # in from 06:00 to 02:00 next day
    fee = D("0.0005")
    config = BacktestConfig(SYMBOL, fee_rate=fee, allow_short=False)
    result = run_backtest(candles, signals, config, engine=_engine())
    [trade] = result.trades
    qty = D(trade["quantity"])
    # 08:00, 16:00 and 00:00 fall at candles 3, 11 and 19; mark = their open
    expected = sum(
        (
            (-qty * D(str(rows[k][0])) * D("0.0001")).quantize(Q8, ROUND_HALF_EVEN)
            for k in (3, 11, 19)
        ),
        D(0),
    )
    assert D(trade["funding"]) == expected < 0
    assert D(trade["pnl"]) == (
        (D(trade["exit_price"]) - D(trade["entry_price"])) * qty - D(trade["fees"]) + expected
    )
    reference = run_backtest_reference(candles, signals, config, engine=_engine())
    assert reference.trades == result.trades
    assert reference.final_balance == result.final_balance

    unfunded = run_backtest(
        candles,
        signals,
        BacktestConfig(SYMBOL, fee_rate=fee, allow_short=False, funding=False),
        engine=_engine(),
    )
    assert D(unfunded.trades[0]["funding"]) == 0
    assert unfunded.final_balance - result.final_balance == -expected


def test_an_entry_the_engine_refuses_is_reported_and_skipped():
    candles = _candles([(30000, 30010, 29990, 30000)] * 4)
    signals = _signals(candles, {0: 1})
    config = BacktestConfig(SYMBOL, initial_balance=D("3"), funding=False)
    result = run_backtest(candles, signals, config, engine=_engine())
    assert result.trades == []
    assert [r["rule"] for r in result.rejected] == ["min_notional"]
    assert result.final_balance == D("3")


# ------------------------------------------------------------------ fast == reference

CONFIGS = {
    "long-short 1x, engine fees": BacktestConfig(SYMBOL),
    "10x stops and targets": BacktestConfig(
        SYMBOL, leverage=10, stop_loss_pct=D("2"), take_profit_pct=D("4")
    ),
    "20x trailing, slippage": BacktestConfig(
        SYMBOL, leverage=20, trailing_stop_pct=D("1.5"), slippage_bps=D("3"), fee_rate=D("0.001")
    ),
    "spot long only, stop and trailing": BacktestConfig(
        SYMBOL, market="spot", stop_loss_pct=D("3"), trailing_stop_pct=D("2")
    ),
    "40x fifth size": BacktestConfig(SYMBOL, leverage=40, position_pct=D("20")),
    "25x all in, liquidated then refused": BacktestConfig(SYMBOL, leverage=25),
    "short targets, 5x": BacktestConfig(
        SYMBOL, leverage=5, take_profit_pct=D("1"), trailing_stop_pct=D("3"), funding=False
    ),
}


@pytest.fixture(scope="module")
def real_hours() -> pd.DataFrame:
    return shipped_candles(SYMBOL, "1h").iloc[-2000:]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fast_path_equals_the_candle_by_candle_reference_on_real_data(name, real_hours):
    config = CONFIGS[name]
    signals = sma_cross(real_hours)
    fast = run_backtest(real_hours, signals, config, engine=_engine())
    slow = run_backtest_reference(real_hours, signals, config, engine=_engine())
    assert len(fast.trades) + len(fast.rejected) > 10
    assert fast.trades == slow.trades
    assert fast.rejected == slow.rejected
    assert fast.final_balance == slow.final_balance
    assert [t for t, _ in fast.equity_curve] == [t for t, _ in slow.equity_curve]
    np.testing.assert_allclose(
        [e for _, e in fast.equity_curve], [e for _, e in slow.equity_curve], rtol=1e-9
    )
    assert fast.metrics["trades"] == len(fast.trades)


def test_the_reference_configs_exercise_every_exit(real_hours):
    signals = sma_cross(real_hours)
    reasons = set()
    for config in CONFIGS.values():
        result = run_backtest(real_hours, signals, config, engine=_engine())
        reasons |= {t["exit_reason"] for t in result.trades}
    assert {"signal", "stop_loss", "take_profit", "trailing_stop", "liquidation"} <= reasons
    shorts = run_backtest(real_hours, signals, CONFIGS["short targets, 5x"], engine=_engine())
    assert any(
        t["direction"] == "short" and t["exit_reason"] == "take_profit" for t in shorts.trades
    )


def test_progress_runs_to_one(real_hours):
    seen: list[float] = []
    run_backtest(
        real_hours,
        sma_cross(real_hours),
        BacktestConfig(SYMBOL),
        engine=_engine(),
        progress=seen.append,
    )
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


def test_equity_curve_is_downsampled_to_2000_points():
    candles = shipped_candles(SYMBOL, "1h").iloc[-5000:]
    result = run_backtest(candles, sma_cross(candles), BacktestConfig(SYMBOL), engine=_engine())
    assert len(result.equity_curve) <= 2000
    assert result.equity_curve[-1][1] == pytest.approx(float(result.final_balance))
    assert result.candles == 5000


# ------------------------------------------------------------------ metrics


def test_metrics_of_a_known_equity_series():
    candles = _candles(
        [(100, 101, 99, 100), (100, 111, 99, 110), (110, 111, 98, 99), (99, 125, 98, 120)]
    )
    equity = pd.Series([100.0, 110.0, 99.0, 121.0], index=candles.index)
    trades = [
        {"pnl": "10", "entry_time_ms": T0, "exit_time_ms": T0 + HOUR},
        {"pnl": "-5", "entry_time_ms": T0 + HOUR, "exit_time_ms": T0 + 2 * HOUR},
        {"pnl": "20", "entry_time_ms": T0 + 2 * HOUR, "exit_time_ms": T0 + 3 * HOUR},
    ]
    m = backtest_metrics(equity, trades, candles=candles, periods_per_year=8760)
    returns = np.array([0.1, -0.1, 121 / 99 - 1])
    assert m["total_return_pct"] == pytest.approx(21.0)
    assert m["max_drawdown_pct"] == pytest.approx(-10.0)
    assert m["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * np.sqrt(8760))
    downside = np.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert m["sortino"] == pytest.approx(returns.mean() / downside * np.sqrt(8760))
    assert m["cagr_pct"] == pytest.approx((1.21 ** (8760 / 4) - 1) * 100)
    assert m["win_rate_pct"] == pytest.approx(200 / 3)
    assert m["profit_factor"] == pytest.approx(6.0)
    assert m["expectancy"] == pytest.approx(25 / 3)
    assert m["exposure_pct"] == pytest.approx(75.0)
    assert m["trades"] == 3
    assert m["buy_and_hold_return_pct"] == pytest.approx(20.0)


def test_metrics_are_none_when_undefined():
    candles = _candles([(100, 101, 99, 100)] * 3)
    equity = pd.Series([100.0] * 3, index=candles.index)
    m = backtest_metrics(equity, [], candles=candles, periods_per_year=365)
    assert m["trades"] == 0
    assert m["total_return_pct"] == 0.0
    assert m["max_drawdown_pct"] == 0.0
    for name in ("sharpe", "sortino", "calmar", "win_rate_pct", "profit_factor", "expectancy"):
        assert m[name] is None
    assert m["exposure_pct"] == 0.0


def test_cagr_and_calmar_over_a_year_of_days():
    days = 365
    index = pd.date_range("2024-01-01", periods=days, freq="D", tz="UTC")
    candles = pd.DataFrame(
        {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=index
    )
    values = np.linspace(100, 150, days)
    values[100] = 80.0  # a 20 %+ drawdown from the running peak
    equity = pd.Series(values, index=index)
    m = backtest_metrics(equity, [], candles=candles, periods_per_year=365)
    assert m["cagr_pct"] == pytest.approx(50.0)
    peak = values[:100].max()
    assert m["max_drawdown_pct"] == pytest.approx((80 / peak - 1) * 100)
    assert m["calmar"] == pytest.approx(50.0 / abs(m["max_drawdown_pct"]))
