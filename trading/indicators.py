"""Technical indicators over OHLCV candles, computed with TA-Lib (pure: no ORM, no network).

Every function takes a candles DataFrame with float columns ``open, high, low, close,
volume`` in ascending time order and returns float64 values aligned to its rows (same
index). TA-Lib is called directly because it is the field's reference and the fastest
option measured (docs: PERFORMANCE.md, "Indicators"); the values are TA-Lib's, bit for bit,
with TA-Lib's default settings (no unstable period, classic compatibility mode).

Two things follow from TA-Lib's rules and shape how callers use this module:

* Before an indicator's warm-up (TA-Lib's "lookback") the value is NaN; the API turns NaN
  into null.
* Recursive indicators (EMA, MACD, RSI, ATR, ADX) are seeded from the first bars they see,
  so a value depends on where the loaded history starts. :func:`warmup_bars` says how many
  earlier candles to load before a requested window so that the seed no longer shows;
  compute over ``warmup + window`` candles, then keep the window's rows.

The ``/features/indicators`` route uses the declarative half: :func:`parse_indicator_params`
turns query parameters into a validated :class:`IndicatorSpec`, :func:`compute_indicators`
computes it, and invalid input raises :class:`IndicatorParamError` naming the parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import talib

INDICATORS: Final[tuple[str, ...]] = (
    "sma",
    "ema",
    "rsi",
    "macd",
    "bollinger",
    "atr",
    "stoch",
    "obv",
    "vwap",
    "adx",
)
"""Every indicator name, in the order :func:`compute_indicators` emits their columns."""

ALIASES: Final[Mapping[str, str]] = {"bb": "bollinger"}

MAX_PERIOD: Final = 500
MAX_BB_STD: Final = 10.0

# TA-Lib refuses (TA_BAD_PARAM) periods below these; everything else accepts 1.
_MIN_PERIOD: Final[Mapping[str, int]] = {
    "rsi_period": 2,
    "macd_fast": 2,
    "macd_slow": 2,
    "bb_period": 2,
    "adx_period": 2,
}
PERIOD_PARAMS: Final[tuple[str, ...]] = (
    "sma_period",
    "ema_period",
    "rsi_period",
    "macd_fast",
    "macd_slow",
    "macd_signal",
    "bb_period",
    "atr_period",
    "stoch_k",
    "stoch_smooth",
    "stoch_d",
    "adx_period",
)

# Weight a recursive seed may still carry inside the window. 1e-9 keeps windowed values
# within ~1e-9 relative of a computation over the full history.
_SEED_WEIGHT: Final = 1e-9
_DAY_MS: Final = 86_400_000
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


class IndicatorParamError(ValueError):
    """A requested indicator or period that cannot be computed; names the parameter.

    Raised by :func:`parse_indicator_params`, :class:`IndicatorSpec` and the indicator
    functions, so the API layer can answer 400 naming ``param``.
    """

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """A validated set of indicators with their periods; field names are the query params.

    ``indicators`` holds canonical names (see :data:`INDICATORS`) in canonical order.
    Construction validates every field, whichever indicators are requested, and raises
    :class:`IndicatorParamError` naming the first bad one.
    """

    indicators: tuple[str, ...] = INDICATORS
    sma_period: int = 20
    ema_period: int = 20
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_period: int = 20
    bb_std: float = 2.0
    atr_period: int = 14
    stoch_k: int = 14
    stoch_smooth: int = 3
    stoch_d: int = 3
    adx_period: int = 14

    def __post_init__(self) -> None:
        object.__setattr__(self, "indicators", _canonical_names(self.indicators))
        for param in PERIOD_PARAMS:
            _check_period(param, getattr(self, param))
        if self.macd_fast >= self.macd_slow:
            raise IndicatorParamError(
                "macd_fast",
                f"must be less than macd_slow ({self.macd_slow}), got {self.macd_fast}",
            )
        _check_bb_std(self.bb_std)
        object.__setattr__(self, "bb_std", float(self.bb_std))

    @property
    def columns(self) -> list[str]:
        """Output column names, in the order :func:`compute_indicators` returns them."""
        names = {
            "sma": [f"sma_{self.sma_period}"],
            "ema": [f"ema_{self.ema_period}"],
            "rsi": [f"rsi_{self.rsi_period}"],
            "macd": ["macd", "macd_signal", "macd_hist"],
            "bollinger": ["bb_upper", "bb_middle", "bb_lower"],
            "atr": [f"atr_{self.atr_period}"],
            "stoch": ["stoch_k", "stoch_d"],
            "obv": ["obv"],
            "vwap": ["vwap"],
            "adx": [f"adx_{self.adx_period}"],
        }
        return [column for name in self.indicators for column in names[name]]


def parse_indicator_params(query: Mapping[str, str]) -> IndicatorSpec:
    """Read ``indicators`` and the period query parameters into an :class:`IndicatorSpec`.

    ``indicators`` is a comma list of names (``bb`` is an alias of ``bollinger``; case and
    spaces are ignored; absent means all). Periods are whole numbers from 1 (2 where TA-Lib
    requires it) to 500; ``bb_std`` is a decimal in (0, 10]; ``macd_fast < macd_slow``.
    Parameters not listed here are ignored (they belong to the caller). Raises
    :class:`IndicatorParamError` naming the offending parameter.
    """
    values: dict[str, object] = {}
    if "indicators" in query:
        raw = query["indicators"]
        values["indicators"] = tuple(part.strip().lower() for part in raw.split(","))
    for param in PERIOD_PARAMS:
        if param in query:
            values[param] = _parse_period(param, query[param])
    if "bb_std" in query:
        raw = query["bb_std"].strip()
        if not _DECIMAL.fullmatch(raw):
            raise IndicatorParamError(
                "bb_std", f"must be a number above 0 and at most {MAX_BB_STD:g}, got {raw!r}"
            )
        values["bb_std"] = float(raw)
    return IndicatorSpec(**values)  # type: ignore[arg-type]


def warmup_bars(spec: IndicatorSpec, *, timeframe_ms: int = 60_000) -> int:
    """How many candles to load before a window so its values match a full-history run.

    Non-recursive indicators (SMA, Bollinger, Stochastic) need only TA-Lib's lookback.
    Recursive ones need the lookback plus enough bars for the seed's weight to fall below
    1e-9: ``ceil(ln 1e-9 / ln a)`` with ``a = (n-1)/(n+1)`` for EMAs (about 10n) and
    ``a = (n-1)/n`` for Wilder smoothing (RSI, ATR: about 20n). MACD adds the slow EMA's
    and the signal EMA's decay to its ``slow + signal - 2`` lookback. ADX smooths twice
    (DM/TR, then DX): two stacked filters at one rate leave ``(1 + m/n) a^m`` of the seed,
    so it adds a Wilder decay solved for that (about 24n) to its ``2n - 1`` lookback.

    VWAP needs the window's first UTC day from its start: one day of bars at
    ``timeframe_ms`` (gaps only make those bars span more time). The default, 1m, is the
    shortest timeframe, so it is enough for every timeframe, just more than needed.

    OBV gets none: it is a running total whose level depends on the first loaded candle
    whatever the warm-up (only its changes are comparable; see :func:`obv`).
    """
    needs = [0]
    names = set(spec.indicators)
    if "sma" in names:
        needs.append(spec.sma_period - 1)
    if "ema" in names:
        needs.append(spec.ema_period - 1 + _ema_decay_bars(spec.ema_period))
    if "rsi" in names:
        needs.append(spec.rsi_period + _wilder_decay_bars(spec.rsi_period))
    if "macd" in names:
        needs.append(
            spec.macd_slow
            + spec.macd_signal
            - 2
            + _ema_decay_bars(spec.macd_slow)
            + _ema_decay_bars(spec.macd_signal)
        )
    if "bollinger" in names:
        needs.append(spec.bb_period - 1)
    if "atr" in names:
        needs.append(spec.atr_period + _wilder_decay_bars(spec.atr_period))
    if "stoch" in names:
        needs.append(spec.stoch_k + spec.stoch_smooth + spec.stoch_d - 3)
    if "vwap" in names and timeframe_ms < _DAY_MS:
        needs.append(math.ceil(_DAY_MS / timeframe_ms))
    if "adx" in names:
        needs.append(2 * spec.adx_period - 1 + _wilder_decay_bars(spec.adx_period, stacked=True))
    return max(needs)


def compute_indicators(candles: pd.DataFrame, spec: IndicatorSpec) -> pd.DataFrame:
    """The indicators of ``spec`` over ``candles``: one float64 column per output.

    Columns are ``spec.columns`` (e.g. ``sma_20 ... adx_14`` for the defaults), the index is
    ``candles.index``; values before each indicator's warm-up are NaN.
    """
    parts: dict[str, np.ndarray] = {}
    index = candles.index
    for name in spec.indicators:
        if name == "sma":
            result: pd.Series | pd.DataFrame = sma(candles, spec.sma_period)
        elif name == "ema":
            result = ema(candles, spec.ema_period)
        elif name == "rsi":
            result = rsi(candles, spec.rsi_period)
        elif name == "macd":
            result = macd(candles, spec.macd_fast, spec.macd_slow, spec.macd_signal)
        elif name == "bollinger":
            result = bollinger(candles, spec.bb_period, spec.bb_std)
        elif name == "atr":
            result = atr(candles, spec.atr_period)
        elif name == "stoch":
            result = stochastic(candles, spec.stoch_k, spec.stoch_smooth, spec.stoch_d)
        elif name == "obv":
            result = obv(candles)
        elif name == "vwap":
            result = vwap(candles)
        else:
            result = adx(candles, spec.adx_period)
        if isinstance(result, pd.Series):
            parts[str(result.name)] = result.to_numpy()
        else:
            parts.update({str(col): result[col].to_numpy() for col in result.columns})
    # copy=False: the arrays are fresh and ours; consolidating 15 columns into one block
    # would copy them all (~25 ms for a year of 1m candles) for nothing.
    return pd.DataFrame(parts, index=index, columns=spec.columns, dtype=np.float64, copy=False)


def sma(candles: pd.DataFrame, n: int = 20) -> pd.Series:
    """Simple moving average of close over ``n`` bars (``sma_<n>``); NaN for the first n-1."""
    _check_period("sma_period", n)
    return _series(candles, f"sma_{n}", talib.SMA(_col(candles, "close"), timeperiod=n))


def ema(candles: pd.DataFrame, n: int = 20) -> pd.Series:
    """Exponential moving average of close (``ema_<n>``), TA-Lib's classic seeding.

    The first value (bar n-1) is the SMA of the first n closes, then ``k = 2/(n+1)``; the
    seed therefore depends on where the data starts (see :func:`warmup_bars`).
    """
    _check_period("ema_period", n)
    return _series(candles, f"ema_{n}", talib.EMA(_col(candles, "close"), timeperiod=n))


def rsi(candles: pd.DataFrame, n: int = 14) -> pd.Series:
    """Wilder's relative strength index of close, 0-100 (``rsi_<n>``); first value at bar n.

    Average gain and loss start as the means of the first n close-to-close changes, then
    follow ``(prev*(n-1) + x)/n``; TA-Lib answers 0 when both averages are 0.
    """
    _check_period("rsi_period", n)
    return _series(candles, f"rsi_{n}", talib.RSI(_col(candles, "close"), timeperiod=n))


def macd(candles: pd.DataFrame, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """MACD line, signal line and histogram of close (``macd, macd_signal, macd_hist``).

    TA-Lib seeds the slow EMA with the SMA of bars 0..slow-1 and the fast EMA with the mean
    of the ``fast`` bars ending at that same bar (bars 14-25 for 12/26), so both start at
    bar slow-1; the signal EMA is seeded with the mean of the first ``signal`` MACD values.
    All three are NaN until the signal exists (bar ``slow + signal - 2``, 33 for 12/26/9).
    """
    _check_period("macd_fast", fast)
    _check_period("macd_slow", slow)
    _check_period("macd_signal", signal)
    if fast >= slow:
        raise IndicatorParamError("macd_fast", f"must be less than macd_slow ({slow}), got {fast}")
    line, sig, hist = talib.MACD(
        _col(candles, "close"), fastperiod=fast, slowperiod=slow, signalperiod=signal
    )
    return _frame(candles, {"macd": line, "macd_signal": sig, "macd_hist": hist})


def bollinger(candles: pd.DataFrame, n: int = 20, k: float = 2.0) -> pd.DataFrame:
    """Bollinger bands of close: SMA(n) plus/minus ``k`` population standard deviations.

    Columns ``bb_upper, bb_middle, bb_lower``. TA-Lib uses ddof 0 (population) and clamps a
    variance within 1e-8 of zero to a zero deviation.
    """
    _check_period("bb_period", n)
    _check_bb_std(k)
    upper, middle, lower = talib.BBANDS(
        _col(candles, "close"), timeperiod=n, nbdevup=k, nbdevdn=k, matype=talib.MA_Type.SMA
    )
    return _frame(candles, {"bb_upper": upper, "bb_middle": middle, "bb_lower": lower})


def atr(candles: pd.DataFrame, n: int = 14) -> pd.Series:
    """Wilder's average true range (``atr_<n>``), in price units; first value at bar n.

    True range needs the previous close, so it exists from bar 1; the first ATR is the mean
    of true ranges 1..n, then ``(prev*(n-1) + tr)/n``.
    """
    _check_period("atr_period", n)
    high, low, close = _col(candles, "high"), _col(candles, "low"), _col(candles, "close")
    return _series(candles, f"atr_{n}", talib.ATR(high, low, close, timeperiod=n))


def stochastic(
    candles: pd.DataFrame, k_period: int = 14, k_slowing: int = 3, d_period: int = 3
) -> pd.DataFrame:
    """Slow stochastic oscillator, 0-100 (``stoch_k, stoch_d``), TA-Lib STOCH with SMAs.

    Fast %K is ``100 * (close - lowest low) / (highest high - lowest low)`` over
    ``k_period`` bars (0 when that range is 0); %K is its SMA over ``k_slowing`` and %D
    the SMA of %K over ``d_period``. Both are NaN until %D exists (bar k+slowing+d-3).
    """
    _check_period("stoch_k", k_period)
    _check_period("stoch_smooth", k_slowing)
    _check_period("stoch_d", d_period)
    slow_k, slow_d = talib.STOCH(
        _col(candles, "high"),
        _col(candles, "low"),
        _col(candles, "close"),
        fastk_period=k_period,
        slowk_period=k_slowing,
        slowk_matype=talib.MA_Type.SMA,
        slowd_period=d_period,
        slowd_matype=talib.MA_Type.SMA,
    )
    return _frame(candles, {"stoch_k": slow_k, "stoch_d": slow_d})


def obv(candles: pd.DataFrame) -> pd.Series:
    """On-balance volume (``obv``), in base-asset units: TA-Lib's running total.

    It starts at the first candle's volume and adds (subtracts) each volume whose close is
    above (below) the previous close. Being a running total, its level depends on the first
    loaded candle and no warm-up fixes that: only differences between two bars of one
    computation mean something (they equal those of any other computation covering both).
    """
    return _series(candles, "obv", talib.OBV(_col(candles, "close"), _col(candles, "volume")))


def vwap(candles: pd.DataFrame) -> pd.Series:
    """Session volume-weighted average price (``vwap``), resetting at 00:00 UTC each day.

    ``cumsum(typical * volume) / cumsum(volume)`` within each UTC day, where typical price
    is ``(high + low + close) / 3`` and a candle belongs to the day its open time falls in.
    TA-Lib has no VWAP; this is the common intraday definition (daily anchor, like most
    charting tools). NaN where it cannot be known: the first day in ``candles`` unless it
    starts exactly at 00:00 UTC (its earlier candles are missing), and while a day has
    traded no volume yet. Open times come from a DatetimeIndex (naive means UTC), or from
    an ``open_time`` index or column holding datetimes or integer epoch milliseconds.
    Candles must be in ascending time order.
    """
    high, low, close = _col(candles, "high"), _col(candles, "low"), _col(candles, "close")
    volume = _col(candles, "volume")
    out = np.full(len(candles), np.nan)
    if not len(candles):
        return _series(candles, "vwap", out)
    open_ms = _open_time_ms(candles)
    if np.any(open_ms[1:] <= open_ms[:-1]):
        raise ValueError("candles must be in strictly ascending open_time order")
    day = open_ms // _DAY_MS
    bounds = np.flatnonzero(day[1:] != day[:-1]) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(candles)]
    if open_ms[0] % _DAY_MS:  # the first day's earlier candles were not loaded
        del starts[0], ends[0]
    weighted = (high + low + close) / 3.0 * volume
    cum_pv = np.empty_like(weighted)
    cum_v = np.empty_like(volume)
    # One cumsum per day, not one global cumsum minus offsets: keeps each day's sums exact
    # whatever came before, so a window agrees with the full history.
    for start, end in zip(starts, ends, strict=True):
        np.cumsum(weighted[start:end], out=cum_pv[start:end])
        np.cumsum(volume[start:end], out=cum_v[start:end])
        np.divide(
            cum_pv[start:end],
            cum_v[start:end],
            out=out[start:end],
            where=cum_v[start:end] > 0,
        )
    return _series(candles, "vwap", out)


def adx(candles: pd.DataFrame, n: int = 14) -> pd.Series:
    """Wilder's average directional index, 0-100 (``adx_<n>``); first value at bar 2n-1.

    +DM/-DM and true range are summed over bars 1..n-1, then Wilder-smoothed; DX comes from
    the smoothed +DI/-DI, and ADX starts as the mean of the first n DX values, then
    ``(prev*(n-1) + dx)/n``. Two stacked recursive seeds: see :func:`warmup_bars`.
    """
    _check_period("adx_period", n)
    high, low, close = _col(candles, "high"), _col(candles, "low"), _col(candles, "close")
    return _series(candles, f"adx_{n}", talib.ADX(high, low, close, timeperiod=n))


def _canonical_names(names: tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(names, str):  # IndicatorSpec(indicators="rsi"): one name, not its letters
        names = (names,)
    wanted = set()
    for raw in names:
        name = ALIASES.get(raw, raw)
        if name not in INDICATORS:
            valid = ", ".join([*INDICATORS, *ALIASES])
            shown = raw or "(empty)"
            raise IndicatorParamError("indicators", f"unknown indicator {shown!r}; use {valid}")
        wanted.add(name)
    if not wanted:
        raise IndicatorParamError("indicators", "name at least one indicator")
    return tuple(name for name in INDICATORS if name in wanted)


def _parse_period(param: str, raw: str) -> int:
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        low = _MIN_PERIOD.get(param, 1)
        raise IndicatorParamError(
            param, f"must be a whole number from {low} to {MAX_PERIOD}, got {raw!r}"
        )
    return int(text)


def _check_period(param: str, value: object) -> None:
    low = _MIN_PERIOD.get(param, 1)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= MAX_PERIOD
    ):
        raise IndicatorParamError(
            param, f"must be a whole number from {low} to {MAX_PERIOD}, got {value!r}"
        )


def _check_bb_std(value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating | np.integer)
        or not 0 < value <= MAX_BB_STD
    ):
        raise IndicatorParamError(
            "bb_std", f"must be a number above 0 and at most {MAX_BB_STD:g}, got {value!r}"
        )


def _ema_decay_bars(n: int) -> int:
    """Bars after which an EMA's seed weighs less than _SEED_WEIGHT: ((n-1)/(n+1))^m."""
    return _decay_bars((n - 1) / (n + 1))


