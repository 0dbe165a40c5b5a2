"""trading.indicators against independent references, on the shipped real BTCUSDT candles.

TA-Lib is the reference, but comparing the module with the same TA-Lib call proves little,
so most indicators are also rebuilt here in plain numpy/Python from TA-Lib's documented
seeding rules (PERFORMANCE.md); if the module ever stops matching TA-Lib's rules (another
library, a wrong argument, a shifted seed) these tests fail. No database is needed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

from trading import indicators as ind
from trading.indicators import IndicatorParamError, IndicatorSpec

DATA = Path(__file__).resolve().parents[1] / "data"
HOUR_MS = 3_600_000
RTOL = 1e-6

NON_DEFAULT = IndicatorSpec(
    sma_period=50,
    ema_period=9,
    rsi_period=7,
    macd_fast=5,
    macd_slow=35,
    macd_signal=5,
    bb_period=50,
    bb_std=2.5,
    atr_period=21,
    stoch_k=21,
    stoch_smooth=5,
    stoch_d=4,
    adx_period=21,
)
LONGEST = IndicatorSpec(
    sma_period=500,
    ema_period=500,
    rsi_period=500,
    macd_fast=499,
    macd_slow=500,
    macd_signal=500,
    bb_period=500,
    bb_std=10,
    atr_period=500,
    stoch_k=500,
    stoch_smooth=500,
    stoch_d=500,
    adx_period=500,
)
SPECS = {"default": IndicatorSpec(), "non_default": NON_DEFAULT}


@functools.cache
def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name)
    return frame.rename(columns={"open_time_ms": "open_time"})


def candles_1m() -> pd.DataFrame:
    """36,400 real 1m candles with an integer ``open_time`` column (epoch ms), as stored."""
    return _read("BTCUSDT-1m.csv.gz")


def candles_1h() -> pd.DataFrame:
    """65,494 real 1h candles (with gaps and zero-volume halts) on a UTC DatetimeIndex."""
    frame = _read("BTCUSDT-1h.csv.gz")
    index = pd.DatetimeIndex(pd.to_datetime(frame["open_time"], unit="ms", utc=True))
    return frame.drop(columns="open_time").set_axis(index.rename("open_time"))


def ohlcv(candles: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(
        candles[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")
    )


def assert_matches(actual, expected, *, scale: float | None = None) -> None:
    """NaN in the same places, and values within 1e-6 relative.

    Relative to the value, or to ``scale`` (default: the series' median magnitude) for
    values near zero: MACD and its histogram cross zero, where a 1e-12 rounding
    difference would otherwise be a large relative one.
    """
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg="NaN positions differ")
    valid = ~np.isnan(e)
    assert valid.any(), "nothing to compare"
    if scale is None:
        scale = float(np.median(np.abs(e[valid])))
    np.testing.assert_allclose(a[valid], e[valid], rtol=RTOL, atol=RTOL * scale)


# --- independent references: TA-Lib's rules, written out plainly -------------------------


def ref_sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    out[n - 1 :] = sliding_window_view(x, n).mean(axis=1)
    return out


def ref_ema_seeded(x: np.ndarray, n: int, seed_end: int) -> np.ndarray:
    """EMA whose first value, at ``seed_end``, is the mean of the n values ending there."""
    out = np.full(len(x), np.nan)
    k = 2.0 / (n + 1)
    value = float(np.mean(x[seed_end - n + 1 : seed_end + 1]))
    values = [value]
    for price in x[seed_end + 1 :].tolist():
        value += k * (price - value)
        values.append(value)
    out[seed_end:] = values
    return out


def ref_ema(x: np.ndarray, n: int) -> np.ndarray:
    return ref_ema_seeded(x, n, n - 1)


def ref_macd(x: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, ...]:
    # Both EMAs start at the slow seed bar; the fast one from its last `fast` bars.
    line = ref_ema_seeded(x, fast, slow - 1) - ref_ema_seeded(x, slow, slow - 1)
    sig = ref_ema_seeded(line, signal, slow + signal - 2)
    line[: slow + signal - 2] = np.nan  # blank until the signal exists
    return line, sig, line - sig


def ref_wilder_from_mean(values: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder average: mean of values[first-n+1 .. first], then (prev*(n-1) + x)/n."""
    out = np.full(len(values), np.nan)
    avg = float(np.mean(values[first - n + 1 : first + 1]))
    averages = [avg]
    for value in values[first + 1 :].tolist():
        avg = (avg * (n - 1) + value) / n
        averages.append(avg)
    out[first:] = averages
    return out


def ref_rsi(close: np.ndarray, n: int) -> np.ndarray:
    change = np.r_[np.nan, np.diff(close)]
    gain = ref_wilder_from_mean(np.where(change > 0, change, 0.0), n, n)
    loss = ref_wilder_from_mean(np.where(change < 0, -change, 0.0), n, n)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.0, 100.0 * gain / total)


