"""Model inputs (features) and targets (labels) from candles (pure: no ORM, no network).

Every feature at row t is computed from candles up to and including t only, so a model can
be trained on history and used live without seeing the future (ml/tests/test_features.py
changes and removes later candles and proves no feature at or before t moves). Prices
enter only as ratios (returns, indicator / close), so one model can be read across price
levels and symbols; indicators come from :mod:`trading.indicators` (TA-Lib), the same
values the dashboard and the strategies show.

Features (:data:`FEATURES`, in column order; r_t = ln(close_t / close_{t-1})):

* ``ret_1, ret_3, ret_6, ret_12, ret_24``: log return over k bars, ln(close_t /
  close_{t-k}). Momentum and short-term reversal at several scales.
* ``vol_12, vol_48``: realised volatility, the sample std (ddof 1) of r over the last 12 /
  48 bars. Volatility regimes cluster and scale how far price can move in the horizon.
* ``rsi_14``: Wilder's RSI(14), 0-100. Overbought / oversold.
* ``macd, macd_signal, macd_hist``: MACD(12, 26, 9) line, signal and histogram divided
  by close, so they are dimensionless trend strength rather than price units.
* ``bb_pctb``: Bollinger %b(20, 2) = (close - lower) / (upper - lower): where close sits
  in its recent range in volatility units (0 = lower band, 1 = upper band).
* ``atr_pct``: ATR(14) / close. Typical bar range as a fraction of price.
* ``stoch_k, stoch_d``: slow stochastic (14, 3, 3), 0-100. Position of close in the
  14-bar high-low range, smoothed.
* ``adx_14``: Wilder's ADX(14), 0-100. Trend strength whatever its direction.
* ``volume_z``: z-score of ln(1 + volume) against its last 48 bars (mean and std, ddof 1,
  both including t). Unusual activity; the log tames volume's heavy tail.
* ``body_pct`` = (close - open) / close, ``upper_wick_pct`` = (high - max(open, close)) /
  close, ``lower_wick_pct`` = (min(open, close) - low) / close, ``range_pct`` = (high -
  low) / close. The shape of the bar itself: rejection wicks, strong closes.
* ``hour_sin, hour_cos``: time of day of the open (UTC) on the unit circle, angle 2 pi x
  (ms since midnight / ms per day); ``dow_sin, dow_cos``: time of week, angle 2 pi x
  (weekday Monday=0 + fraction of day) / 7. Sessions and weekends differ in activity;
  sine + cosine keep 23:00 next to 00:00.

A division by zero (a flat Bollinger band, a constant volume window) gives NaN, never inf;
callers drop rows with any NaN. Rows follow the candles, so a gap in the data makes a k-bar
return span more time than k bars.

Warm-up: the first ``MIN_CANDLES - 1`` rows have NaN features (the longest lookback is
vol_48's). The recursive indicators (RSI, MACD, ATR, ADX) are seeded from the first loaded
candle, so their values depend on where the history starts until that seed has decayed:
:data:`WARMUP_BARS` rows (trading.indicators.warmup_bars, seed weight < 1e-9). Training drops
those rows and live prediction loads that many candles, so both see the same values.

Labels (:func:`label_series`) use close[t+1..t+h] only, through r = close[t+h]/close[t] - 1.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from trading import indicators
from trading.strategies.frames import candles_time_ms

RETURN_LAGS: Final = (1, 3, 6, 12, 24)
VOL_WINDOWS: Final = (12, 48)
VOLUME_WINDOW: Final = 48
RSI_N: Final = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BB_N, BB_K = 20, 2.0
ATR_N: Final = 14
STOCH_K, STOCH_SLOWING, STOCH_D = 14, 3, 3
ADX_N: Final = 14
DAY_MS: Final = 86_400_000

FEATURES: Final[tuple[str, ...]] = (
    *(f"ret_{k}" for k in RETURN_LAGS),
    *(f"vol_{n}" for n in VOL_WINDOWS),
    f"rsi_{RSI_N}",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_pctb",
    "atr_pct",
    "stoch_k",
    "stoch_d",
    f"adx_{ADX_N}",
    "volume_z",
    "body_pct",
    "upper_wick_pct",
    "lower_wick_pct",
    "range_pct",
    "hour_sin",
    "hour_cos",
    "dow_sin",
    "dow_cos",
)
"""Feature names, in the column order of :func:`feature_frame` (stable: models store it)."""

_SPEC = indicators.IndicatorSpec(
    indicators=("rsi", "macd", "bollinger", "atr", "stoch", "adx"),
    rsi_period=RSI_N,
    macd_fast=MACD_FAST,
    macd_slow=MACD_SLOW,
    macd_signal=MACD_SIGNAL,
    bb_period=BB_N,
    bb_std=BB_K,
    atr_period=ATR_N,
    stoch_k=STOCH_K,
    stoch_smooth=STOCH_SLOWING,
    stoch_d=STOCH_D,
    adx_period=ADX_N,
)

MIN_CANDLES: Final[int] = 1 + max(
    max(RETURN_LAGS),
    max(VOL_WINDOWS),  # n returns need n + 1 closes: first value at row n
    VOLUME_WINDOW - 1,
    RSI_N,
    MACD_SLOW + MACD_SIGNAL - 2,
    BB_N - 1,
    ATR_N,
    STOCH_K + STOCH_SLOWING + STOCH_D - 3,
    2 * ADX_N - 1,
)
"""The fewest candles whose last row has every feature defined (NaN before that)."""

WARMUP_BARS: Final[int] = max(MIN_CANDLES - 1, indicators.warmup_bars(_SPEC))
"""Leading rows whose features are NaN or still carry a recursive indicator's seed.