def _wilder_decay_bars(n: int, *, stacked: bool = False) -> int:
    """Bars after which a Wilder average's seed weighs less than _SEED_WEIGHT: ((n-1)/n)^m.

    ``stacked``: a Wilder average of a Wilder average (ADX) keeps ``(1 + m/n)`` times that
    weight, so add the bars that shrink it by that factor too.
    """
    bars = _decay_bars((n - 1) / n)
    if stacked and n > 1:
        bars += math.ceil(math.log1p(bars / n) / -math.log((n - 1) / n))
    return bars


def _decay_bars(factor: float) -> int:
    if factor <= 0.0:  # period 1: no memory
        return 0
    return math.ceil(math.log(_SEED_WEIGHT) / math.log(factor))


def _col(candles: pd.DataFrame, name: str) -> np.ndarray:
    """A column as the contiguous float64 array TA-Lib needs (no copy when it already is)."""
    return np.ascontiguousarray(candles[name].to_numpy(dtype=np.float64))


def _series(candles: pd.DataFrame, name: str, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=candles.index, name=name, copy=False)


def _frame(candles: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=candles.index, copy=False)


def _open_time_ms(candles: pd.DataFrame) -> np.ndarray:
    """Candle open times as int64 UTC epoch milliseconds, from the index or a column."""
    if isinstance(candles.index, pd.DatetimeIndex):
        times: pd.Index | pd.Series = candles.index
    elif candles.index.name == "open_time":
        times = candles.index
    elif "open_time" in candles.columns:
        times = candles["open_time"]
    else:
        raise ValueError("candles need a DatetimeIndex or an open_time index or column")
    if pd.api.types.is_integer_dtype(times.dtype):
        return np.asarray(times, dtype=np.int64)
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        raise ValueError(f"open_time must hold datetimes or epoch milliseconds, not {times.dtype}")
    stamps = pd.DatetimeIndex(times)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return np.asarray(stamps.as_unit("ms").asi8, dtype=np.int64)
