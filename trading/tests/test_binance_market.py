"""The Binance-compatible public market data, driven by real ccxt (binance and binanceusdm)
against the real server stack, and checked against our own API (GET /price, GET /candles)
and the order book the price poll stored, never against hard-coded numbers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

import ccxt
import httpx
import pytest
from django.conf import settings

from trading.binance import market_shapes as shapes
from trading.exchange.base import Bar
from trading.models import Symbol
from trading.services.candles import candles_backfill
from trading.services.prices import market_read, prices_poll
from trading.tests.conftest import point_at

live = pytest.mark.live  # every test but the pure ones at the end drives the live stack

HOUR = 3_600_000
MINUTE = 60_000
FUNDING_INTERVAL = 8 * HOUR
BACKFILLED = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]  # SOLUSDT's finest replay data is 1h


@pytest.fixture
def market(transactional_db, live_server_stack, frozen_replay):
    """Candles for a few symbols, then one price poll (prices, books, forming candles)."""
    for symbol in Symbol.objects.filter(symbol__in=BACKFILLED):
        candles_backfill(symbol=symbol, timeframes=["1m", "1h", "1d"], count=60)
    prices_poll()
    return live_server_stack.url


def _price(api_client, symbol: str) -> dict:
    response = api_client.get(f"/price/{symbol}")
    assert response.status_code == 200, response.content
    return response.json()


def _candles(api_client, symbol: str, timeframe: str, **query) -> list[dict]:
    response = api_client.get(
        "/candles", {"symbol": symbol, "timeframe": timeframe, "limit": 1000, **query}
    )
    assert response.status_code == 200, response.content
    return response.json()["candles"]


def _ohlcv(candle: dict) -> list:
    return [candle[k] for k in ("open_time", "open", "high", "low", "close", "volume")]


def _day(api_client, symbol: str, price: dict) -> list[dict]:
    """The hourly candles of the current hour and the 23 before it (the 24 h window)."""
    now = price["timestamp"]
    return _candles(api_client, symbol, "1h", start=now - now % HOUR - 23 * HOUR, end=now)


# --------------------------------------------------------------------------- markets


@live
def test_spot_markets_are_the_catalogue_with_its_tick_step_and_min_notional(market, ccxt_spot):
    markets = ccxt_spot.load_markets()

    rows = list(Symbol.objects.filter(spot=True))
    assert {m["id"] for m in markets.values()} == {s.symbol for s in rows}
    for row in rows:
        m = markets[f"{row.base}/{row.quote}"]
        assert m["spot"] and not m["contract"] and m["type"] == "spot"
        assert m["active"] is (row.watched and row.status == Symbol.Status.TRADING)
        assert m["precision"]["price"] == float(row.tick_size)
        assert m["precision"]["amount"] == float(row.step_size)
        assert m["limits"]["cost"]["min"] == float(row.min_notional)
        assert m["limits"]["amount"]["min"] == float(row.step_size)


@live
def test_usdm_markets_are_linear_perpetuals_with_the_same_filters(market, ccxt_usdm):
    markets = ccxt_usdm.load_markets()

    rows = list(Symbol.objects.filter(futures=True))
    assert {m["id"] for m in markets.values()} == {s.symbol for s in rows}
    for row in rows:
        m = markets[f"{row.base}/{row.quote}:{row.quote}"]
        assert m["swap"] and m["linear"] and m["settle"] == row.quote and m["expiry"] is None
        assert m["precision"]["price"] == float(row.tick_size)
        assert m["precision"]["amount"] == float(row.step_size)
        assert m["limits"]["cost"]["min"] == float(row.min_notional)


@live
def test_a_ccxt_client_left_at_default_options_still_loads(market, api_key):
    """Default binance calls the signed sapi lists and dapi exchangeInfo too (§0.2)."""
    key, secret = api_key
    client = point_at(
        ccxt.binance({"apiKey": key, "secret": secret, "enableRateLimit": False}), market
    )

    markets = client.load_markets()

    assert markets["BTC/USDT"]["spot"] and markets["BTC/USDT:USDT"]["swap"]
    assert client.currencies is not None


# --------------------------------------------------------------------------- tickers


@live
def test_spot_ticker_is_the_cached_price_over_the_stored_hourly_candles(
    market, ccxt_spot, api_client
):
    price = _price(api_client, "BTCUSDT")
    day = _day(api_client, "BTCUSDT", price)
    assert len(day) > 1

    ticker = ccxt_spot.fetch_ticker("BTC/USDT")

    last = float(price["price"])
    assert ticker["last"] == last
    assert ticker["bid"] == float(price["bid"]) and ticker["ask"] == float(price["ask"])
    assert ticker["bidVolume"] > 0 and ticker["askVolume"] > 0
    assert ticker["open"] == day[0]["open"]
    assert ticker["high"] == max([last, *(c["high"] for c in day)])
    assert ticker["low"] == min([last, *(c["low"] for c in day)])
    assert ticker["baseVolume"] == pytest.approx(sum(c["volume"] for c in day), rel=1e-9)
    assert ticker["timestamp"] == price["timestamp"]
    assert ticker["change"] == pytest.approx(last - day[0]["open"])


@live
def test_spot_tickers_list_every_watched_symbol_or_the_ones_asked_for(
    market, ccxt_spot, api_client
):
    watched = set(Symbol.objects.filter(watched=True).values_list("symbol", flat=True))

    every = ccxt_spot.fetch_tickers()
    two = ccxt_spot.fetch_tickers(["ETH/USDT", "SOL/USDT"])

    assert {t["info"]["symbol"] for t in every.values()} == watched
    for ticker in every.values():
        price = _price(api_client, ticker["info"]["symbol"])
        assert ticker["last"] == float(price["price"]) and ticker["bid"] == float(price["bid"])
    assert set(two) == {"ETH/USDT", "SOL/USDT"}
    sol_day = _day(api_client, "SOLUSDT", _price(api_client, "SOLUSDT"))
    assert two["SOL/USDT"]["open"] == sol_day[0]["open"]


@live
def test_usdm_tickers_are_the_same_figures_without_bid_and_ask(market, ccxt_usdm, api_client):
    price = _price(api_client, "ETHUSDT")
    day = _day(api_client, "ETHUSDT", price)

    ticker = ccxt_usdm.fetch_ticker("ETH/USDT:USDT")
    every = ccxt_usdm.fetch_tickers()

    assert ticker["last"] == float(price["price"]) and ticker["open"] == day[0]["open"]
    assert ticker["bid"] is None and ticker["ask"] is None  # as on Binance (§0.12)
    assert every["ETH/USDT:USDT"]["last"] == ticker["last"]
    assert len(every) == Symbol.objects.filter(watched=True, futures=True).count()


# --------------------------------------------------------------------------- book, candles


@pytest.mark.parametrize(
    ("client", "symbol"), [("ccxt_spot", "BTC/USDT"), ("ccxt_usdm", "BTC/USDT:USDT")]
)
@live
def test_order_book_is_the_book_the_price_poll_stored(market, api_client, request, client, symbol):
    exchange = request.getfixturevalue(client)
    price = _price(api_client, "BTCUSDT")
    _, stored, _ = market_read("BTCUSDT")

    book = exchange.fetch_order_book(symbol, 5)

    assert book["bids"][0][0] == float(price["bid"]) and book["asks"][0][0] == float(price["ask"])
    assert book["bids"] == [[float(p), float(q)] for p, q in stored.bids[:5]]
    assert book["asks"] == [[float(p), float(q)] for p, q in stored.asks[:5]]
    assert book["nonce"] == stored.timestamp_ms


@live
def test_ohlcv_is_the_stored_candles_bar_for_bar(market, ccxt_spot, ccxt_usdm, api_client):
    minutes = _candles(api_client, "ETHUSDT", "1m")
    since = minutes[-30]["open_time"]

    newest = ccxt_spot.fetch_ohlcv("ETH/USDT", "1m", limit=20)
    from_since = ccxt_usdm.fetch_ohlcv("ETH/USDT:USDT", "1m", since=since, limit=10)
    hours = ccxt_usdm.fetch_ohlcv("SOL/USDT:USDT", "1h", limit=50)

    assert newest == [_ohlcv(c) for c in minutes[-20:]]
    assert from_since == [_ohlcv(c) for c in minutes[-30:-20]]
    assert hours == [_ohlcv(c) for c in _candles(api_client, "SOLUSDT", "1h")[-50:]]


@live
def test_an_interval_we_do_not_store_is_built_from_the_one_below(market, ccxt_spot, api_client):
    minutes = _candles(api_client, "BTCUSDT", "1m")
    since = minutes[0]["open_time"] - minutes[0]["open_time"] % (3 * MINUTE) + 3 * MINUTE

    bars = ccxt_spot.fetch_ohlcv("BTC/USDT", "3m", since=since, limit=5)

    assert len(bars) == 5
    for t, o, h, lo, c, v in bars:
        inside = [m for m in minutes if t <= m["open_time"] < t + 3 * MINUTE]
        assert len(inside) == 3 and t % (3 * MINUTE) == 0
        assert (o, c) == (inside[0]["open"], inside[-1]["close"])
        assert h == max(m["high"] for m in inside) and lo == min(m["low"] for m in inside)
        assert v == pytest.approx(sum(m["volume"] for m in inside), rel=1e-12)


@live
def test_avg_price_is_the_volume_weighted_typical_price_of_five_minutes(market, api_client):
    price = _price(api_client, "BTCUSDT")
    now = price["timestamp"]
    recent = [c for c in _candles(api_client, "BTCUSDT", "1m") if c["open_time"] > now - 5 * MINUTE]
    typical = sum(c["volume"] * (c["high"] + c["low"] + c["close"]) / 3 for c in recent)

    avg = httpx.get(f"{market}/api/v3/avgPrice", params={"symbol": "BTCUSDT"}).json()

    assert avg["mins"] == 5 and avg["closeTime"] == now
    assert float(avg["price"]) == pytest.approx(typical / sum(c["volume"] for c in recent))


# --------------------------------------------------------------------------- trades


@live
def test_trades_walk_each_stored_minute_open_extremes_close(market, ccxt_spot, api_client):
    minutes = _candles(api_client, "BTCUSDT", "1m")[-15:-5]
    step = Symbol.objects.get(symbol="BTCUSDT").step_size.normalize()

    trades = ccxt_spot.fetch_trades("BTC/USDT", since=minutes[0]["open_time"], limit=40)

    assert len(trades) == 40
    for candle in minutes:
        t = candle["open_time"]
        mine = [x for x in trades if t <= x["timestamp"] < t + MINUTE]
        o, h, lo, c = candle["open"], candle["high"], candle["low"], candle["close"]
        assert [x["price"] for x in mine] == ([o, lo, h, c] if c >= o else [o, h, lo, c])
        quarter = (Decimal(repr(candle["volume"])) / 4).quantize(step, rounding=ROUND_DOWN)
        assert all(x["amount"] == float(quarter) for x in mine)
        assert [int(x["id"]) for x in mine] == [t // MINUTE * 4 + k for k in range(4)]
        assert mine[0]["timestamp"] == t and mine[-1]["timestamp"] == t + MINUTE - 1


@live
def test_newest_trades_end_at_the_current_price_time(market, ccxt_usdm, api_client):
    price = _price(api_client, "ETHUSDT")

    trades = ccxt_usdm.fetch_trades("ETH/USDT:USDT", limit=12)

    assert len(trades) == 12
    assert all(t["timestamp"] <= price["timestamp"] for t in trades)
    assert price["timestamp"] - trades[-1]["timestamp"] < 2 * MINUTE
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


# --------------------------------------------------------------------------- time, status, funding


@live
def test_time_and_status(market, ccxt_spot, ccxt_usdm):
    before = int(time.time() * 1000)
    spot_time, usdm_time = ccxt_spot.fetch_time(), ccxt_usdm.fetch_time()
    after = int(time.time() * 1000)

    assert before <= spot_time <= after and before <= usdm_time <= after
    assert ccxt_spot.fetch_status()["status"] == "ok"
    assert ccxt_usdm.fetch_status()["status"] == "ok"


@live
def test_funding_rate_is_the_configured_one_at_the_last_price(market, ccxt_usdm, api_client):
    price = _price(api_client, "BTCUSDT")

    funding = ccxt_usdm.fetch_funding_rate("BTC/USDT:USDT")

    assert funding["markPrice"] == float(price["price"]) == funding["indexPrice"]
    assert funding["fundingRate"] == float(settings.FUNDING_RATE)
    assert funding["interval"] == "8h" and funding["timestamp"] == price["timestamp"]
    following = funding["fundingTimestamp"]  # ccxt's name for nextFundingTime
    assert following % FUNDING_INTERVAL == 0
    assert price["timestamp"] < following <= price["timestamp"] + FUNDING_INTERVAL


@live
def test_funding_history_marks_each_instant_at_the_hourly_open(market, ccxt_usdm, api_client):
    hours = {c["open_time"]: c for c in _candles(api_client, "BTCUSDT", "1h")}

    history = ccxt_usdm.fetch_funding_rate_history("BTC/USDT:USDT", limit=3)

    assert len(history) == 3
    for row in history:
        assert row["timestamp"] % FUNDING_INTERVAL == 0
        assert row["fundingRate"] == float(settings.FUNDING_RATE)
        assert float(row["info"]["markPrice"]) == hours[row["timestamp"]]["open"]
    assert [r["timestamp"] for r in history] == sorted(r["timestamp"] for r in history)


# --------------------------------------------------------------------------- errors, headers


@live
def test_unknown_symbol_is_bad_symbol(market, ccxt_spot, ccxt_usdm):
    with pytest.raises(ccxt.BadSymbol):
        ccxt_spot.public_get_ticker_24hr({"symbol": "DOGEUSDT"})
    with pytest.raises(ccxt.BadSymbol):
        ccxt_usdm.fapipublic_get_ticker_price({"symbol": "btcusdt"})
    with pytest.raises(ccxt.BadSymbol):
        ccxt_spot.public_get_klines({"symbol": "NOPE", "interval": "1m"})


OK_ROUTES = [
    "/api/v3/ping",
    "/api/v3/time",
    "/api/v3/exchangeInfo",
    "/api/v3/exchangeInfo?symbol=BTCUSDT",
    '/api/v3/exchangeInfo?symbols=["BTCUSDT","ETHUSDT"]',
    "/api/v3/ticker/24hr",
    "/api/v3/ticker/24hr?symbol=BTCUSDT&type=MINI",
    '/api/v3/ticker/24hr?symbols=["BTCUSDT"]',
    "/api/v3/ticker/price",
    "/api/v3/ticker/price?symbol=BTCUSDT",
    "/api/v3/ticker/bookTicker",
    "/api/v3/ticker/bookTicker?symbol=XRPUSDT",
    "/api/v3/depth?symbol=BTCUSDT",
    "/api/v3/klines?symbol=BTCUSDT&interval=1M",
    "/api/v3/klines?symbol=BTCUSDT&interval=1w&limit=3",
    "/api/v3/aggTrades?symbol=SOLUSDT",
    "/api/v3/avgPrice?symbol=BTCUSDT",
    "/fapi/v1/ping",
    "/fapi/v1/time",
    "/fapi/v1/exchangeInfo",
    "/fapi/v1/ticker/24hr?symbol=BTCUSDT",
    "/fapi/v1/ticker/price",
    "/fapi/v1/ticker/bookTicker?symbol=BTCUSDT",
    "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
    "/fapi/v1/klines?symbol=BTCUSDT&interval=12h",
    "/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=0",
    "/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=99999999999999",
    "/api/v3/klines?symbol=BTCUSDT&interval=1M&startTime=0&endTime=32503680000000",
    "/fapi/v1/premiumIndex",
    "/fapi/v1/fundingRate",
    "/sapi/v1/system/status",
    "/dapi/v1/exchangeInfo",
]
REFUSED_ROUTES = [
    ("/api/v3/ticker/24hr?symbol=DOGEUSDT", 400, -1121),
    ('/api/v3/ticker/24hr?symbols=["BTCUSDT","DOGEUSDT"]', 400, -1121),
    ("/api/v3/ticker/24hr?symbols=BTCUSDT", 400, -1100),
    ('/api/v3/ticker/price?symbol=BTCUSDT&symbols=["BTCUSDT"]', 400, -1128),
    ("/api/v3/exchangeInfo?symbol=DOGEUSDT", 400, -1121),
    ("/api/v3/depth", 400, -1102),
    ("/api/v3/depth?symbol=BTCUSDT&limit=0", 400, -1100),
    ("/fapi/v1/depth?symbol=BTCUSDT&limit=5000", 400, -1100),
    ("/api/v3/klines?symbol=BTCUSDT", 400, -1102),
    ("/api/v3/klines?symbol=BTCUSDT&interval=7m", 400, -1120),
    ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=abc", 400, -1100),
    ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", 400, -1100),
    ("/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001", 400, -1127),
    ("/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=0", 400, -1128),
    ("/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=99999999999999999999", 400, -1100),
    ("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=-1", 400, -1100),
    ("/fapi/v1/premiumIndex?symbol=DOGEUSDT", 400, -1121),
    ("/sapi/v1/capital/config/getall", 401, -2014),
    ("/api/v3/nowhere", 404, None),
]


@live
def test_every_response_is_binance_json_with_the_used_weight(market):
    with httpx.Client(base_url=market, timeout=30) as client:
        for route in OK_ROUTES:
            response = client.get(route)
            assert response.status_code == 200, (route, response.text)
            assert response.headers["content-type"].startswith("application/json"), route
            assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) > 0, route
            body = response.json()
            assert not (isinstance(body, dict) and isinstance(body.get("code"), int)), route
        for route, status, code in REFUSED_ROUTES:
            response = client.get(route)
            assert response.status_code == status, (route, response.text)
            assert response.headers["content-type"].startswith("application/json"), route
            if code is not None:
                assert response.json()["code"] == code, (route, response.text)
                assert "X-MBX-USED-WEIGHT-1M" in response.headers, route


@live
def test_weight_follows_binance_table(market):
    while time.time() % 60 > 50:  # the count restarts each minute: stay inside one
        time.sleep(0.5)
    with httpx.Client(base_url=market, timeout=30) as client:

        def used(route: str) -> int:
            return int(client.get(route).headers["X-MBX-USED-WEIGHT-1M"])

        first = used("/api/v3/ping")
        assert used("/api/v3/exchangeInfo") == first + 20
        assert used("/api/v3/ticker/24hr") == first + 100
        assert used("/api/v3/depth?symbol=BTCUSDT&limit=1000") == first + 150
        futures = used("/fapi/v1/ping")
        assert used("/fapi/v1/aggTrades?symbol=BTCUSDT&limit=4") == futures + 20
        assert used("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500") == futures + 30


# --------------------------------------------------------------------------- pure shapes


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_weeks_open_on_monday_and_months_on_the_first():
    wednesday = _ms("2025-10-08T13:37:00")

    assert shapes.interval_open("1w", wednesday) == _ms("2025-10-06T00:00:00")
    assert shapes.interval_open("1M", wednesday) == _ms("2025-10-01T00:00:00")
    assert shapes.interval_close("1M", _ms("2025-12-01T00:00:00")) == _ms("2026-01-01") - 1
    assert shapes.interval_open("8h", wednesday) == _ms("2025-10-08T08:00:00")


def test_daily_candles_make_months_without_crossing_a_month_end():
    days = [
        Bar(_ms("2025-09-29"), 10, 12, 9, 11, 1),
        Bar(_ms("2025-09-30"), 11, 15, 10, 14, 2),
        Bar(_ms("2025-10-01"), 14, 14, 8, 9, 3),
    ]

    months = shapes.aggregate(days, "1M")

    assert months == [
        Bar(_ms("2025-09-01"), 10, 15, 9, 14, 3),
        Bar(_ms("2025-10-01"), 14, 14, 8, 9, 3),
    ]
    assert shapes.kline(months[0], "1M")[6] == _ms("2025-10-01") - 1


def test_a_down_candle_trades_open_high_low_close_and_its_falls_are_sells():
    bar = Bar(_ms("2025-10-08T13:37:00"), 100.5, 101.25, 99.75, 100.0, 2.0)

    trades = shapes.candle_trades(bar, 60_000, tick=Decimal("0.01"), step=Decimal("0.001"))

    assert [t.price for t in trades] == [
        Decimal("100.50"),
        Decimal("101.25"),
        Decimal("99.75"),
        Decimal("100.00"),
    ]
    assert [t.buyer_maker for t in trades] == [True, False, True, False]
    assert {t.qty for t in trades} == {Decimal("0.500")}
    assert [t.time_ms - bar.open_time_ms for t in trades] == [0, 20_000, 40_000, 59_999]
    flat = Bar(bar.open_time_ms, 1, 1, 1, 1, 0.0)
    assert shapes.candle_trades(flat, 60_000, tick=Decimal("0.01"), step=Decimal("0.1")) == []


def test_funding_instants_are_00_08_16_utc():
    now = _ms("2025-10-08T13:37:00")

    assert shapes.next_funding_ms(now) == _ms("2025-10-08T16:00:00")
    assert shapes.next_funding_ms(_ms("2025-10-08T16:00:00")) == _ms("2025-10-09T00:00:00")
    assert shapes.funding_instants(None, now, 3) == [
        _ms("2025-10-07T16:00:00"),
        _ms("2025-10-08T00:00:00"),
        _ms("2025-10-08T08:00:00"),
    ]
    assert shapes.funding_instants(_ms("2025-10-07T23:00:00"), now, 5) == [
        _ms("2025-10-08T00:00:00"),
        _ms("2025-10-08T08:00:00"),
    ]
