"""The built-in strategies on real BTCUSDT candles, against references written in plain pandas.

Each strategy's signals are recomputed here from pandas rolling means, ``ewm`` and rolling
standard deviations (not TA-Lib, not the strategy's helpers) and must match bar for bar: a
+1 exactly where the condition starts to hold, a -1 exactly where its opposite starts, 0
everywhere else, so a strategy that signals on every bar of a trend, on the wrong side, one
bar late or during warm-up fails. Recursive indicators (EMA, RSI, MACD) are seeded
differently by pandas and TA-Lib, so they are compared only after the seed has decayed, and
bars where the two lines are within 1e-9 of each other (a tie either way) are skipped.
No database is needed.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest

from trading.strategies import StrategyError, strategy_get, strategy_list
from trading.strategies.frames import candles_read, shipped_candles_path

BUILTIN = {
    "sma_cross",
    "ema_cross",
    "rsi_reversion",
    "macd_trend",
    "bollinger_breakout",
    "ml_signal",
}
COMPUTABLE = sorted(BUILTIN - {"ml_signal"})
SLICE = 3_000
# Bars after which pandas' and TA-Lib's differently seeded recursive averages agree.
SEED_DECAY = 600


@functools.cache
def btc_1h() -> pd.DataFrame:
    """The last 3,000 shipped BTCUSDT 1h candles (2025), read through the strategies' reader."""
    return candles_read(shipped_candles_path("BTCUSDT", "1h")).iloc[-SLICE:]


# --- independent references --------------------------------------------------------------


def ref_crossings(a: pd.Series, b: pd.Series, scale) -> tuple[pd.Series, pd.Series]:
    """+1/-1 where ``a`` starts to be above/below ``b``, and a mask of near-tie bars.

    A near tie is a bar, or the bar before it, where the lines are within 1e-8 of ``scale``
    (the close, or 100 for RSI): the strategies call lines within 1e-9 level, and the
    reference's arithmetic differs from TA-Lib's in the last bits.
    """
    diff = a - b
    prev = diff.shift(1)
    expected = pd.Series(0, index=a.index)
    expected[(diff > 0) & (prev <= 0)] = 1
    expected[(diff < 0) & (prev >= 0)] = -1
    near = diff.abs() < 1e-8 * scale
    tie = near | near.shift(1, fill_value=False)
    return expected, tie


def ref_ema(x: pd.Series, n: int) -> pd.Series:
    return x.ewm(span=n, adjust=False).mean()


def ref_rsi(close: pd.Series, n: int) -> pd.Series:
    change = close.diff()
    gain = change.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    loss = (-change).clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    return 100 - 100 / (1 + gain / loss)


def reference(name: str, candles: pd.DataFrame, p: dict) -> tuple[pd.Series, pd.Series, int]:
    """(expected signal, bars to skip as ties, first bar to compare from)."""
    close = candles["close"]
    if name == "sma_cross":
        fast, slow = close.rolling(p["fast"]).mean(), close.rolling(p["slow"]).mean()
        return (*ref_crossings(fast, slow, close), 0)
    if name == "ema_cross":
        fast, slow = ref_ema(close, p["fast"]), ref_ema(close, p["slow"])
        return (*ref_crossings(fast, slow, close), SEED_DECAY)
    if name == "macd_trend":
        line = ref_ema(close, p["fast"]) - ref_ema(close, p["slow"])
        return (*ref_crossings(line, ref_ema(line, p["signal"]), close), SEED_DECAY)
    if name == "rsi_reversion":
        rsi = ref_rsi(close, p["period"])
        up, up_tie = ref_crossings(rsi, pd.Series(p["oversold"], index=close.index), 100)
        down, down_tie = ref_crossings(rsi, pd.Series(p["overbought"], index=close.index), 100)
        expected = up.where(up == 1, 0) + down.where(down == -1, 0)
        return expected, up_tie | down_tie, SEED_DECAY
    if name == "bollinger_breakout":
        mid = close.rolling(p["period"]).mean()
        width = p["std"] * close.rolling(p["period"]).std(ddof=0)
        up, up_tie = ref_crossings(close, mid + width, close)
        down, down_tie = ref_crossings(close, mid - width, close)
        expected = up.where(up == 1, 0) + down.where(down == -1, 0)
        return expected, up_tie | down_tie, 0
    raise AssertionError(name)


PARAM_SETS = {
    "sma_cross": [{}, {"fast": 5, "slow": 20}, {"fast": 1, "slow": 100}],
    "ema_cross": [{}, {"fast": 5, "slow": 50}],
    "rsi_reversion": [{}, {"period": 7, "oversold": 25, "overbought": 80}],
    "macd_trend": [{}, {"fast": 5, "slow": 35, "signal": 5}],
    "bollinger_breakout": [{}, {"period": 50, "std": 2.5}, {"period": 10, "std": 1}],
}


# --- the registry ------------------------------------------------------------------------