def ref_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    prev = np.r_[np.nan, close[:-1]]
    return np.maximum.reduce([high - low, np.abs(high - prev), np.abs(low - prev)])  # NaN at 0


def ref_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    return ref_wilder_from_mean(ref_true_range(high, low, close), n, n)


def ref_bollinger(close: np.ndarray, n: int, k: float) -> tuple[np.ndarray, ...]:
    middle = ref_sma(close, n)
    std = np.full(len(close), np.nan)
    std[n - 1 :] = sliding_window_view(close, n).std(axis=1, ddof=0)
    return middle + k * std, middle, middle - k * std


def ref_stoch(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, k: int, smooth: int, d: int
) -> tuple[np.ndarray, np.ndarray]:
    highest = np.full(len(close), np.nan)
    lowest = np.full(len(close), np.nan)
    highest[k - 1 :] = sliding_window_view(high, k).max(axis=1)
    lowest[k - 1 :] = sliding_window_view(low, k).min(axis=1)
    span = highest - lowest
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.where(span == 0, 0.0, 100.0 * (close - lowest) / span)
    slow_k = np.full(len(close), np.nan)
    slow_k[k - 1 :] = ref_sma(fast_k[k - 1 :], smooth)
    slow_d = np.full(len(close), np.nan)
    start = k + smooth - 2
    slow_d[start:] = ref_sma(slow_k[start:], d)
    slow_k[: start + d - 1] = np.nan  # both outputs start together, when %D exists
    return slow_k, slow_d


def ref_obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    signed = np.sign(np.diff(close)) * volume[1:]
    return volume[0] + np.r_[0.0, np.cumsum(signed)]


def ref_adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib's ADX: DM/TR summed over bars 1..n-1, then Wilder; ADX = mean of n DX first."""
    up = np.r_[0.0, np.diff(high)]
    down = np.r_[0.0, -np.diff(low)]
    plus_dm = np.where((up > 0) & (up > down), up, 0.0).tolist()
    minus_dm = np.where((down > 0) & (down > up), down, 0.0).tolist()
    true_range = ref_true_range(high, low, close).tolist()
    out = np.full(len(close), np.nan)
    s_plus, s_minus, s_tr = sum(plus_dm[1:n]), sum(minus_dm[1:n]), sum(true_range[1:n])
    dx_sum = 0.0
    value = np.nan
    for i in range(n, len(close)):
        s_plus += plus_dm[i] - s_plus / n
        s_minus += minus_dm[i] - s_minus / n
        s_tr += true_range[i] - s_tr / n
        dx = None
        if abs(s_tr) >= 1e-8:  # TA-Lib's TA_IS_ZERO guard
            di_plus, di_minus = 100 * s_plus / s_tr, 100 * s_minus / s_tr
            if abs(di_plus + di_minus) >= 1e-8:
                dx = 100 * abs(di_minus - di_plus) / (di_plus + di_minus)
        if i < 2 * n:
            dx_sum += dx or 0.0
            if i == 2 * n - 1:
                value = dx_sum / n
                out[i] = value
            continue
        if dx is not None:
            value = (value * (n - 1) + dx) / n
        out[i] = value
    return out


def ref_vwap(candles: pd.DataFrame) -> np.ndarray:
    """Per-UTC-day cumulative typical*volume / volume; the partial first day is unknown."""
    times = (
        candles.index
        if isinstance(candles.index, pd.DatetimeIndex)
        else pd.to_datetime(candles["open_time"], unit="ms", utc=True)
    )
    day = np.asarray(pd.DatetimeIndex(times).tz_convert(None)).astype("datetime64[D]")
    typical = (candles["high"] + candles["low"] + candles["close"]) / 3
    frame = pd.DataFrame(
        {"pv": (typical * candles["volume"]).to_numpy(), "v": candles["volume"].to_numpy()}
    )
    sums = frame.groupby(day, sort=False).cumsum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sums["v"] > 0, sums["pv"] / sums["v"], np.nan)
    if np.asarray(pd.DatetimeIndex(times).tz_convert(None))[0] != day[0]:
        out[day == day[0]] = np.nan
    return out


