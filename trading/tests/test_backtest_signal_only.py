"""The signal-only fast path (trading/backtest/signal_only.py) against the engine.

Every result it gives must be the candle-by-candle reference's (the Decimal engine at
every candle) to the last digit: trades, refusals, final balance and equity. Random
signal streams, leverages, fees, slippage, funding, sizes and balances small enough to
be refused or emptied are thrown at both; configurations it must not take (protection,
spot, a position near liquidation) go to the engine path.
"""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading import engine as core
from trading.backtest import BacktestConfig, run_backtest, run_backtest_reference, signal_only
from trading.backtest.metrics import TradeColumns, _exposure
from trading.strategies.frames import iso_seconds, shipped_candles

SYMBOL = "BTCUSDT"
DAY_MS = 24 * 3600 * 1000


def _engine() -> core.Engine:
    return core.Engine(
        fees=core.FeeSchedule(),
        slippage=core.SlippageModel(mode="off"),
        rules={SYMBOL: core.rules_for(SYMBOL)},
    )


@pytest.fixture(scope="module")
def hours() -> pd.DataFrame:
    return shipped_candles(SYMBOL, "1h").iloc[-700:]


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    """Real hours resampled to days: several funding instants fall inside one candle."""
    frame = shipped_candles(SYMBOL, "1h").iloc[-24 * 200 :]
    return (
        frame.resample("1D")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )


def _random_signals(candles: pd.DataFrame, seed: int, density: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = np.where(rng.random(len(candles)) < density, rng.choice([-1, 1], len(candles)), 0)
    return pd.DataFrame(
        {"signal": signal.astype(np.int8), "stop_loss": np.nan, "take_profit": np.nan},
        index=candles.index,
    )


def _same(fast, slow) -> None:
    assert fast.trades == slow.trades
    assert fast.rejected == slow.rejected
    assert fast.final_balance == slow.final_balance
    assert [t for t, _ in fast.equity_curve] == [t for t, _ in slow.equity_curve]
    # the reference values each candle in Decimal, the others in floats: equal to ~1e-15
    np.testing.assert_allclose(
        [e for _, e in fast.equity_curve], [e for _, e in slow.equity_curve], rtol=1e-12
    )
    assert fast.metrics.keys() == slow.metrics.keys()
    for name, value in slow.metrics.items():
        if value is None:
            assert fast.metrics[name] is None, name
        else:
            assert fast.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


configs = st.builds(
    BacktestConfig,
    symbol=st.just(SYMBOL),
    initial_balance=st.sampled_from([D("40"), D("250"), D("10000"), D("3000000")]),
    leverage=st.sampled_from([1, 2, 3, 7, 20, 60, 125]),
    position_pct=st.sampled_from([D("5"), D("33.3"), D("95"), D("99.9"), D("100")]),
    fee_rate=st.sampled_from([None, D("0"), D("0.001"), D("0.0004")]),
    slippage_bps=st.sampled_from([D("0"), D("3"), D("25")]),
    allow_short=st.booleans(),
    funding=st.booleans(),
    funding_rate=st.sampled_from([D("0.0001"), D("-0.0003"), D("0.01")]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    config=configs,
    seed=st.integers(0, 10_000),
    density=st.sampled_from([0.02, 0.1, 0.5]),
    daily=st.booleans(),
)
def test_signal_only_equals_the_engine_candle_by_candle(hours, days, config, seed, density, daily):
    candles = days if daily else hours
    signals = _random_signals(candles, seed, density)
    fast = run_backtest(candles, signals, config, engine=_engine())
    slow = run_backtest_reference(candles, signals, config, engine=_engine())
    _same(fast, slow)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    config=configs,
    seed=st.integers(0, 10_000),
    density=st.sampled_from([0.02, 0.1, 0.5]),
    factor=st.sampled_from([1.000000123456789, 1 / 3, 0.0001234567]),
)
def test_prices_off_the_cent_grid_equal_the_engine(hours, config, seed, density, factor):
    """Prices of up to 17 digits (the fast path rounds them as the engine does instead of
    taking the cent grid's shortcuts), some below a dollar."""
    candles = hours.iloc[-300:].copy()
    prices = ["open", "high", "low", "close"]
    candles[prices] = candles[prices].to_numpy() * factor
    signals = _random_signals(candles, seed, density)
    fast = run_backtest(candles, signals, config, engine=_engine())
    slow = run_backtest_reference(candles, signals, config, engine=_engine())
    _same(fast, slow)


def test_a_sweep_sized_run_takes_the_fast_path_and_pays_funding(hours):
    signals = _random_signals(hours, 7, 0.05)
    config = BacktestConfig(SYMBOL, leverage=2, funding_rate=D("0.001"))
    fast = run_backtest(hours, signals, config, engine=_engine())
    assert fast.path == "signal-only"
    assert len(fast.trades) > 20
    assert any(D(t["funding"]) != 0 for t in fast.trades)
    _same(fast, run_backtest_reference(hours, signals, config, engine=_engine()))


def test_refusals_are_the_engines_own(hours):
    """A tiny account drained by fees: entries refused for min notional (5 USDT), with the
    engine's message."""
    signals = _random_signals(hours, 3, 0.1)
    config = BacktestConfig(SYMBOL, initial_balance=D("7"), fee_rate=D("0.01"))
    fast = run_backtest(hours, signals, config, engine=_engine())
    assert fast.path == "signal-only"
    assert fast.rejected and {r["rule"] for r in fast.rejected} <= {
        "min_notional",
        "insufficient_margin",
        "quantity",
    }
    _same(fast, run_backtest_reference(hours, signals, config, engine=_engine()))


def test_a_position_that_may_be_liquidated_goes_to_the_engine(hours):
    signals = _random_signals(hours, 11, 0.02)
    config = BacktestConfig(SYMBOL, initial_balance=D("1000"), leverage=100, position_pct=D("90"))
    fast = run_backtest(hours, signals, config, engine=_engine())
    assert fast.path == "events"
    assert "liquidation" in {t["exit_reason"] for t in fast.trades}
    _same(fast, run_backtest_reference(hours, signals, config, engine=_engine()))


@pytest.mark.parametrize(
    "config",
    [
        BacktestConfig(SYMBOL, stop_loss_pct=D("2")),
        BacktestConfig(SYMBOL, take_profit_pct=D("2")),
        BacktestConfig(SYMBOL, trailing_stop_pct=D("2")),
        BacktestConfig(SYMBOL, market="spot"),
    ],
    ids=["stop-loss", "take-profit", "trailing", "spot"],
)
def test_protection_and_spot_take_the_engine_path(hours, config):
    signals = _random_signals(hours, 5, 0.05)
    assert run_backtest(hours, signals, config, engine=_engine()).path == "events"


def test_a_signal_stop_column_takes_the_engine_path(hours):
    signals = _random_signals(hours, 5, 0.05)
    signals.loc[signals.index[10], "stop_loss"] = 1.0
    result = run_backtest(hours, signals, BacktestConfig(SYMBOL), engine=_engine())
    assert result.path == "events"


def test_a_quote_too_long_to_be_exact_goes_to_the_engine(hours):
    """Prices of 17 significant digits and quantities of 13 make products of 30 digits:
    the path takes fills' quotes as exact, so it hands such a backtest to the engine."""
    candles = hours.iloc[-120:].copy()
    prices = ["open", "high", "low", "close"]
    candles[prices] = candles[prices].to_numpy() * 1.000000123456789
    signals = _random_signals(candles, 13, 0.1)
    config = BacktestConfig(SYMBOL, initial_balance=D("3000000000000"), fee_rate=D("0"))
    fast = run_backtest(candles, signals, config, engine=_engine())
    assert fast.path == "events"
    _same(fast, run_backtest_reference(candles, signals, config, engine=_engine()))


cent_prices = st.integers(1, 2**41 * 100).map(lambda cents: cents / 100.0)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False) | cent_prices))
def test_decimal_prices_are_the_engines(values):
    """signal_only.decimals makes a cent-grid price without repr: the same Decimal, digits
    and exponent, as Decimal(repr(x)) (the runner's snapshot price)."""
    made = signal_only.decimals(np.array(values, dtype=np.float64))
    assert [d.as_tuple() for d in made] == [D(repr(float(x))).as_tuple() for x in values]