def test_every_builtin_is_listed_with_a_json_schema():
    listed = {s.name: s for s in strategy_list()}
    assert set(listed) >= BUILTIN
    for name in BUILTIN:
        described = json.loads(json.dumps(listed[name].as_dict()))
        assert described["name"] == name and described["description"]
        for param in described["params"]:
            assert param["type"] in {"int", "float"}
            assert param["minimum"] <= param["default"] <= param["maximum"]
            assert param["description"]


def test_unknown_strategy_is_refused_naming_the_known_ones():
    with pytest.raises(StrategyError) as caught:
        strategy_get("moon_shot")
    assert caught.value.field == "strategy"
    assert "moon_shot" in caught.value.message and "sma_cross" in caught.value.message


# --- signals -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPUTABLE)
def test_signals_are_minus_one_zero_one_with_some_of_each(name):
    strategy = strategy_get(name)
    candles = btc_1h()
    out = strategy.signals(candles, strategy.validate({}))
    assert list(out.columns) == ["signal", "stop_loss", "take_profit"]
    assert out.index.equals(candles.index)
    assert out["signal"].dtype == np.int8
    counts = out["signal"].value_counts().to_dict()
    assert set(counts) == {-1, 0, 1}, counts
    assert counts[1] >= 10 and counts[-1] >= 10, counts
    assert counts[0] > 0.8 * len(candles), "signals belong on crossing bars only"


@pytest.mark.parametrize(
    ("name", "raw"), [(name, raw) for name, sets in PARAM_SETS.items() for raw in sets]
)
def test_signals_are_exactly_the_crossings_of_a_pandas_reference(name, raw):
    strategy = strategy_get(name)
    candles = btc_1h()
    params = strategy.validate(raw)
    actual = strategy.signals(candles, params)["signal"].astype(int)
    expected, tie, start = reference(name, candles, params)
    compared = ~tie.to_numpy()
    compared[:start] = False
    assert compared.sum() > SLICE - start - 50, "too many bars skipped as ties"
    diff = np.flatnonzero((actual.to_numpy() != expected.to_numpy()) & compared)
    assert diff.size == 0, (
        f"{name} {params}: {diff.size} bars differ from the reference, first at "
        f"{candles.index[diff[0]]}: got {actual.iloc[diff[0]]}, expected {expected.iloc[diff[0]]}"
    )
    assert (expected[compared] == 1).sum() >= 5 and (expected[compared] == -1).sum() >= 5


@pytest.mark.parametrize("name", COMPUTABLE)
def test_a_signal_is_never_repeated_on_the_next_bar(name):
    strategy = strategy_get(name)
    signal = strategy.signals(btc_1h(), strategy.validate({}))["signal"].to_numpy()
    repeated = (signal[1:] == signal[:-1]) & (signal[1:] != 0)
    assert not repeated.any()


@pytest.mark.parametrize(
    ("name", "quiet_bars"),
    [
        ("sma_cross", 50),  # slow SMA's first value at bar 49; a crossing needs bar 49 and 50
        ("ema_cross", 26),
        ("rsi_reversion", 15),  # first RSI at bar 14
        ("macd_trend", 34),  # MACD and its signal line first exist at bar 33
        ("bollinger_breakout", 20),
    ],
)
def test_no_signal_before_the_indicators_exist(name, quiet_bars):
    strategy = strategy_get(name)
    params = strategy.validate({})
    candles = btc_1h()
    signal = strategy.signals(candles, params)["signal"].to_numpy()
    assert not signal[:quiet_bars].any()
    assert strategy.warmup(params) > quiet_bars
    # On the prefix alone (all NaN but the last bar or two) nothing fires either.
    assert not strategy.signals(candles.iloc[:quiet_bars], params)["signal"].any()


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("sma_cross", {}),
        ("ema_cross", {}),
        ("bollinger_breakout", {"std": 0.5}),
    ],
)
def test_a_condition_true_from_the_first_indicator_value_is_not_a_crossing(name, raw):
    # A steady 1% rise per bar: the fast average is above the slow one (and the close above
    # a 0.5-deviation upper band) from the first bar both exist. Counting the NaN bar before
    # as "below" would make a buy there.
    index = pd.date_range("2025-01-01", periods=400, freq="h", tz="UTC", name="open_time")
    close = 100 * 1.01 ** np.arange(400.0)
    candles = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
        index=index,
    )
    strategy = strategy_get(name)
    assert not strategy.signals(candles, strategy.validate(raw))["signal"].any()


def test_ml_signal_is_listed_and_needs_to_know_which_market_the_candles_are():
    strategy = strategy_get("ml_signal")
    assert strategy in strategy_list()
    params = strategy.validate({"threshold": 0.7})
    assert params == {"threshold": 0.7}
    with pytest.raises(StrategyError) as caught:
        strategy.signals(btc_1h(), params)  # no symbol / timeframe on the frame
    assert caught.value.field == "strategy"
    assert "symbol and timeframe" in caught.value.message