Training drops them; live prediction should pass at least ``WARMUP_BARS + 1`` candles so
the last row's values match what a full history would give (to ~1e-9 relative).
"""

CLASS_NAMES: Final[dict[int, tuple[str, ...]]] = {2: ("down", "up"), 3: ("down", "flat", "up")}
"""Class names by class count; a label's code is its position here (down = 0)."""


def feature_frame(candles: pd.DataFrame) -> pd.DataFrame:
    """Every feature of :data:`FEATURES` for every candle (see the module docstring).

    Same index as ``candles``, columns exactly FEATURES, float64. Row t uses candles up to
    and including t only. NaN where undefined (warm-up, division by zero); never inf.
    """
    close = candles["close"].to_numpy(dtype=np.float64)
    columns: dict[str, np.ndarray] = {}
    columns.update(_return_features(close))
    columns.update(_indicator_features(candles, close))
    columns["volume_z"] = _volume_z(candles["volume"].to_numpy(dtype=np.float64))
    columns.update(_shape_features(candles, close))
    columns.update(_time_features(candles_time_ms(candles)))
    matrix = np.column_stack([columns[name] for name in FEATURES]).astype(np.float64, copy=False)
    matrix[np.isinf(matrix)] = np.nan
    # one float64 block, built once: pandas' per-column work is most of the cost on the
    # few hundred rows of a live prediction
    return pd.DataFrame(matrix, index=candles.index, columns=list(FEATURES), copy=False)


