"""The replay exchange against the shipped CSV files, read independently here (no database)."""

from __future__ import annotations

import csv
import functools
import gzip
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from trading.exchange.base import TIMEFRAMES, SymbolNotSupported
from trading.exchange.factory import build_exchange
from trading.exchange.replay import WEEK_MS, ReplayExchange

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
# The bot's first start: a Thursday afternoon, deliberately not on a minute boundary.
ORIGIN = int(datetime(2025, 10, 9, 13, 37, 21, 500_000, tzinfo=UTC).timestamp() * 1000)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Row:
    t: int
    o: str
    h: str
    low: str
    c: str
    v: str

    def floats(self) -> tuple[float, float, float, float]:
        return float(self.o), float(self.h), float(self.low), float(self.c)


@functools.cache
def csv_rows(symbol: str, timeframe: str) -> tuple[list[Row], dict[int, Row]]:
    """The file's rows (strings, as published) and an index by open time."""
    with gzip.open(DATA_DIR / f"{symbol}-{timeframe}.csv.gz", "rt", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [Row(int(r[0]), *r[1:6]) for r in reader]
    return rows, {r.t: r for r in rows}


class Clock:
    """A replay clock the test moves by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(ORIGIN)


@pytest.fixture
def replay(clock: Clock) -> ReplayExchange:
    return ReplayExchange(DATA_DIR, ORIGIN, clock)


def data_end(symbol: str) -> int:
    finest = "1m" if symbol in ("BTCUSDT", "ETHUSDT") else "1h"
    return csv_rows(symbol, finest)[0][-1].t + TIMEFRAMES[finest]


def weekday(ms: int) -> int:
    return datetime.fromtimestamp(ms / 1000, UTC).weekday()


# --- time shift ---------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"])
def test_offset_is_the_smallest_whole_week_that_ends_history_at_or_after_origin(replay, symbol):
    timeline = replay.timeline(symbol)
    end = data_end(symbol)
    assert timeline.data_end_ms == end
    assert timeline.offset_ms % WEEK_MS == 0
    assert end + timeline.offset_ms >= ORIGIN > end + timeline.offset_ms - WEEK_MS


def test_shifted_hourly_candles_keep_the_hour_and_weekday_of_the_real_ones(replay):
    offset = replay.timeline("ETHUSDT").offset_ms
    _, by_time = csv_rows("ETHUSDT", "1h")
    bars = replay.fetch_ohlcv("ETHUSDT", "1h", since_ms=ORIGIN - 60 * DAY, limit=1000)
    assert len(bars) == 1000
    for bar in bars[:-1]:  # the last one is forming
        assert bar.open_time_ms % HOUR == 0
        real = by_time[bar.open_time_ms - offset]
        assert weekday(bar.open_time_ms) == weekday(real.t)
        assert (bar.open, bar.high, bar.low, bar.close) == real.floats()


def test_history_reaches_years_back_for_minute_symbols_through_the_hourly_file(replay):
    offset = replay.timeline("BTCUSDT").offset_ms
    first_hour = csv_rows("BTCUSDT", "1h")[0][0]
    bars = replay.fetch_ohlcv("BTCUSDT", "1h", since_ms=0, limit=3)
    assert bars[0].open_time_ms == first_hour.t + offset
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == first_hour.floats()
    # 1m candles exist only where the 1m file does.
    minute_rows = csv_rows("BTCUSDT", "1m")[0]
    minutes = replay.fetch_ohlcv("BTCUSDT", "1m", since_ms=0, limit=2)
    assert minutes[0].open_time_ms == minute_rows[0].t + offset


# --- the tick path ------------------------------------------------------------------------


def test_successive_polls_see_new_prices_inside_the_current_candle(replay, clock):
    offset = replay.timeline("BTCUSDT").offset_ms
    _, by_time = csv_rows("BTCUSDT", "1m")
    prices = []
    for step in range(300):  # ten minutes of 2 s polls
        clock.now = ORIGIN + step * 2000
        price = replay.fetch_tickers(["BTCUSDT"])["BTCUSDT"].price
        row = by_time[(clock.now - offset) // MINUTE * MINUTE]
        assert Decimal(row.low) <= price <= Decimal(row.h)
        assert price == price.quantize(CENT)
        prices.append(price)
    moved = sum(a != b for a, b in itertools.pairwise(prices))
    assert moved >= 0.9 * (len(prices) - 1)


@pytest.mark.parametrize("up", [True, False])
def test_the_path_runs_through_the_extremes_low_first_when_up_at_constant_speed(replay, up):
    offset = replay.timeline("SOLUSDT").offset_ms
    rows, _ = csv_rows("SOLUSDT", "1h")
    row = next(
        r
        for r in reversed(rows)
        if (float(r.c) > float(r.o)) == up and r.t + offset < ORIGIN and len({r.o, r.h, r.low}) == 3
    )
    o, hi, lo, c = (Decimal(x) for x in (row.o, row.h, row.low, row.c))
    first, second = (lo, hi) if up else (hi, lo)
    legs = [abs(first - o), abs(second - first), abs(c - second)]
    total = sum(legs)

    def at(distance: Decimal) -> Decimal:
        """The price after travelling ``distance`` along the path."""
        elapsed = round(HOUR * distance / total)
        return replay.price_at("SOLUSDT", row.t + offset + elapsed)

    assert at(Decimal(0)) == o
    assert at(legs[0]) == first
    assert abs(at(legs[0] + legs[1] / 2) - (first + second) / 2) <= CENT / 2
    assert at(legs[0] + legs[1]) == second
    assert abs(at(total) - c) <= CENT  # the next candle's open, usually the same


# --- tickers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("symbol", "period"), [("BTCUSDT", MINUTE), ("SOLUSDT", HOUR)])
def test_ticker_24h_stats_match_the_csv_rows_on_a_candle_boundary(replay, clock, symbol, period):
    offset = replay.timeline(symbol).offset_ms
    tick = replay.tick_size(symbol)
    rows, by_time = csv_rows(symbol, "1m" if period == MINUTE else "1h")
    clock.now = ORIGIN // period * period
    data_now = clock.now - offset
    window = [r for r in rows if data_now - DAY <= r.t < data_now]
    current = by_time[data_now]

    ticker = replay.fetch_tickers([symbol])[symbol]

    assert ticker.price == Decimal(current.o).quantize(tick)
    assert ticker.open_24h == Decimal(by_time[data_now - DAY].o).quantize(tick)
    assert ticker.high_24h == max(Decimal(x) for x in [current.o, *(r.h for r in window)])
    assert ticker.low_24h == min(Decimal(x) for x in [current.o, *(r.low for r in window)])
    assert ticker.volume_24h == sum(Decimal(r.v) for r in window)
    assert ticker.bid < ticker.price < ticker.ask
    assert ticker.timestamp_ms == clock.now


def test_ticker_prices_are_rounded_to_the_tick_size(replay, clock):
    clock.now = ORIGIN + 1234
    ticker = replay.fetch_tickers(["XRPUSDT"])["XRPUSDT"]
    for value in (ticker.price, ticker.bid, ticker.ask, ticker.high_24h, ticker.low_24h):
        assert value == value.quantize(Decimal("0.0001"))
    assert ticker.low_24h <= ticker.price <= ticker.high_24h


# --- candles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "timeframe"), [("BTCUSDT", "1m"), ("BTCUSDT", "1h"), ("SOLUSDT", "1h")]
)
def test_forming_candle_is_the_path_so_far_and_closes_at_the_live_price(
    replay, clock, symbol, timeframe
):
    clock.now = ORIGIN // HOUR * HOUR + 37 * MINUTE + 22_500
    price = replay.fetch_tickers([symbol])[symbol].price
    forming = replay.fetch_ohlcv(symbol, timeframe, limit=2)[-1]
    period = TIMEFRAMES[timeframe]
    assert forming.open_time_ms == clock.now // period * period
    assert forming.close == float(price)
    assert forming.low <= forming.close <= forming.high
    # The whole candle, once closed, contains the partial one.
    clock.now = forming.open_time_ms + period
    closed = replay.fetch_ohlcv(symbol, timeframe, since_ms=forming.open_time_ms, limit=1)[0]
    assert closed.open == forming.open
    assert closed.high >= forming.high and closed.low <= forming.low
    assert closed.volume > forming.volume > 0


def test_minute_candles_aggregate_to_exactly_the_real_hourly_candles(replay):
    offset = replay.timeline("BTCUSDT").offset_ms
    minute_start = csv_rows("BTCUSDT", "1m")[0][0].t
    _, hours = csv_rows("BTCUSDT", "1h")
    bars = replay.fetch_ohlcv("BTCUSDT", "1h", since_ms=minute_start + offset, limit=1000)
    closed = bars[:-1]
    assert len(closed) > 400
    for bar in closed:
        real = hours[bar.open_time_ms - offset]
        assert (bar.open, bar.high, bar.low, bar.close) == real.floats()
        assert bar.volume == pytest.approx(float(real.v), rel=1e-9)


def test_daily_candles_are_first_max_min_last_sum_of_the_hours(replay):
    offset = replay.timeline("XRPUSDT").offset_ms
    rows, _ = csv_rows("XRPUSDT", "1h")
    since = ORIGIN - 400 * DAY
    days = replay.fetch_ohlcv("XRPUSDT", "1d", since_ms=since, limit=5)
    assert [d.open_time_ms % DAY for d in days] == [0] * 5
    for day in days:
        hours = [r for r in rows if day.open_time_ms <= r.t + offset < day.open_time_ms + DAY]
        assert day.open == float(hours[0].o) and day.close == float(hours[-1].c)
        assert day.high == max(float(r.h) for r in hours)
        assert day.low == min(float(r.low) for r in hours)
        assert day.volume == pytest.approx(sum(float(r.v) for r in hours), rel=1e-12)


def test_ohlcv_never_returns_the_future_and_honours_since_and_limit(replay, clock):
    clock.now = ORIGIN + 5 * DAY + 123_456
    for timeframe in ("1m", "5m", "15m", "1h", "4h", "1d"):
        period = TIMEFRAMES[timeframe]
        last = replay.fetch_ohlcv("ETHUSDT", timeframe)
        assert len(last) == 1000
        assert last[-1].open_time_ms == clock.now // period * period
        assert all(b.open_time_ms <= clock.now for b in last)

        since = clock.now - 50 * period - 1
        page = replay.fetch_ohlcv("ETHUSDT", timeframe, since_ms=since, limit=10)
        assert len(page) == 10
        assert page[0].open_time_ms == (since // period + 1) * period
        first = page[0].open_time_ms
        assert [b.open_time_ms for b in page] == [first + i * period for i in range(10)]
        following = replay.fetch_ohlcv(
            "ETHUSDT", timeframe, since_ms=page[-1].open_time_ms + 1, limit=1000
        )
        assert following[0].open_time_ms == page[-1].open_time_ms + period
        assert following[-1].open_time_ms == last[-1].open_time_ms
    assert replay.fetch_ohlcv("ETHUSDT", "1m", since_ms=clock.now + 1) == []
    assert len(replay.fetch_ohlcv("ETHUSDT", "1m", since_ms=0, limit=5000)) == 1000


def test_timeframes_finer_than_the_data_are_refused(replay):
    with pytest.raises(SymbolNotSupported, match="finest timeframe is 1h"):
        replay.fetch_ohlcv("SOLUSDT", "15m")
    with pytest.raises(SymbolNotSupported, match="unknown timeframe"):
        replay.fetch_ohlcv("BTCUSDT", "2h")
    assert replay.finest_timeframe("BTCUSDT") == "1m"
    assert replay.finest_timeframe("XRPUSDT") == "1h"


# --- looping ------------------------------------------------------------------------------


@pytest.mark.parametrize(("symbol", "timeframe"), [("BTCUSDT", "1m"), ("SOLUSDT", "1h")])
def test_after_the_end_of_the_data_it_plays_again_from_the_start(replay, clock, symbol, timeframe):
    timeline = replay.timeline(symbol)
    rows, _ = csv_rows(symbol, timeframe)
    period = TIMEFRAMES[timeframe]
    seam = timeline.first_seam_ms
    assert timeline.loop_ms == rows[-1].t - rows[0].t + period
    clock.now = seam + 3 * period + period // 2

    bars = replay.fetch_ohlcv(symbol, timeframe, since_ms=seam - 2 * period, limit=10)

    assert [b.open_time_ms for b in bars] == [seam + i * period for i in range(-2, 4)]
    before, after = bars[:2], bars[2:5]
    for bar, row in zip(before, rows[-2:], strict=True):
        assert bar.open_time_ms == row.t + timeline.offset_ms
        assert (bar.open, bar.close) == (float(row.o), float(row.c))
    for bar, row in zip(after, rows[:3], strict=True):
        assert bar.open_time_ms == row.t + timeline.offset_ms + timeline.loop_ms
        assert (bar.open, bar.high, bar.low, bar.close) == row.floats()
    assert bars[-1].close == float(replay.fetch_tickers([symbol])[symbol].price)
    # Far in the future it still loops.
    clock.now = seam + 10 * timeline.loop_ms + 7 * period
    price = replay.price_at(symbol, clock.now)
    assert Decimal(rows[7].low) - CENT <= price <= Decimal(rows[7].h) + CENT


# --- order book ---------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["BTCUSDT", "XRPUSDT"])
def test_order_book_is_sorted_around_the_ticker_with_quantities_on_the_step(replay, symbol):
    ticker = replay.fetch_tickers([symbol])[symbol]
    book = replay.fetch_order_book(symbol, depth=15)
    step = replay.step_size(symbol)
    assert len(book.bids) == len(book.asks) == 15
    assert book.bids[0][0] == ticker.bid < ticker.ask == book.asks[0][0]
    bid_prices = [p for p, _ in book.bids]
    ask_prices = [p for p, _ in book.asks]
    assert bid_prices == sorted(bid_prices, reverse=True) and len(set(bid_prices)) == 15
    assert ask_prices == sorted(ask_prices) and len(set(ask_prices)) == 15
    for _, qty in (*book.bids, *book.asks):
        assert qty > 0 and qty % step == 0
    assert book.asks[-1][1] > book.asks[0][1]  # deeper levels hold more
    assert book.timestamp_ms == ticker.timestamp_ms


# --- errors and wiring --------------------------------------------------------------------


def test_unknown_symbol_names_the_supported_ones(replay):
    with pytest.raises(SymbolNotSupported, match="BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT"):
        replay.fetch_tickers(["BTCUSDT", "DOGEUSDT"])
    with pytest.raises(SymbolNotSupported):
        replay.fetch_order_book("DOGEUSDT")


def test_symbol_spellings_are_accepted(replay):
    assert replay.price_at("btc/usdt", ORIGIN) == replay.price_at("BTCUSDT", ORIGIN)


def test_factory_builds_a_replay_exchange(clock):
    built = build_exchange("replay", origin_ms=ORIGIN, now_ms=clock)
    assert isinstance(built, ReplayExchange) and built.name == "replay"
    with pytest.raises(ValueError, match="unknown exchange"):
        build_exchange("no-such-exchange")
    with pytest.raises(ValueError, match="origin_ms"):
        build_exchange("replay", now_ms=clock)