# --- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_validate_fills_in_every_default(name):
    strategy = strategy_get(name)
    defaults = {p.name: p.default for p in strategy.params}
    assert strategy.validate({}) == defaults
    assert strategy.validate(None) == defaults
    first = strategy.params[0]
    assert strategy.validate({first.name: str(first.default)})[first.name] == first.default


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_an_unknown_parameter_is_refused_by_name(name):
    with pytest.raises(StrategyError) as caught:
        strategy_get(name).validate({"lookback_days": 3})
    assert caught.value.field == "lookback_days"
    assert strategy_get(name).params[0].name in caught.value.message


BAD_VALUES = [
    ("below the minimum", lambda p: p.minimum - 1, "between"),
    ("above the maximum", lambda p: p.maximum + 1, "between"),
    ("text", lambda p: "ten", "number"),
    ("a boolean", lambda p: True, "number"),
    ("null", lambda p: None, "number"),
    ("a list", lambda p: [p.default], "number"),
    ("NaN", lambda p: float("nan"), ""),  # "not a number" or "not between": both true
]


BAD_CASES = [
    pytest.param(s.name, p.name, bad, id=f"{s.name}-{p.name}-{bad[0]}")
    for s in strategy_list()
    if s.name in BUILTIN
    for p in s.params
    for bad in BAD_VALUES
]


@pytest.mark.parametrize(("name", "param", "bad"), BAD_CASES)
def test_a_bad_value_is_refused_naming_the_parameter(name, param, bad):
    strategy = strategy_get(name)
    spec = next(p for p in strategy.params if p.name == param)
    _, make, words = bad
    with pytest.raises(StrategyError) as caught:
        strategy.validate({param: make(spec)})
    assert caught.value.field == param
    assert param in caught.value.message and words in caught.value.message


@pytest.mark.parametrize("name", sorted(BUILTIN - {"ml_signal"}))  # it has no int parameter
def test_a_fraction_for_a_whole_number_parameter_is_refused(name):
    strategy = strategy_get(name)
    ints = [p for p in strategy.params if p.kind is int]
    assert ints
    with pytest.raises(StrategyError) as caught:
        strategy.validate({ints[0].name: ints[0].default + 0.5})
    assert caught.value.field == ints[0].name
    assert "whole number" in caught.value.message


@pytest.mark.parametrize("name", ["sma_cross", "ema_cross", "macd_trend"])
@pytest.mark.parametrize("gap", [0, 5])
def test_fast_must_be_below_slow(name, gap):
    strategy = strategy_get(name)
    with pytest.raises(StrategyError) as caught:
        strategy.validate({"fast": 30 + gap, "slow": 30})
    assert caught.value.field == "fast"
    assert "less than slow" in caught.value.message
    assert strategy.validate({"fast": 29, "slow": 30})["fast"] == 29


def test_oversold_must_be_below_overbought():
    strategy = strategy_get("rsi_reversion")
    with pytest.raises(StrategyError) as caught:
        strategy.validate({"oversold": 50, "overbought": 50})
    assert caught.value.field == "oversold"
    assert strategy.validate({"oversold": 49.5, "overbought": 50})["oversold"] == 49.5


def _then_flat(real: pd.DataFrame, bars: int = 30) -> pd.DataFrame:
    """``real`` followed by ``bars`` candles that all sit at its last close."""
    index = pd.date_range(
        real.index[-1] + pd.Timedelta(hours=1), periods=bars, freq="h", name="open_time"
    )
    last = real["close"].iloc[-1]
    flat = pd.DataFrame(
        {"open": last, "high": last, "low": last, "close": last, "volume": 1.0}, index=index
    )
    return pd.concat([real, flat])


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("sma_cross", {"fast": 1, "slow": 2}),
        ("sma_cross", {"fast": 3, "slow": 7}),
        ("bollinger_breakout", {"period": 5, "std": 1}),
        ("macd_trend", {"fast": 2, "slow": 3, "signal": 2}),
    ],
)
def test_a_flat_market_signals_the_same_whatever_history_was_loaded(name, raw):
    # On flat candles the lines are level in exact arithmetic (a fast SMA equal to the slow
    # one, a zero-width band); TA-Lib's running sums keep ~1e-14 of rounding from the real
    # candles before, and that rounding depends on where the loaded history starts. It must
    # not decide a signal, or a live run over the latest candles and a backtest over years
    # would disagree. (Comparing exactly, sma 3/7 and bollinger 5/1 differ in ~200 cases.)
    strategy = strategy_get(name)
    params = strategy.validate(raw)
    for end in range(1_000, SLICE + 1, 200):
        candles = _then_flat(btc_1h().iloc[:end])
        full = strategy.signals(candles, params)["signal"].to_numpy()[-29:]
        for start in (97, 398, 799):
            shorter = strategy.signals(candles.iloc[start:], params)["signal"].to_numpy()
            assert (shorter[-29:] == full).all(), f"history from bar {start}, end {end}"
