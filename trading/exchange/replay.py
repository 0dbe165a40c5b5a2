"""The replay exchange: real historical candles played back as a live market, no network.

Timeline (all times UTC epoch ms). The data of a symbol is a *finest* series (1m for BTCUSDT
and ETHUSDT, 1h for the others) that covers data time [start, end), where end is the close of
its last candle, plus for BTC/ETH a coarser 1h *history* series before start.

* Shift: replay time = data time + offset. The offset is a whole number of weeks, so hour and
  day buckets, time of day and day of week of the shifted candles match the real ones. It is
  the smallest multiple of 7 days that puts the shifted end at or after ``origin_ms`` (the
  bot's first start): history ends when the bot starts and the rest, less than a week of real
  data, is the future that gets played.
* Loop: when replay time reaches the shifted end, the finest series plays again from its
  first candle, shifted by one more loop length (loop = data span + one candle period). Loop
  ``k`` covers replay time [start + offset + k*loop, end + offset + k*loop). Only the finest
  series loops, so BTC/ETH keep 1m resolution and repeat their 25 days of 1m data; the 1h
  history exists once, before the first loop. **The price jumps at each seam** from the last
  close of the data to the first open (BTC: ~107k -> ~105k; 1h symbols jump back to their
  2018/2020 prices, e.g. SOL ~139 -> ~2.85). After a seam, weekday/hour alignment is no
  longer guaranteed because the loop length is not a multiple of a week.
* Ticks: inside each finest candle the price moves linearly through the corners
  O -> L -> H -> C (close >= open) or O -> H -> L -> C (close < open), at one constant speed:
  each leg takes a share of the candle's duration proportional to its length. (Equal time
  shares would leave the price still for a quarter of the candle whenever a leg is empty,
  e.g. an up candle that opens at its low, which is common on 1m data; with constant speed a
  2 s poll sees a new price unless the whole candle is flat.) The close is reached exactly at
  the end, so the path is continuous with the next open whenever the data is. In a gap
  between candles the price stays at the last close.

Everything here is a pure function of (data, origin, now): every process (web, worker, beat)
sees the same prices for the same replay time. Candles are float (analytics data); ticker and
book prices are Decimal rounded to the symbol's tick size.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from trading.exchange.base import TIMEFRAMES, Bar, OrderBook, SymbolNotSupported, Ticker

WEEK_MS = 7 * 86_400_000
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_LIMIT = 1000  # candles per fetch_ohlcv call, like Binance; callers page with since_ms
MAX_DEPTH = 1000  # order-book levels per side

DEFAULT_TICK_SIZES: dict[str, Decimal] = {
    "BTCUSDT": Decimal("0.01"),
    "ETHUSDT": Decimal("0.01"),
    "BNBUSDT": Decimal("0.01"),
    "SOLUSDT": Decimal("0.01"),
    "XRPUSDT": Decimal("0.0001"),
}
DEFAULT_STEP_SIZES: dict[str, Decimal] = {
    "BTCUSDT": Decimal("0.00001"),
    "ETHUSDT": Decimal("0.0001"),
    "BNBUSDT": Decimal("0.001"),
    "SOLUSDT": Decimal("0.001"),
    "XRPUSDT": Decimal("0.1"),
}
FALLBACK_INCREMENT = Decimal("0.00000001")  # tick/step for a data file without a default

HALF_SPREAD_FRACTION = 0.00005  # half of the ~1 bp synthetic spread
BOOK_STEP_FRACTION = 0.00005  # ~0.5 bp between order-book levels
BOOK_LEVEL_GROWTH = 0.15  # level i holds base_qty * (1 + 0.15 i)
BOOK_QTY_DIVISOR = 50  # base_qty = average volume per minute over the last hour / 50
VOLUME_QUANTUM = Decimal("0.00000001")  # Binance publishes volumes with 8 decimals

_CSV_COLUMNS = ("open_time_ms", "open", "high", "low", "close", "volume")


# --- the intra-candle path (pure) -------------------------------------------------------


def _waypoints(
    o: float, hi: float, lo: float, c: float
) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]]:
    """(fractions, prices) of the path's corners: the low comes first in an up candle.

    Each leg takes a share of the candle's duration proportional to its length, so the
    price moves at one constant speed and only a flat candle (o == h == l == c) stands still.
    """
    ys = (o, lo, hi, c) if c >= o else (o, hi, lo, c)
    d1, d2, d3 = abs(ys[1] - ys[0]), abs(ys[2] - ys[1]), abs(ys[3] - ys[2])
    total = d1 + d2 + d3
    if total <= 0.0:
        return (0.0, 0.0, 0.0, 1.0), ys
    return (0.0, d1 / total, (d1 + d2) / total, 1.0), ys


def intra_candle_price(o: float, hi: float, lo: float, c: float, fraction: float) -> float:
    """The path price at ``fraction`` (0..1) of a candle's duration (unrounded).

    Piecewise linear through the corners of ``_waypoints``; fractions outside [0, 1] are
    clamped, so a gap after the candle keeps its close.
    """
    f = min(max(fraction, 0.0), 1.0)
    xs, ys = _waypoints(o, hi, lo, c)
    for i in range(3):
        x0, x1 = xs[i], xs[i + 1]
        if f <= x1:
            if x1 <= x0:
                continue  # a leg of zero length takes no time
            return ys[i] + (ys[i + 1] - ys[i]) * (f - x0) / (x1 - x0)
    return c


def intra_candle_range(
    o: float, hi: float, lo: float, c: float, f0: float, f1: float
) -> tuple[float, float]:
    """(low, high) of the path between fractions f0 <= f1 of the candle (unrounded).

    The path is linear between corners, so its extremes are at the ends of the interval or
    at a corner inside it.
    """
    values = [intra_candle_price(o, hi, lo, c, f0), intra_candle_price(o, hi, lo, c, f1)]
    xs, ys = _waypoints(o, hi, lo, c)
    values.extend(y for x, y in zip(xs, ys, strict=True) if f0 < x < f1)
    return min(values), max(values)


# --- data loading -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    """One CSV file as read-only numpy arrays (data time, float prices)."""

    t: np.ndarray  # int64 open time ms, ascending
    o: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    v: np.ndarray
    volume_decimals: int  # the volume column is exact at this many decimals


def _volume_decimals(v: np.ndarray) -> int:
    """Fewest decimals (<= 8) at which every volume is an integer number of units.

    Volumes are published decimals (<= 8 places) read as float; scaled by 10**d they sit
    within float noise (< 1e-3 for the magnitudes here) of an integer exactly when d places
    suffice. The exact integer units give exact 24 h volume sums.
    """
    for d in range(9):
        scaled = v * 10.0**d
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-3):
            return d
    return 8


@functools.lru_cache(maxsize=64)
def _read_csv(path: str) -> _Raw:
    """Load a ``<SYMBOL>-<tf>.csv.gz`` file once per process (shared by every instance)."""
    frame = pd.read_csv(path, dtype={"open_time_ms": np.int64}, usecols=list(_CSV_COLUMNS))
    arrays = [frame[col].to_numpy(dtype=np.float64) for col in _CSV_COLUMNS[1:]]
    t = frame["open_time_ms"].to_numpy(dtype=np.int64)
    for arr in (t, *arrays):
        arr.flags.writeable = False
    return _Raw(t, *arrays, volume_decimals=_volume_decimals(arrays[4]))


@dataclass(frozen=True, slots=True)
class _Track:
    """Non-overlapping candles in data time with per-row duration and exact volume sums."""

    t: np.ndarray  # int64 open time ms, ascending
    dur: np.ndarray  # int64 ms
    o: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    v: np.ndarray
    vcum: np.ndarray  # int64, len n + 1: volume units (10**-decimals base) of rows < i

    @classmethod
    def build(cls, parts: Iterable[tuple[_Raw, int, slice]], decimals: int) -> _Track:
        """Concatenate row slices of raw files, each with its candle duration in ms."""
        parts = list(parts)

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(raw, name)[sl] for raw, _, sl in parts])

        t = cat("t")
        dur = np.concatenate([np.full(len(raw.t[sl]), ms, dtype=np.int64) for raw, ms, sl in parts])
        v = cat("v")
        units = np.rint(v * 10.0**decimals).astype(np.int64)
        if float(np.sum(v)) * 10.0**decimals > 2.0**62:
            raise ValueError("volume sums would overflow int64; lower the volume decimals")
        vcum = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(units)])
        return cls(t, dur, cat("o"), cat("hi"), cat("lo"), cat("c"), v, vcum)


# Which k=0 track a query reads: ticks (history then finest, no overlap), candles at or above
# the history timeframe (history up to the first whole history bucket, then finest), or
# candles below it (finest only). Every loop k >= 1 reads the finest series.
_TICK, _AGG, _FINE = "tick", "agg", "fine"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where a symbol's data sits in replay time (epoch ms); see the module docstring."""

    offset_ms: int  # replay time - data time on the first pass; a multiple of WEEK_MS
    data_start_ms: int  # data time of the first finest candle
    data_end_ms: int  # data time of the end (close) of the last finest candle
    loop_ms: int  # data_end_ms - data_start_ms: span + one candle period
    history_start_ms: int  # replay time of the first candle of any timeframe

    @property
    def first_seam_ms(self) -> int:
        """Replay time at which the finest series starts again from its beginning."""
        return self.data_end_ms + self.offset_ms

    def loop_of(self, replay_ms: int) -> int:
        """0 for the first pass (and all history), k for the k-th replay of the data."""
        data_ms = replay_ms - self.offset_ms
        if data_ms < self.data_end_ms:
            return 0
        return (data_ms - self.data_start_ms) // self.loop_ms

    def shift(self, loop: int) -> int:
        """Replay time minus data time in loop ``loop``."""
        return self.offset_ms + loop * self.loop_ms