# --- 1. values ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec_name", SPECS)
@pytest.mark.parametrize("load", [candles_1m, candles_1h], ids=["1m", "1h"])
def test_indicators_follow_talib_seeding_rules_written_out_independently(load, spec_name):
    candles, spec = load(), SPECS[spec_name]
    _, high, low, close, volume = ohlcv(candles)
    got = ind.compute_indicators(candles, spec)

    assert_matches(got[f"sma_{spec.sma_period}"], ref_sma(close, spec.sma_period))
    assert_matches(got[f"ema_{spec.ema_period}"], ref_ema(close, spec.ema_period))
    assert_matches(got[f"rsi_{spec.rsi_period}"], ref_rsi(close, spec.rsi_period))
    assert_matches(got[f"atr_{spec.atr_period}"], ref_atr(high, low, close, spec.atr_period))
    for column, expected in zip(
        ["bb_upper", "bb_middle", "bb_lower"],
        ref_bollinger(close, spec.bb_period, spec.bb_std),
        strict=True,
    ):
        assert_matches(got[column], expected)
    macd_scale = float(np.nanmedian(np.abs(got["macd"])))
    for column, expected in zip(
        ["macd", "macd_signal", "macd_hist"],
        ref_macd(close, spec.macd_fast, spec.macd_slow, spec.macd_signal),
        strict=True,
    ):
        assert_matches(got[column], expected, scale=macd_scale)
    stoch_k, stoch_d = ref_stoch(high, low, close, spec.stoch_k, spec.stoch_smooth, spec.stoch_d)
    assert_matches(got["stoch_k"], stoch_k)
    assert_matches(got["stoch_d"], stoch_d)
    assert_matches(got["obv"], ref_obv(close, volume), scale=float(np.max(volume)))
    assert_matches(got[f"adx_{spec.adx_period}"], ref_adx(high, low, close, spec.adx_period))
    assert_matches(got["vwap"], ref_vwap(candles))


def test_each_function_returns_raw_talib_output_bit_for_bit_with_non_default_periods():
    candles = candles_1h()
    _, high, low, close, volume = ohlcv(candles)

    def same(actual, expected) -> None:
        np.testing.assert_array_equal(np.asarray(actual), expected)

    same(ind.sma(candles, 33), talib.SMA(close, timeperiod=33))
    same(ind.ema(candles, 33), talib.EMA(close, timeperiod=33))
    same(ind.rsi(candles, 9), talib.RSI(close, timeperiod=9))
    same(ind.atr(candles, 9), talib.ATR(high, low, close, timeperiod=9))
    same(ind.adx(candles, 9), talib.ADX(high, low, close, timeperiod=9))
    same(ind.obv(candles), talib.OBV(close, volume))
    line, sig, hist = talib.MACD(close, fastperiod=8, slowperiod=21, signalperiod=5)
    same(ind.macd(candles, 8, 21, 5).to_numpy().T, np.vstack([line, sig, hist]))
    bands = talib.BBANDS(close, timeperiod=30, nbdevup=1.5, nbdevdn=1.5, matype=0)
    same(ind.bollinger(candles, 30, 1.5).to_numpy().T, np.vstack(bands))
    stoch = talib.STOCH(high, low, close, 10, 4, 0, 6, 0)
    same(ind.stochastic(candles, 10, 4, 6).to_numpy().T, np.vstack(stoch))


def test_functions_keep_the_candles_index_and_name_their_output():
    candles = candles_1h().iloc[:300]
    result = ind.rsi(candles, 7)
    assert result.name == "rsi_7"
    assert result.index.equals(candles.index)
    assert list(ind.stochastic(candles).columns) == ["stoch_k", "stoch_d"]


# --- 2. the window property ---------------------------------------------------------------