@settings(max_examples=300, deadline=None)
@given(
    stamps=st.lists(
        st.integers(-(10**13), 300_000_000_000_000)
        | st.integers(1_700_000_000_000, 1_700_000_000_000 + 40 * DAY_MS),
        max_size=60,
    ),
    repeats=st.integers(1, 3),
)
def test_iso_seconds_are_numpys(stamps, repeats):
    ms = np.repeat(np.array(stamps, dtype=np.int64), repeats)
    expected = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="s", timezone="UTC")
    assert iso_seconds(ms) == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(
    spans=st.lists(st.tuples(st.integers(-3, 30), st.integers(0, 12)), max_size=12),
    sort=st.booleans(),
)
def test_exposure_counts_each_held_candle_once(spans, sort):
    """Trades one after another take a shortcut (the sum of their spans); overlapping or
    unordered ones are counted candle by candle. Both count what the definition says."""
    times = np.arange(20, dtype=np.int64) * 60_000
    pairs = sorted(spans) if sort else spans
    entries = np.array([start * 60_000 for start, _ in pairs], dtype=np.int64)
    exits = np.array([(start + length) * 60_000 for start, length in pairs], dtype=np.int64)
    held = set()
    for entry, leave in zip(entries, exits, strict=True):
        first = int(np.searchsorted(times, entry))
        last = max(int(np.searchsorted(times, leave)), first + 1)
        held.update(range(first, min(last, len(times))))
    columns = TradeColumns(entries, exits, np.zeros(len(pairs)))
    assert _exposure(columns, times) == len(held) / len(times)