def _lagged(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` moved k rows later (row t holds values[t - k]); NaN for the first k."""
    out = np.full_like(values, np.nan)
    if k < len(values):
        out[k:] = values[: len(values) - k]
    return out


def _return_features(close: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_close = np.log(close)
    out = {f"ret_{k}": log_close - _lagged(log_close, k) for k in RETURN_LAGS}
    one_bar = pd.Series(out["ret_1"])
    for n in VOL_WINDOWS:
        out[f"vol_{n}"] = one_bar.rolling(n, min_periods=n).std(ddof=1).to_numpy()
    return out


def _indicator_features(candles: pd.DataFrame, close: np.ndarray) -> dict[str, np.ndarray]:
    macd = indicators.macd(candles, MACD_FAST, MACD_SLOW, MACD_SIGNAL)
    bands = indicators.bollinger(candles, BB_N, BB_K)
    stoch = indicators.stochastic(candles, STOCH_K, STOCH_SLOWING, STOCH_D)
    upper, lower = bands["bb_upper"].to_numpy(), bands["bb_lower"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            f"rsi_{RSI_N}": indicators.rsi(candles, RSI_N).to_numpy(),
            "macd": macd["macd"].to_numpy() / close,
            "macd_signal": macd["macd_signal"].to_numpy() / close,
            "macd_hist": macd["macd_hist"].to_numpy() / close,
            "bb_pctb": (close - lower) / (upper - lower),
            "atr_pct": indicators.atr(candles, ATR_N).to_numpy() / close,
            "stoch_k": stoch["stoch_k"].to_numpy(),
            "stoch_d": stoch["stoch_d"].to_numpy(),
            f"adx_{ADX_N}": indicators.adx(candles, ADX_N).to_numpy(),
        }


def _volume_z(volume: np.ndarray) -> np.ndarray:
    log_volume = pd.Series(np.log1p(volume))
    window = log_volume.rolling(VOLUME_WINDOW, min_periods=VOLUME_WINDOW)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((log_volume - window.mean()) / window.std(ddof=1)).to_numpy()


def _shape_features(candles: pd.DataFrame, close: np.ndarray) -> dict[str, np.ndarray]:
    open_ = candles["open"].to_numpy(dtype=np.float64)
    high = candles["high"].to_numpy(dtype=np.float64)
    low = candles["low"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "body_pct": (close - open_) / close,
            "upper_wick_pct": (high - np.maximum(open_, close)) / close,
            "lower_wick_pct": (np.minimum(open_, close) - low) / close,
            "range_pct": (high - low) / close,
        }


def _time_features(open_ms: np.ndarray) -> dict[str, np.ndarray]:
    day_fraction = (open_ms % DAY_MS) / DAY_MS
    weekday = (open_ms // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    hour_angle = 2.0 * math.pi * day_fraction
    week_angle = 2.0 * math.pi * (weekday + day_fraction) / 7.0
    return {
        "hour_sin": np.sin(hour_angle),
        "hour_cos": np.cos(hour_angle),
        "dow_sin": np.sin(week_angle),
        "dow_cos": np.cos(week_angle),
    }


def label_series(
    candles: pd.DataFrame, *, horizon: int, threshold: float, classes: int
) -> pd.Series:
    """The class of each candle's forward return, as float64 codes (NaN when unknown).

    r = close[t + horizon] / close[t] - 1 uses candles t+1..t+horizon only (close[t] is
    known at t). ``classes=3``: 2 (up) if r > threshold, 0 (down) if r < -threshold, else
    1 (flat). ``classes=2``: 1 (up) if r > threshold, 0 (down) if r < -threshold, else NaN:
    the dead zone is left out, so the model learns only moves worth trading. The last
    ``horizon`` rows are NaN (their outcome is not known yet). Names: :data:`CLASS_NAMES`.
    """
    if classes not in CLASS_NAMES:
        raise ValueError(f"classes must be one of {sorted(CLASS_NAMES)}, got {classes!r}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 bar, got {horizon!r}")
    close = candles["close"].to_numpy(dtype=np.float64)
    future = np.full_like(close, np.nan)
    future[: max(len(close) - horizon, 0)] = close[horizon:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = future / close - 1.0
    up_code = classes - 1
    middle = 1.0 if classes == 3 else np.nan
    codes = np.where(r > threshold, up_code, np.where(r < -threshold, 0.0, middle))
    codes[~np.isfinite(r)] = np.nan
    return pd.Series(codes.astype(np.float64), index=candles.index, name="label")