def _window_vs_full(candles: pd.DataFrame, spec: IndicatorSpec, timeframe_ms: int) -> None:
    window = 500
    warmup = ind.warmup_bars(spec, timeframe_ms=timeframe_ms)
    assert warmup + window < len(candles)
    full = ind.compute_indicators(candles, spec).iloc[-window:]
    part = ind.compute_indicators(candles.iloc[-(window + warmup) :], spec).iloc[-window:]
    assert list(part.columns) == spec.columns
    for column in spec.columns:
        if column == "obv":
            # A running total: its level depends on the first loaded candle, whatever the
            # warm-up. Its changes within the window must agree.
            assert_matches(part[column] - part[column].iloc[0], full[column] - full[column].iloc[0])
            continue
        assert part[column].notna().all(), column
        scale = float(np.median(np.abs(full[column]))) if column.startswith("macd") else None
        assert_matches(part[column], full[column], scale=scale)


@pytest.mark.parametrize(
    "spec", [IndicatorSpec(), NON_DEFAULT, LONGEST], ids=["default", "non_default", "longest"]
)
def test_window_with_warmup_equals_full_history_1m(spec):
    _window_vs_full(candles_1m(), spec, 60_000)


@pytest.mark.parametrize("spec", [IndicatorSpec(), NON_DEFAULT], ids=["default", "non_default"])
def test_window_with_warmup_equals_full_history_1h_with_gaps(spec):
    _window_vs_full(candles_1h(), spec, HOUR_MS)


def test_window_without_warmup_differs_which_is_why_warmup_exists():
    candles, spec = candles_1m(), IndicatorSpec(indicators=("ema", "rsi", "adx", "vwap"))
    full = ind.compute_indicators(candles, spec).iloc[-100:]
    short = ind.compute_indicators(candles.iloc[-130:], spec).iloc[-100:]
    for column in ("ema_20", "rsi_14", "adx_14"):
        assert not np.allclose(short[column], full[column], rtol=RTOL), column
    assert short["vwap"].isna().all()  # the day's first candles were not loaded


def test_warmup_grows_with_periods_and_follows_timeframe_for_vwap():
    assert ind.warmup_bars(IndicatorSpec(indicators=("sma",))) == 19
    assert ind.warmup_bars(IndicatorSpec(indicators=("stoch",))) == 17
    assert ind.warmup_bars(IndicatorSpec(indicators=("obv",))) == 0
    assert ind.warmup_bars(IndicatorSpec(indicators=("vwap",)), timeframe_ms=HOUR_MS) == 24
    assert ind.warmup_bars(IndicatorSpec(indicators=("vwap",)), timeframe_ms=86_400_000) == 0
    ema20 = ind.warmup_bars(IndicatorSpec(indicators=("ema",)))
    ema50 = ind.warmup_bars(IndicatorSpec(indicators=("ema",), ema_period=50))
    assert 10 * 20 <= ema20 < ema50
    assert ind.warmup_bars(IndicatorSpec(indicators=("adx",))) > ind.warmup_bars(
        IndicatorSpec(indicators=("rsi",))
    )


# --- 3. warm-up NaNs, names, parameters ---------------------------------------------------


def test_values_are_nan_exactly_until_each_indicator_warms_up():
    candles = candles_1m()
    got = ind.compute_indicators(candles, IndicatorSpec())
    midnight = int(np.argmax(candles["open_time"].to_numpy() % 86_400_000 == 0))
    first_value = {
        "sma_20": 19,
        "ema_20": 19,
        "rsi_14": 14,
        "macd": 33,
        "macd_signal": 33,
        "macd_hist": 33,
        "bb_upper": 19,
        "bb_middle": 19,
        "bb_lower": 19,
        "atr_14": 14,
        "stoch_k": 17,
        "stoch_d": 17,
        "obv": 0,
        "vwap": midnight,
        "adx_14": 27,
    }
    assert midnight == 400  # the file starts at 17:20 UTC
    for column, first in first_value.items():
        values = got[column].to_numpy()
        assert np.isnan(values[:first]).all(), column
        assert not np.isnan(values[first:]).any(), column


def test_too_few_candles_give_all_nan_and_no_candles_give_empty_columns():
    spec = IndicatorSpec()
    short = ind.compute_indicators(candles_1h().iloc[:10], spec)
    assert short.drop(columns=["obv", "vwap"]).isna().all().all()
    assert short[["obv", "vwap"]].notna().all().all()  # the 1h file starts at 00:00 UTC
    empty = ind.compute_indicators(candles_1h().iloc[:0], spec)
    assert empty.empty
    assert list(empty.columns) == spec.columns


