"""The built-in strategies: vectorised crossings of TA-Lib indicators (pure: no ORM, no I/O).

Every strategy here signals on the bar where a condition *starts* to hold (a crossing), never
on the bars where it merely goes on holding, so one move makes one signal. An indicator value
that is NaN (TA-Lib's warm-up) compares false both ways, so it can neither make a crossing
nor be the bar before one: the first possible signal is the bar after the first value.

Two lines within ``TIE`` (1e-9) of each other, relative to the close (or to 100 for RSI
levels), count as level, neither above nor below. Flat prices make exact ties (a fast SMA
equal to a slow one, a zero-width Bollinger band), and TA-Lib's running sums and recursive
seeds leave rounding noise of ~1e-14 that depends on where the loaded history starts; without
the band that noise would decide the signal, and a live run over the latest candles could
disagree with a backtest over years. 1e-9 of a price is far below any tradable difference.

Values at bar t come from TA-Lib over candles 0..t only (TA-Lib's recursive indicators are
seeded from the first candles and run forward), so a signal never depends on later candles;
``trading/strategies/lookahead.py`` proves it for each of them.

``warmup(params)`` is the number of candles, ending with bar t, that a live run must load so
that t's signal is the one a run over the whole history gives: the indicator's lookback plus,
for recursive indicators (EMA, RSI, MACD), the bars after which the seed weighs less than
1e-9 (:func:`trading.indicators.warmup_bars`), plus the bar before t that a crossing needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trading import indicators as ind
from trading.indicators import IndicatorSpec
from trading.strategies import register
from trading.strategies.base import Param, Strategy, StrategyError

# t's own candle and the one before it, which a crossing compares with.
_CROSS_BARS = 2
TIE = 1e-9
_RSI_SCALE = 100.0


def cross_up(a: np.ndarray, b: np.ndarray | float, tie: np.ndarray | float = 0.0) -> np.ndarray:
    """True at t where ``a - b > tie`` at t and ``a - b <= tie`` at t-1.

    Never at bar 0; a NaN on either bar makes it false.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    band = np.broadcast_to(np.asarray(tie, dtype=np.float64), diff.shape)
    out = np.zeros(diff.shape, dtype=bool)
    out[1:] = (diff[1:] > band[1:]) & (diff[:-1] <= band[:-1])
    return out


