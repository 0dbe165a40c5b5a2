"""Features use candles up to t only; labels use t+1..t+h only (pure: no database)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.features import (
    CLASS_NAMES,
    FEATURES,
    MIN_CANDLES,
    WARMUP_BARS,
    feature_frame,
    label_series,
)
from trading import indicators
from trading.strategies.frames import candles_time_ms, frame_of, shipped_candles

HOUR = 3_600_000
MONDAY = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday


def random_walk(n: int, *, seed: int, start_ms: int = MONDAY, first: float = 100.0):
    """Plausible candles: log-normal closes, opens at the previous close, wicks around."""
    rng = np.random.default_rng(seed)
    close = first * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[first], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    volume = rng.lognormal(3, 0.5, n)
    times = start_ms + np.arange(n, dtype=np.int64) * HOUR
    return frame_of(times, np.column_stack([open_, high, low, close, volume]))


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return shipped_candles("BTCUSDT", "1h").iloc[-1500:]


def test_feature_frame_has_every_feature_as_float64_on_the_candles_index(btc):
    frame = feature_frame(btc)
    assert tuple(frame.columns) == FEATURES
    assert frame.index.equals(btc.index)
    assert (frame.dtypes == np.float64).all()
    assert not np.isinf(frame.to_numpy()).any()
    assert frame.iloc[WARMUP_BARS:].notna().all().all()


@pytest.mark.parametrize("cut", [60, 399, 800, 1200, 1498])
def test_features_up_to_t_do_not_move_when_the_future_is_removed_or_altered(btc, cut):
    full = feature_frame(btc).to_numpy()
    removed = feature_frame(btc.iloc[: cut + 1]).to_numpy()
    np.testing.assert_array_equal(removed, full[: cut + 1])

    future = random_walk(len(btc) - cut - 1, seed=cut, first=float(btc["close"].iloc[cut]) * 3)
    altered = btc.copy()
    altered.iloc[cut + 1 :] = future.to_numpy()
    changed = feature_frame(altered).to_numpy()
    np.testing.assert_array_equal(changed[: cut + 1], full[: cut + 1])
    # the alteration is real: rows after the cut do move
    assert not np.allclose(changed[cut + 1 :], full[cut + 1 :], equal_nan=True)


def test_the_first_min_candles_rows_are_nan_and_then_every_feature_is_defined():
    frame = feature_frame(random_walk(200, seed=1))
    assert frame.iloc[MIN_CANDLES - 2].isna().any()
    assert frame.iloc[MIN_CANDLES - 1 :].notna().all().all()


def test_warmup_bars_of_history_give_the_full_history_values():
    candles = random_walk(3000, seed=2)
    full = feature_frame(candles).iloc[-1].to_numpy()
    tail = feature_frame(candles.iloc[-(WARMUP_BARS + 1) :]).iloc[-1].to_numpy()
    np.testing.assert_allclose(tail, full, rtol=1e-6, atol=1e-9)


def test_feature_formulas_match_their_definitions(btc):
    frame = feature_frame(btc)
    close = btc["close"].to_numpy()
    t = 700
    assert frame["ret_3"].iloc[t] == pytest.approx(math.log(close[t] / close[t - 3]), abs=1e-15)
    one_bar = np.diff(np.log(close))
    assert frame["vol_12"].iloc[t] == pytest.approx(np.std(one_bar[t - 12 : t], ddof=1))
    atr = indicators.atr(btc, 14).iloc[t]
    assert frame["atr_pct"].iloc[t] == pytest.approx(atr / close[t])
    bands = indicators.bollinger(btc, 20, 2.0).iloc[t]
    pctb = (close[t] - bands["bb_lower"]) / (bands["bb_upper"] - bands["bb_lower"])
    assert frame["bb_pctb"].iloc[t] == pytest.approx(pctb)
    assert frame["rsi_14"].iloc[t] == indicators.rsi(btc, 14).iloc[t]
    row = btc.iloc[t]
    assert frame["range_pct"].iloc[t] == pytest.approx((row.high - row.low) / row.close)
    volume = np.log1p(btc["volume"].to_numpy()[t - 47 : t + 1])
    z = (volume[-1] - volume.mean()) / volume.std(ddof=1)
    assert frame["volume_z"].iloc[t] == pytest.approx(z)


def test_time_features_place_the_hour_and_the_weekday_on_the_circle():
    candles = random_walk(30, seed=3)  # starts Monday 00:00 UTC, hourly
    frame = feature_frame(candles)
    assert frame["hour_sin"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert frame["hour_cos"].iloc[0] == pytest.approx(1.0)
    assert frame["dow_sin"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert frame["hour_sin"].iloc[6] == pytest.approx(1.0)  # 06:00
    assert frame["hour_cos"].iloc[12] == pytest.approx(-1.0)  # 12:00
    assert frame["hour_cos"].iloc[24] == pytest.approx(1.0)  # Tuesday 00:00
    assert frame["dow_sin"].iloc[24] == pytest.approx(math.sin(2 * math.pi / 7))


def test_a_flat_market_gives_nan_not_inf():
    n = 120
    flat = np.full(n, 50.0)
    candles = frame_of(
        MONDAY + np.arange(n, dtype=np.int64) * HOUR,
        np.column_stack([flat, flat, flat, flat, np.full(n, 7.0)]),
    )
    frame = feature_frame(candles)
    assert not np.isinf(frame.to_numpy()).any()
    assert frame["bb_pctb"].iloc[-1] != frame["bb_pctb"].iloc[-1]  # NaN: the bands collapse
    assert np.isnan(frame["volume_z"].iloc[-1])
    assert frame["ret_1"].iloc[-1] == 0.0


def closes(values: list[float]) -> pd.DataFrame:
    close = np.asarray(values, dtype=np.float64)
    times = MONDAY + np.arange(len(close), dtype=np.int64) * HOUR
    return frame_of(times, np.column_stack([close, close, close, close, np.ones(len(close))]))


def test_binary_labels_leave_out_the_dead_zone_and_the_unknown_end():
    candles = closes([100, 101, 100.05, 99, 100, 100.1])
    labels = label_series(candles, horizon=1, threshold=0.002, classes=2)
    # 100->101 up, 101->100.05 down, 100.05->99 down, 99->100 up, 100->100.1 (0.1 %) dead zone
    np.testing.assert_array_equal(labels.to_numpy(), [1, 0, 0, 1, np.nan, np.nan])
    assert labels.dtype == np.float64
    assert labels.index.equals(candles.index)


def test_three_class_labels_mark_small_moves_flat():
    candles = closes([100, 101, 100.05, 100.1, 99, 99, 99])
    labels = label_series(candles, horizon=2, threshold=0.002, classes=3)
    # r(0) = 100.05/100 - 1 = 0.05 % flat; r(1) = 100.1/101 - 1 down; r(2) = 99/100.05 down;
    # r(3) = 99/100.1 - 1 down; r(4) = 0 flat; the last 2 unknown
    np.testing.assert_array_equal(labels.to_numpy(), [1, 0, 0, 0, 1, np.nan, np.nan])
    assert CLASS_NAMES[3][2] == "up"
    up = label_series(closes([100, 100, 103]), horizon=2, threshold=0.002, classes=3)
    assert up.iloc[0] == 2


def test_a_return_exactly_at_the_threshold_is_not_a_move():
    candles = closes([1.0, 1.5, 0.75])  # +50 %, then -50 %: exact in binary floating point
    labels = label_series(candles, horizon=1, threshold=0.5, classes=3)
    assert labels.iloc[0] == 1  # +50 % is not > 50 %
    assert labels.iloc[1] == 1
    assert np.isnan(label_series(candles, horizon=1, threshold=0.5, classes=2).iloc[0])


def test_a_label_reads_only_the_close_h_bars_ahead():
    candles = random_walk(300, seed=4)
    h, t = 12, 150
    base = label_series(candles, horizon=h, threshold=0.001, classes=3)
    before = candles.copy()
    before.iloc[t + 1 : t + h, :] *= 1.5  # between t and t+h: irrelevant
    before.iloc[t + h + 1 :, :] *= 0.5  # after t+h: irrelevant
    moved = label_series(before, horizon=h, threshold=0.001, classes=3)
    assert moved.iloc[t] == base.iloc[t]
    np.testing.assert_array_equal(moved.iloc[: t - h + 1], base.iloc[: t - h + 1])
    later = candles.copy()
    later.iloc[t + h, 3] = later["close"].iloc[t] * 1.5  # the close at t+h decides
    assert label_series(later, horizon=h, threshold=0.001, classes=3).iloc[t] == 2
    assert base.iloc[-h:].isna().all() and base.iloc[:-h].notna().all()


def test_label_series_refuses_an_unknown_class_count():
    with pytest.raises(ValueError, match="classes"):
        label_series(closes([1, 2, 3]), horizon=1, threshold=0.0, classes=4)


def test_features_of_too_few_candles_are_all_nan_not_an_error():
    frame = feature_frame(random_walk(10, seed=5))
    assert len(frame) == 10
    assert frame.iloc[-1][["ret_24", "vol_48", "adx_14"]].isna().all()
    assert candles_time_ms(frame)[0] == MONDAY