@dataclass(frozen=True, slots=True)
class _Series:
    """Everything known about one symbol: tracks, timeline, increments."""

    symbol: str
    fine_ms: int
    hist_ms: int | None
    timeline: Timeline
    volume_decimals: int
    tick: Decimal
    step: Decimal
    tracks: dict[str, _Track]  # k=0 tracks by kind; _FINE is also every later loop

    def track(self, kind: str, loop: int) -> _Track:
        return self.tracks[_FINE if loop else kind]


def _file_name(symbol: str, timeframe: str) -> str:
    return f"{symbol}-{timeframe}.csv.gz"


# --- the exchange -----------------------------------------------------------------------


class ReplayExchange:
    """The default exchange: plays the shipped candles shifted so that history ends at origin.

    ``now_ms()`` gives the current replay time (the caller applies REPLAY_SPEED); every public
    method reads it once, so one answer is consistent in itself. Thread-safe: data is loaded
    lazily under a lock and never mutated afterwards.
    """

    name = "replay"

    def __init__(
        self,
        data_dir: Path,
        origin_ms: int,
        now_ms: Callable[[], int],
        *,
        symbols: Sequence[str] | None = None,
        tick_sizes: Mapping[str, Decimal] | None = None,
        step_sizes: Mapping[str, Decimal] | None = None,
    ) -> None:
        self._data_dir = Path(data_dir)
        self._origin_ms = int(origin_ms)
        self._now_ms = now_ms
        self._tick_sizes = {**DEFAULT_TICK_SIZES, **(tick_sizes or {})}
        self._step_sizes = {**DEFAULT_STEP_SIZES, **(step_sizes or {})}
        self._files = self._discover()
        if symbols is not None:
            wanted = [_normalize(s) for s in symbols]
            missing = sorted(set(wanted) - set(self._files))
            if missing:
                raise SymbolNotSupported(
                    f"no replay data for {', '.join(missing)} in {self._data_dir}; "
                    f"available: {', '.join(sorted(self._files))}"
                )
            self._files = {s: self._files[s] for s in wanted}
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    # -- public interface ----------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Supported symbols, sorted."""
        return tuple(sorted(self._files))

    def now_ms(self) -> int:
        """The current replay time (epoch ms), as the clock given at construction says."""
        return int(self._now_ms())

    def finest_timeframe(self, symbol: str) -> str:
        """1m for symbols with 1m data (BTCUSDT, ETHUSDT), else 1h."""
        return self._files[self._known(symbol)][0]

    def tick_size(self, symbol: str) -> Decimal:
        return self._tick_sizes.get(self._known(symbol), FALLBACK_INCREMENT)

    def step_size(self, symbol: str) -> Decimal:
        return self._step_sizes.get(self._known(symbol), FALLBACK_INCREMENT)

    def timeline(self, symbol: str) -> Timeline:
        """The symbol's offset, loop length and data range (loads its data)."""
        return self._get(symbol).timeline

    def preload(self) -> None:
        """Load every symbol now instead of on first use (e.g. at process start)."""
        for symbol in self._files:
            self._get(symbol)

    def price_at(self, symbol: str, replay_ms: int) -> Decimal:
        """The tick price at a replay time, rounded to the tick size (half-even)."""
        s = self._get(symbol)
        return _round(self._path_price(s, int(replay_ms)), s.tick)

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Ticker per symbol at the current replay time; 24 h stats are a rolling window.

        open_24h is the path price 24 h ago; high/low/volume cover [now - 24 h, now] along
        the path (the first and the forming candle pro rata), so they agree with the candles.
        """
        now = self.now_ms()
        series = [self._get(sym) for sym in dict.fromkeys(symbols)]
        return {s.symbol: self._ticker(s, now) for s in series}

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000
    ) -> list[Bar]:
        """Candles oldest first, at most ``min(limit, 1000)``, none opening after now.

        With ``since_ms`` the first candles opening at or after it; without, the last ones up
        to now. The last candle may be forming: its high/low/close/volume are those of the
        tick path so far (close == price_at(now)). Buckets are aligned to epoch multiples of
        the timeframe in replay time; only whole buckets are built at the start of the data.
        """
        s = self._get(symbol)
        tf_ms = self._timeframe_ms(s, timeframe)
        limit = min(max(int(limit), 1), MAX_LIMIT)
        now = self.now_ms()
        kind = _AGG if s.hist_ms is not None and tf_ms >= s.hist_ms else _FINE
        first = _ceil(int(s.tracks[kind].t[0]) + s.timeline.offset_ms, tf_ms)
        if since_ms is None:
            return self._last_bars(s, kind, tf_ms, first, now, limit)
        start = max(first, _ceil(int(since_ms), tf_ms))
        return self._bars_from(s, kind, tf_ms, start, now, limit)

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        """A synthetic book around the current price, deterministic in time.

        Best bid/ask are the ticker's; levels are ~0.5 bp (at least one tick) apart; level i
        holds base_qty * (1 + 0.15 i), base_qty = average volume per minute over the last
        hour / 50, rounded to the step size (at least one step). A market order walking it
        pays slippage that grows with its size relative to the recent volume.
        """
        s = self._get(symbol)
        now = self.now_ms()
        depth = min(max(int(depth), 1), MAX_DEPTH)
        price = _round(self._path_price(s, now), s.tick)
        bid, ask = _quote(price, s.tick)
        step_px = s.tick * max(1, round(float(price) * BOOK_STEP_FRACTION / float(s.tick)))
        _, _, hour_volume = self._window(s, now - HOUR_MS, now)
        base_qty = float(hour_volume) / 60 / BOOK_QTY_DIVISOR
        qtys = [_round_qty(base_qty * (1 + BOOK_LEVEL_GROWTH * i), s.step) for i in range(depth)]
        bids = tuple(
            (bid - i * step_px, qty) for i, qty in enumerate(qtys) if bid - i * step_px > 0
        )
        asks = tuple((ask + i * step_px, qty) for i, qty in enumerate(qtys))
        return OrderBook(symbol=s.symbol, bids=bids, asks=asks, timestamp_ms=now)

    # -- loading -------------------------------------------------------------------------

    def _discover(self) -> dict[str, tuple[str, ...]]:
        """Symbol -> its timeframes with a data file, finest first."""
        found: dict[str, list[str]] = {}
        for path in self._data_dir.glob("*-*.csv.gz"):
            symbol, _, timeframe = path.name.removesuffix(".csv.gz").rpartition("-")
            if timeframe in TIMEFRAMES:
                found.setdefault(symbol, []).append(timeframe)
        return {s: tuple(sorted(tfs, key=TIMEFRAMES.__getitem__)) for s, tfs in found.items()}

    def _known(self, symbol: str) -> str:
        sym = _normalize(symbol)
        if sym not in self._files:
            raise SymbolNotSupported(
                f"{symbol!r} is not supported by the replay exchange; "
                f"supported symbols: {', '.join(self.symbols)}"
            )
        return sym

    def _get(self, symbol: str) -> _Series:
        sym = self._known(symbol)
        series = self._series.get(sym)
        if series is None:
            with self._lock:
                series = self._series.get(sym)
                if series is None:
                    series = self._build(sym)
                    self._series[sym] = series
        return series

    def _build(self, symbol: str) -> _Series:
        """Read the symbol's files and lay out its tracks and timeline."""
        timeframes = self._files[symbol]
        fine_tf = timeframes[0]
        fine_ms = TIMEFRAMES[fine_tf]
        fine = _read_csv(str(self._data_dir / _file_name(symbol, fine_tf)))
        hist = None
        hist_ms = None
        if len(timeframes) > 1:
            hist_ms = TIMEFRAMES[timeframes[1]]
            hist = _read_csv(str(self._data_dir / _file_name(symbol, timeframes[1])))
        decimals = max(fine.volume_decimals, hist.volume_decimals if hist else 0)
        start = int(fine.t[0])
        end = int(fine.t[-1]) + fine_ms
        whole = slice(None)
        fine_track = _Track.build([(fine, fine_ms, whole)], decimals)
        tracks = {_FINE: fine_track, _TICK: fine_track, _AGG: fine_track}
        history_start = start
        if hist is not None and hist_ms is not None:
            # Ticks: history candles that close by `start` (no overlap with the finest data).
            n_tick = int(np.searchsorted(hist.t, start - hist_ms, side="right"))
            # Candles >= hist_ms: history up to the first whole history bucket of finest data.
            first_whole = _ceil(start, hist_ms)
            n_agg = int(np.searchsorted(hist.t, first_whole, side="left"))
            i_fine = int(np.searchsorted(fine.t, first_whole, side="left"))
            tracks[_TICK] = _Track.build(
                [(hist, hist_ms, slice(0, n_tick)), (fine, fine_ms, whole)], decimals
            )
            tracks[_AGG] = _Track.build(
                [(hist, hist_ms, slice(0, n_agg)), (fine, fine_ms, slice(i_fine, None))], decimals
            )
            history_start = min(start, int(hist.t[0]))
        offset = _ceil(self._origin_ms - end, WEEK_MS)
        timeline = Timeline(
            offset_ms=offset,
            data_start_ms=start,
            data_end_ms=end,
            loop_ms=end - start,
            history_start_ms=history_start + offset,
        )
        return _Series(
            symbol=symbol,
            fine_ms=fine_ms,
            hist_ms=hist_ms,
            timeline=timeline,
            volume_decimals=decimals,
            tick=self._tick_sizes.get(symbol, FALLBACK_INCREMENT),
            step=self._step_sizes.get(symbol, FALLBACK_INCREMENT),
            tracks=tracks,
        )

    # -- time-series primitives ----------------------------------------------------------

    @staticmethod
    def _pieces(s: _Series, kind: str, a: int, b: int) -> list[tuple[_Track, int, int, int]]:
        """Row ranges (track, i0, i1, shift) whose replay open time is in [a, b), in order."""
        if b <= a:
            return []
        tl = s.timeline
        out = []
        for loop in range(tl.loop_of(a), tl.loop_of(b - 1) + 1):
            track = s.track(kind, loop)
            shift = tl.shift(loop)
            i0 = int(np.searchsorted(track.t, a - shift, side="left"))
            i1 = int(np.searchsorted(track.t, b - shift, side="left"))
            if i1 > i0:
                out.append((track, i0, i1, shift))
        return out

    @staticmethod
    def _row_at(s: _Series, replay_ms: int) -> tuple[_Track, int, int] | None:
        """The tick-track row with the latest open <= replay_ms: (track, index, shift)."""
        loop = s.timeline.loop_of(replay_ms)
        track = s.track(_TICK, loop)
        shift = s.timeline.shift(loop)
        i = int(np.searchsorted(track.t, replay_ms - shift, side="right")) - 1
        if i < 0:
            return None
        return track, i, shift

    def _path_price(self, s: _Series, replay_ms: int) -> float:
        """Unrounded tick price; before the data, the first open; in a gap, the last close."""
        row = self._row_at(s, replay_ms)
        if row is None:
            return float(s.tracks[_TICK].o[0])
        track, i, shift = row
        fraction = (replay_ms - shift - int(track.t[i])) / int(track.dur[i])
        return intra_candle_price(*_ohlc(track, i), fraction)

    def _window(self, s: _Series, a: int, b: int) -> tuple[float, float, Decimal]:
        """(low, high, volume) of the tick path over replay time [a, b], a < b.

        The candle containing ``a`` contributes its path from a, the one containing ``b`` its
        path up to b, both with volume pro rata; whole candles use their exact volumes.
        """
        low, high = math.inf, -math.inf
        units = 0
        partial = 0.0
        head = self._row_at(s, a)
        if head is not None:
            track, i, shift = head
            t0, dur = int(track.t[i]) + shift, int(track.dur[i])
            if a < t0 + dur:
                f0, f1 = (a - t0) / dur, min(1.0, (b - t0) / dur)
                low, high = intra_candle_range(*_ohlc(track, i), f0, f1)
                if f0 == 0.0 and f1 == 1.0:
                    units += int(track.vcum[i + 1] - track.vcum[i])
                else:
                    partial += float(track.v[i]) * (f1 - f0)
        for track, i0, i1, shift in self._pieces(s, _TICK, a + 1, b + 1):
            last = i1 - 1
            t_last, dur_last = int(track.t[last]) + shift, int(track.dur[last])
            forming = t_last + dur_last > b
            j1 = last if forming else i1
            if j1 > i0:
                low = min(low, float(track.lo[i0:j1].min()))
                high = max(high, float(track.hi[i0:j1].max()))
                units += int(track.vcum[j1] - track.vcum[i0])
            if forming:
                f = (b - t_last) / dur_last
                lo, hi = intra_candle_range(*_ohlc(track, last), 0.0, f)
                low, high = min(low, lo), max(high, hi)
                partial += float(track.v[last]) * f
        volume = Decimal(units).scaleb(-s.volume_decimals) + Decimal(repr(partial))
        return low, high, volume

    def _ticker(self, s: _Series, now: int) -> Ticker:
        price = _round(self._path_price(s, now), s.tick)
        bid, ask = _quote(price, s.tick)
        low, high, volume = self._window(s, now - DAY_MS, now)
        if math.isinf(low):  # no data at all in the window (before listing)
            low = high = float(price)
        return Ticker(
            symbol=s.symbol,
            price=price,
            bid=bid,
            ask=ask,
            open_24h=_round(self._path_price(s, now - DAY_MS), s.tick),
            high_24h=max(_round(high, s.tick), price),
            low_24h=min(_round(low, s.tick), price),
            volume_24h=volume.quantize(VOLUME_QUANTUM, rounding=ROUND_HALF_EVEN),
            timestamp_ms=now,
        )

    # -- candles -------------------------------------------------------------------------

    def _timeframe_ms(self, s: _Series, timeframe: str) -> int:
        tf_ms = TIMEFRAMES.get(timeframe)
        if tf_ms is None:
            raise SymbolNotSupported(
                f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
            )
        if tf_ms < s.fine_ms:
            finest = self._files[s.symbol][0]
            raise SymbolNotSupported(
                f"{s.symbol} has no {timeframe} candles in replay: its finest timeframe is "
                f"{finest} (timeframes {finest} and coarser are available)"
            )
        return tf_ms

    def _last_bars(
        self, s: _Series, kind: str, tf_ms: int, first: int, now: int, limit: int
    ) -> list[Bar]:
        """The last ``limit`` candles up to now; widens the window past gaps in the data."""
        span = limit
        while True:
            start = max(first, (now // tf_ms - (span - 1)) * tf_ms)
            bars = self._bars(s, kind, tf_ms, start, now, now)
            if len(bars) >= limit or start <= first:
                return bars[-limit:]
            span *= 2

    def _bars_from(
        self, s: _Series, kind: str, tf_ms: int, start: int, now: int, limit: int
    ) -> list[Bar]:
        """The first ``limit`` candles opening at or after ``start`` (bucket-aligned)."""
        span = limit
        while True:
            stop = min(now, start + span * tf_ms - 1)
            if stop < start:
                return []
            bars = self._bars(s, kind, tf_ms, start, stop, now)
            if len(bars) >= limit or stop >= now:
                return bars[:limit]
            span *= 2

    def _bars(self, s: _Series, kind: str, tf_ms: int, a: int, b: int, now: int) -> list[Bar]:
        """Aggregate the rows opening in replay time [a, b] (b <= now) into tf buckets."""
        pieces = self._pieces(s, kind, a, b + 1)
        if not pieces:
            return []
        t = np.concatenate([tr.t[i0:i1] + sh for tr, i0, i1, sh in pieces])
        o, hi, lo, c, v = (
            np.concatenate([getattr(tr, name)[i0:i1] for tr, i0, i1, _ in pieces])
            for name in ("o", "hi", "lo", "c", "v")
        )
        last_track, _, last_i1, _ = pieces[-1]
        last_dur = int(last_track.dur[last_i1 - 1])
        if int(t[-1]) + last_dur > now:  # the forming candle: its path so far
            fraction = (now - int(t[-1])) / last_dur
            row = (float(o[-1]), float(hi[-1]), float(lo[-1]), float(c[-1]))
            path_lo, path_hi = intra_candle_range(*row, 0.0, fraction)
            close = float(_round(intra_candle_price(*row, fraction), s.tick))
            hi[-1], lo[-1], c[-1] = max(path_hi, close), min(path_lo, close), close
            v[-1] = v[-1] * fraction
        bucket = t // tf_ms * tf_ms
        starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
        ends = np.concatenate((starts[1:], [len(t)])) - 1
        columns = (
            bucket[starts].tolist(),
            o[starts].tolist(),
            np.maximum.reduceat(hi, starts).tolist(),
            np.minimum.reduceat(lo, starts).tolist(),
            c[ends].tolist(),
            np.add.reduceat(v, starts).tolist(),
        )
        return [Bar(*row) for row in zip(*columns, strict=True)]


# --- small helpers ----------------------------------------------------------------------


def _normalize(symbol: str) -> str:
    """BTCUSDT from 'BTCUSDT', 'btcusdt' or 'BTC/USDT'."""
    return symbol.replace("/", "").strip().upper()


def _ceil(value: int, unit: int) -> int:
    """The smallest multiple of ``unit`` that is >= value (works for negatives)."""
    return -(-value // unit) * unit


def _ohlc(track: _Track, i: int) -> tuple[float, float, float, float]:
    return float(track.o[i]), float(track.hi[i]), float(track.lo[i]), float(track.c[i])


def _round(value: float, tick: Decimal) -> Decimal:
    """A float price as the exact decimal it prints as, rounded to the tick (half-even)."""
    return Decimal(repr(float(value))).quantize(tick, rounding=ROUND_HALF_EVEN)


def _round_qty(value: float, step: Decimal) -> Decimal:
    """A quantity rounded to the step size, never below one step."""
    return max(step, Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))


def _quote(price: Decimal, tick: Decimal) -> tuple[Decimal, Decimal]:
    """(bid, ask) symmetric around price: half-spread ~0.5 bp, at least one tick.

    The spread is therefore max(2 ticks, ~1 bp); price stays the mid, bid < price < ask.
    """
    half_ticks = max(1, round(float(price) * HALF_SPREAD_FRACTION / float(tick)))
    half = tick * half_ticks
    return price - half, price + half