def cross_down(a: np.ndarray, b: np.ndarray | float, tie: np.ndarray | float = 0.0) -> np.ndarray:
    """True at t where ``a - b < -tie`` at t and ``a - b >= -tie`` at t-1.

    Never at bar 0; a NaN on either bar makes it false.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    band = np.broadcast_to(np.asarray(tie, dtype=np.float64), diff.shape)
    out = np.zeros(diff.shape, dtype=bool)
    out[1:] = (diff[1:] < -band[1:]) & (diff[:-1] >= -band[:-1])
    return out


def _price_tie(candles: pd.DataFrame) -> np.ndarray:
    """The level band for lines in price units: TIE times the close."""
    return TIE * _values(candles["close"])


def _signal_frame(candles: pd.DataFrame, buy: np.ndarray, sell: np.ndarray) -> pd.DataFrame:
    signal = buy.astype(np.int8) - sell.astype(np.int8)
    return pd.DataFrame({"signal": signal}, index=candles.index, copy=False)


def _values(series: pd.Series | pd.DataFrame, column: str | None = None) -> np.ndarray:
    frame = series if column is None else series[column]
    return frame.to_numpy(dtype=np.float64)


def _fast_below_slow(params: Mapping[str, Any]) -> None:
    if params["fast"] >= params["slow"]:
        raise StrategyError(
            "fast", f"fast ({params['fast']}) must be less than slow ({params['slow']})."
        )


def _warmup(**spec: Any) -> int:
    return ind.warmup_bars(IndicatorSpec(**spec)) + _CROSS_BARS


# --- sma_cross ---------------------------------------------------------------------------


def _sma_cross(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    fast = _values(ind.sma(candles, params["fast"]))
    slow = _values(ind.sma(candles, params["slow"]))
    tie = _price_tie(candles)
    return _signal_frame(candles, cross_up(fast, slow, tie), cross_down(fast, slow, tie))


sma_cross = register(
    Strategy(
        name="sma_cross",
        description=(
            "Buy when the fast simple moving average of close crosses above the slow one, "
            "sell when it crosses below."
        ),
        params=(
            Param("fast", int, 10, 1, 200, "Bars in the fast SMA (1 = the close itself)."),
            Param("slow", int, 50, 2, 500, "Bars in the slow SMA; more than fast."),
        ),
        compute=_sma_cross,
        warmup=lambda p: _warmup(indicators=("sma",), sma_period=p["slow"]),
        check=_fast_below_slow,
    )
)


# --- ema_cross ---------------------------------------------------------------------------


def _ema_cross(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    fast = _values(ind.ema(candles, params["fast"]))
    slow = _values(ind.ema(candles, params["slow"]))
    tie = _price_tie(candles)
    return _signal_frame(candles, cross_up(fast, slow, tie), cross_down(fast, slow, tie))


ema_cross = register(
    Strategy(
        name="ema_cross",
        description=(
            "Buy when the fast exponential moving average of close crosses above the slow "
            "one, sell when it crosses below (TA-Lib EMAs, seeded with an SMA)."
        ),
        params=(
            Param("fast", int, 12, 1, 200, "Bars in the fast EMA (1 = the close itself)."),
            Param("slow", int, 26, 2, 500, "Bars in the slow EMA; more than fast."),
        ),
        compute=_ema_cross,
        warmup=lambda p: _warmup(indicators=("ema",), ema_period=p["slow"]),
        check=_fast_below_slow,
    )
)


# --- rsi_reversion -----------------------------------------------------------------------


def _rsi_reversion(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    rsi = _values(ind.rsi(candles, params["period"]))
    return _signal_frame(
        candles,
        cross_up(rsi, float(params["oversold"]), TIE * _RSI_SCALE),
        cross_down(rsi, float(params["overbought"]), TIE * _RSI_SCALE),
    )


def _oversold_below_overbought(params: Mapping[str, Any]) -> None:
    if params["oversold"] >= params["overbought"]:
        raise StrategyError(
            "oversold",
            f"oversold ({params['oversold']}) must be less than overbought "
            f"({params['overbought']}).",
        )


rsi_reversion = register(
    Strategy(
        name="rsi_reversion",
        description=(
            "Mean reversion on Wilder's RSI: buy when RSI crosses up through the oversold "
            "level, sell when it crosses down through the overbought level."
        ),
        params=(
            Param("period", int, 14, 2, 200, "Bars in the RSI."),
            Param("oversold", float, 30.0, 1.0, 50.0, "RSI level (0-100) to buy back above."),
            Param("overbought", float, 70.0, 50.0, 99.0, "RSI level (0-100) to sell back below."),
        ),
        compute=_rsi_reversion,
        warmup=lambda p: _warmup(indicators=("rsi",), rsi_period=p["period"]),
        check=_oversold_below_overbought,
    )
)


# --- macd_trend --------------------------------------------------------------------------


def _macd_trend(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    frame = ind.macd(candles, params["fast"], params["slow"], params["signal"])
    line, signal = _values(frame, "macd"), _values(frame, "macd_signal")
    tie = _price_tie(candles)
    return _signal_frame(candles, cross_up(line, signal, tie), cross_down(line, signal, tie))


macd_trend = register(
    Strategy(
        name="macd_trend",
        description=(
            "Trend following on MACD: buy when the MACD line crosses above its signal line, "
            "sell when it crosses below."
        ),
        params=(
            Param("fast", int, 12, 2, 200, "Bars in the fast EMA."),
            Param("slow", int, 26, 3, 500, "Bars in the slow EMA; more than fast."),
            Param("signal", int, 9, 2, 200, "Bars in the EMA of the MACD line."),
        ),
        compute=_macd_trend,
        warmup=lambda p: _warmup(
            indicators=("macd",),
            macd_fast=p["fast"],
            macd_slow=p["slow"],
            macd_signal=p["signal"],
        ),
        check=_fast_below_slow,
    )
)


# --- bollinger_breakout ------------------------------------------------------------------


def _bollinger_breakout(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    bands = ind.bollinger(candles, params["period"], float(params["std"]))
    close = _values(candles["close"])
    tie = _price_tie(candles)
    return _signal_frame(
        candles,
        cross_up(close, _values(bands, "bb_upper"), tie),
        cross_down(close, _values(bands, "bb_lower"), tie),
    )


bollinger_breakout = register(
    Strategy(
        name="bollinger_breakout",
        description=(
            "Breakout of the Bollinger bands: buy on the bar whose close first closes above "
            "the upper band, sell on the bar whose close first closes below the lower band."
        ),
        params=(
            Param("period", int, 20, 2, 500, "Bars in the moving average and deviation."),
            Param("std", float, 2.0, 0.5, 5.0, "Band width in population standard deviations."),
        ),
        compute=_bollinger_breakout,
        warmup=lambda p: _warmup(indicators=("bollinger",), bb_period=p["period"]),
    )
)


# --- ml_signal ---------------------------------------------------------------------------

ML_NOT_READY = "ml_signal needs the ML app's model provider; it is installed with the ml app."

# How the active model's p(up) is computed for a candles frame, plugged in by the ml app
# (trading does not import ml): provider(candles, symbol, timeframe) -> Series of p(up)
# on the candles' index (NaN where the model cannot say), or StrategyError.
MlProvider = Callable[[pd.DataFrame, str, str], pd.Series]
_ml_provider: list[MlProvider] = []


def ml_provider_set(provider: MlProvider) -> None:
    """Install how ml_signal reads the active model (the ml app does this at start-up)."""
    _ml_provider[:] = [provider]


def _ml_signal(candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    # p(up) >= threshold is the "long" state, <= 1 - threshold "short", else neutral; like
    # the other strategies, a signal is emitted on the bar where the state is entered.
    if not _ml_provider:
        raise StrategyError("strategy", ML_NOT_READY)
    symbol, timeframe = candles.attrs.get("symbol"), candles.attrs.get("timeframe")
    if not symbol or not timeframe:
        raise StrategyError(
            "strategy", "ml_signal needs the candles' symbol and timeframe (stored candles)."
        )
    p_up = _ml_provider[0](candles, symbol, timeframe).to_numpy(dtype=np.float64)
    threshold = float(params["threshold"])
    state = np.where(p_up >= threshold, 1, np.where(p_up <= 1.0 - threshold, -1, 0))
    previous = np.r_[0, state[:-1]]
    signal = np.where((state != 0) & (state != previous), state, 0)
    return pd.DataFrame({"signal": signal.astype(np.int8)}, index=candles.index)


ml_signal = register(
    Strategy(
        name="ml_signal",
        description=(
            "Acts on the shared default ML model of the candles' symbol and timeframe: buy "
            "when its probability of a rise over its horizon reaches the threshold, sell "
            "when it falls to 1 - threshold."
        ),
        params=(
            Param("threshold", float, 0.6, 0.5, 0.99, "Probability needed to act (0.5-0.99)."),
        ),
        compute=_ml_signal,
        warmup=lambda p: 500,
    )
)