def test_default_column_names():
    assert IndicatorSpec().columns == [
        "sma_20",
        "ema_20",
        "rsi_14",
        "macd",
        "macd_signal",
        "macd_hist",
        "bb_upper",
        "bb_middle",
        "bb_lower",
        "atr_14",
        "stoch_k",
        "stoch_d",
        "obv",
        "vwap",
        "adx_14",
    ]


def test_column_names_follow_periods_and_requested_indicators():
    spec = ind.parse_indicator_params(
        {
            "indicators": "adx, BB,sma,rsi,atr,macd,stoch",
            "sma_period": "50",
            "rsi_period": "7",
            "atr_period": "21",
            "adx_period": "21",
            "bb_period": "30",
            "macd_fast": "5",
            "stoch_k": "9",
            "symbol": "BTCUSDT",  # not ours: ignored
        }
    )
    expected = [
        "sma_50",
        "rsi_7",
        "macd",
        "macd_signal",
        "macd_hist",
        "bb_upper",
        "bb_middle",
        "bb_lower",
        "atr_21",
        "stoch_k",
        "stoch_d",
        "adx_21",
    ]
    assert spec.columns == expected
    assert list(ind.compute_indicators(candles_1h().iloc[:200], spec).columns) == expected


def test_parse_reads_every_parameter():
    spec = ind.parse_indicator_params(
        {
            "sma_period": "10",
            "ema_period": "11",
            "rsi_period": "12",
            "macd_fast": "3",
            "macd_slow": "40",
            "macd_signal": "4",
            "bb_period": "15",
            "bb_std": "1.5",
            "atr_period": "16",
            "stoch_k": "17",
            "stoch_smooth": "2",
            "stoch_d": "5",
            "adx_period": "18",
        }
    )
    assert spec == IndicatorSpec(
        sma_period=10,
        ema_period=11,
        rsi_period=12,
        macd_fast=3,
        macd_slow=40,
        macd_signal=4,
        bb_period=15,
        bb_std=1.5,
        atr_period=16,
        stoch_k=17,
        stoch_smooth=2,
        stoch_d=5,
        adx_period=18,
    )
    assert spec.indicators == ind.INDICATORS
    assert ind.parse_indicator_params({}) == IndicatorSpec()


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"indicators": "sma,foo"}, "indicators"),
        ({"indicators": ""}, "indicators"),
        ({"indicators": "sma,,rsi"}, "indicators"),
        ({"sma_period": "abc"}, "sma_period"),
        ({"sma_period": "0"}, "sma_period"),
        ({"sma_period": "501"}, "sma_period"),
        ({"sma_period": "-5"}, "sma_period"),
        ({"sma_period": "2.5"}, "sma_period"),
        ({"ema_period": ""}, "ema_period"),
        ({"rsi_period": "1"}, "rsi_period"),
        ({"macd_fast": "x"}, "macd_fast"),
        ({"macd_fast": "26", "macd_slow": "26"}, "macd_fast"),
        ({"macd_fast": "30"}, "macd_fast"),
        ({"macd_slow": "600"}, "macd_slow"),
        ({"macd_signal": "0"}, "macd_signal"),
        ({"bb_period": "1"}, "bb_period"),
        ({"bb_std": "0"}, "bb_std"),
        ({"bb_std": "10.5"}, "bb_std"),
        ({"bb_std": "-1"}, "bb_std"),
        ({"bb_std": "nan"}, "bb_std"),
        ({"bb_std": "inf"}, "bb_std"),
        ({"bb_std": "two"}, "bb_std"),
        ({"atr_period": "1e2"}, "atr_period"),
        ({"stoch_k": "0"}, "stoch_k"),
        ({"stoch_smooth": "y"}, "stoch_smooth"),
        ({"stoch_d": "501"}, "stoch_d"),
        ({"adx_period": "1"}, "adx_period"),
    ],
)
def test_parse_rejects_bad_parameter_naming_it(query, param):
    with pytest.raises(IndicatorParamError) as caught:
        ind.parse_indicator_params(query)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")


def test_parse_accepts_the_bounds():
    spec = ind.parse_indicator_params({"sma_period": "500", "ema_period": "1", "bb_std": "10"})
    assert (spec.sma_period, spec.ema_period, spec.bb_std) == (500, 1, 10.0)


def test_functions_refuse_bad_periods_with_the_same_error():
    with pytest.raises(IndicatorParamError) as caught:
        ind.rsi(candles_1h().iloc[:50], 0)
    assert caught.value.param == "rsi_period"
