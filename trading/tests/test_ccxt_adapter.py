"""The ccxt adapter against a real local HTTP peer that speaks Binance's spot wire format.

The peer serves the replay exchange's data in Binance's JSON shapes (binance-compat.md §3.2),
so the real ccxt ``binance`` class parses real responses; only the outside world is replaced.
The peer can be told to fail (HTTP 500, HTTP 429, or a dropped connection) to show retries,
the error mapping and the circuit breaker. No database is used, except by the last test:
it points the adapter at our own Binance-compatible API on the live server stack.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from trading.exchange.base import (
    TIMEFRAMES,
    CircuitOpen,
    ExchangeError,
    ExchangeUnavailable,
    SymbolNotSupported,
)
from trading.exchange.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from trading.exchange.ccxt_adapter import CcxtExchange
from trading.exchange.factory import build_exchange
from trading.exchange.replay import ReplayExchange

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NOW = int(datetime(2025, 10, 9, 13, 37, 21, 500_000, tzinfo=UTC).timestamp() * 1000)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
LISTED_WITHOUT_DATA = "LTCUSDT"  # in exchangeInfo, but every data endpoint says -1121


class FakeClock:
    """Monotonic seconds the test advances by hand (the breaker's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the Binance-compatible peer ------------------------------------------------------------


def _symbol_info(symbol: str, tick: Decimal, step: Decimal) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": symbol.removesuffix("USDT"),
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": str(tick), "maxPrice": "1000000",
             "tickSize": str(tick)},
            {"filterType": "LOT_SIZE", "minQty": str(step), "maxQty": "9000000",
             "stepSize": str(step)},
            {"filterType": "NOTIONAL", "minNotional": "5", "maxNotional": "9000000"},
        ],
    }  # fmt: skip


class BinancePeer(ThreadingHTTPServer):
    """A tiny Binance spot market-data server backed by a ReplayExchange at a fixed time."""

    daemon_threads = True

    def __init__(self, replay: ReplayExchange) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replay = replay
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.failures_left = 0
        self.failure_mode = "http500"

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, times: int, mode: str = "http500") -> None:
        with self.lock:
            self.failures_left, self.failure_mode = times, mode

    def heal(self) -> None:
        self.fail(0)

    def take_failure(self) -> str | None:
        with self.lock:
            if self.failures_left <= 0:
                return None
            self.failures_left -= 1
            return self.failure_mode

    # -- endpoints (Binance spot shapes) --------------------------------------------------

    def exchange_info(self, q: dict[str, str]) -> Any:
        replay = self.replay
        infos = [_symbol_info(s, replay.tick_size(s), replay.step_size(s)) for s in SYMBOLS]
        infos.append(_symbol_info(LISTED_WITHOUT_DATA, Decimal("0.01"), Decimal("0.001")))
        return {"timezone": "UTC", "serverTime": replay.now_ms(), "rateLimits": [],
                "exchangeFilters": [], "symbols": infos}  # fmt: skip

    def ticker_24hr(self, q: dict[str, str]) -> Any:
        if "symbol" in q:
            return self._ticker(q["symbol"])
        names = json.loads(q["symbols"]) if "symbols" in q else SYMBOLS
        return [self._ticker(name) for name in names]

    def _ticker(self, symbol: str) -> dict[str, Any]:
        t = self.replay.fetch_tickers([self._known(symbol)])[symbol]
        return {
            "symbol": symbol, "priceChange": str(t.price - t.open_24h),
            "priceChangePercent": str(t.change_24h_pct), "weightedAvgPrice": str(t.price),
            "prevClosePrice": str(t.open_24h), "lastPrice": str(t.price), "lastQty": "0.1",
            "bidPrice": str(t.bid), "bidQty": "1.5", "askPrice": str(t.ask), "askQty": "2.0",
            "openPrice": str(t.open_24h), "highPrice": str(t.high_24h),
            "lowPrice": str(t.low_24h), "volume": str(t.volume_24h),
            "quoteVolume": str((t.volume_24h * t.price).quantize(Decimal("0.01"))),
            "openTime": t.timestamp_ms - 86_400_000, "closeTime": t.timestamp_ms,
            "firstId": 1, "lastId": 2, "count": 2,
        }  # fmt: skip

    def klines(self, q: dict[str, str]) -> Any:
        symbol, interval = self._known(q["symbol"]), q["interval"]
        since = int(q["startTime"]) if "startTime" in q else None
        bars = self.replay.fetch_ohlcv(symbol, interval, since, int(q.get("limit", 500)))
        if "endTime" in q:
            bars = [b for b in bars if b.open_time_ms <= int(q["endTime"])]
        period = TIMEFRAMES[interval]
        return [
            [b.open_time_ms, repr(b.open), repr(b.high), repr(b.low), repr(b.close),
             repr(b.volume), b.open_time_ms + period - 1, "0", 0, "0", "0", "0"]
            for b in bars
        ]  # fmt: skip

    def depth(self, q: dict[str, str]) -> Any:
        book = self.replay.fetch_order_book(self._known(q["symbol"]), int(q.get("limit", 100)))
        return {
            "lastUpdateId": book.timestamp_ms,
            "bids": [[str(p), str(qty)] for p, qty in book.bids],
            "asks": [[str(p), str(qty)] for p, qty in book.asks],
        }

    def time(self, q: dict[str, str]) -> Any:
        return {"serverTime": self.replay.now_ms()}

    def _known(self, symbol: str) -> str:
        if symbol not in SYMBOLS:
            raise _BinanceError(400, -1121, "Invalid symbol.")
        return symbol


class _BinanceError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.body = status, {"code": code, "msg": msg}


_ROUTES = {
    "/api/v3/exchangeInfo": BinancePeer.exchange_info,
    "/api/v3/ticker/24hr": BinancePeer.ticker_24hr,
    "/api/v3/klines": BinancePeer.klines,
    "/api/v3/depth": BinancePeer.depth,
    "/api/v3/time": BinancePeer.time,
    "/api/v3/ping": lambda peer, q: {},
}


class _Handler(BaseHTTPRequestHandler):
    server: BinancePeer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.requests[url.path] += 1
        failure = self.server.take_failure()
        if failure == "drop":  # close the connection without answering
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if failure == "http500":
            return self._send(500, {"code": -1000, "msg": "An unknown error occurred."})
        if failure == "http400":
            msg = "Illegal characters found in parameter 'symbol'; legal range is 'A-Z'."
            return self._send(400, {"code": -1100, "msg": msg})
        if failure == "http429":
            return self._send(429, {"code": -1003, "msg": "Too much request weight used."})
        route = _ROUTES.get(url.path)
        if route is None:
            return self._send(404, {"code": -1, "msg": f"no route {url.path}"})
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self._send(200, route(self.server, query))
        except _BinanceError as exc:
            self._send(exc.status, exc.body)

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peer() -> Iterator[BinancePeer]:
    server = BinancePeer(ReplayExchange(DATA_DIR, NOW, lambda: NOW))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def exchange(peer: BinancePeer, clock: FakeClock) -> CcxtExchange:
    """ccxt binance pointed at the peer, with markets loaded and the request count reset."""
    peer.heal()
    adapter = CcxtExchange(
        "binance",
        config={"urls_base": peer.base_url, "enableRateLimit": False, "timeout": 2000},
        breaker=CircuitBreaker(failure_threshold=5, cooldown_s=30, clock=clock),
        retries=2,
        backoff_s=0.001,
        backoff_max_s=0.002,
    )
    adapter.fetch_tickers(["BTCUSDT"])  # loads markets
    peer.requests.clear()
    return adapter


# --- data comes through as our types ------------------------------------------------------


def test_tickers_are_decimals_equal_to_what_the_peer_served(exchange, peer):
    served = {s: peer._ticker(s) for s in SYMBOLS}

    tickers = exchange.fetch_tickers(SYMBOLS)

    assert set(tickers) == set(SYMBOLS)
    for symbol, ticker in tickers.items():
        raw = served[symbol]
        assert ticker.symbol == symbol
        for field, key in [("price", "lastPrice"), ("bid", "bidPrice"), ("ask", "askPrice"),
                           ("open_24h", "openPrice"), ("high_24h", "highPrice"),
                           ("low_24h", "lowPrice"), ("volume_24h", "volume")]:  # fmt: skip
            value = getattr(ticker, field)
            assert isinstance(value, Decimal)
            assert value == Decimal(raw[key]), field
        assert ticker.timestamp_ms == NOW
    assert peer.requests == Counter({"/api/v3/ticker/24hr": 1})  # one request for all


def test_ohlcv_comes_back_bar_for_bar(exchange, peer):
    since = NOW - 30 * 3_600_000
    expected = peer.replay.fetch_ohlcv("ETHUSDT", "1h", since_ms=since, limit=20)

    bars = exchange.fetch_ohlcv("ETHUSDT", "1h", since_ms=since, limit=20)

    assert bars == expected
    assert len(bars) == 20 and bars[0].open_time_ms >= since


def test_order_book_levels_are_decimals_best_first(exchange, peer):
    expected = peer.replay.fetch_order_book("BTCUSDT", depth=10)

    book = exchange.fetch_order_book("btc/usdt", depth=10)

    assert book.symbol == "BTCUSDT"
    assert book.bids == expected.bids and book.asks == expected.asks
    assert all(isinstance(x, Decimal) for level in book.bids + book.asks for x in level)
    assert book.bids[0][0] < book.asks[0][0]


# --- errors at the border -----------------------------------------------------------------


def test_symbol_the_exchange_does_not_list_is_refused_without_a_request(exchange, peer):
    with pytest.raises(SymbolNotSupported, match="DOGEUSDT"):
        exchange.fetch_tickers(["DOGEUSDT"])
    assert sum(peer.requests.values()) == 0


def test_bad_symbol_answer_is_symbol_not_supported_and_not_a_breaker_failure(exchange, peer):
    for _ in range(6):
        with pytest.raises(SymbolNotSupported):
            exchange.fetch_ohlcv(LISTED_WITHOUT_DATA, "1h", limit=5)
    assert peer.requests["/api/v3/klines"] == 6  # not retried
    assert exchange.breaker.state == CLOSED


def test_a_rejected_request_is_exchange_error_without_retry(exchange, peer):
    peer.fail(1, "http400")
    with pytest.raises(ExchangeError, match="Illegal characters") as caught:
        exchange.fetch_ohlcv("BTCUSDT", "1m", limit=2)
    assert not isinstance(caught.value, ExchangeUnavailable)
    assert peer.requests["/api/v3/klines"] == 1
    assert exchange.breaker.state == CLOSED


# --- retries and the circuit breaker ------------------------------------------------------


@pytest.mark.parametrize("mode", ["http500", "http429", "drop"])
def test_transient_failures_are_retried_until_an_answer(exchange, peer, mode):
    peer.fail(2, mode)

    ticker = exchange.fetch_tickers(["SOLUSDT"])["SOLUSDT"]

    assert ticker.price > 0
    assert peer.requests["/api/v3/ticker/24hr"] == 3  # two failures, then the answer
    assert exchange.breaker.state == CLOSED


def test_a_down_exchange_opens_the_breaker_and_is_left_alone_for_the_cooldown(
    exchange, peer, clock
):
    peer.fail(1000, "drop")
    with pytest.raises(ExchangeUnavailable) as first:
        exchange.fetch_tickers(["BTCUSDT"])
    assert not isinstance(first.value, CircuitOpen)
    assert peer.requests["/api/v3/ticker/24hr"] == 3  # 1 try + 2 retries

    # Failures 4 and 5 open the breaker; the third attempt is not even sent.
    with pytest.raises(CircuitOpen):
        exchange.fetch_tickers(["BTCUSDT"])
    assert peer.requests["/api/v3/ticker/24hr"] == 5
    assert exchange.breaker.state == OPEN

    for _ in range(3):
        with pytest.raises(CircuitOpen, match="circuit is open"):
            exchange.fetch_ohlcv("BTCUSDT", "1m", limit=2)
    assert sum(peer.requests.values()) == 5  # nothing reached the peer

    clock.now += 30
    assert exchange.breaker.state == HALF_OPEN
    peer.heal()
    assert exchange.fetch_tickers(["BTCUSDT"])["BTCUSDT"].price > 0
    assert exchange.breaker.state == CLOSED
    assert sum(peer.requests.values()) == 6


def test_a_failed_trial_opens_the_breaker_for_another_cooldown(exchange, peer, clock):
    peer.fail(1000, "http500")
    for _ in range(2):
        with pytest.raises(ExchangeUnavailable):
            exchange.fetch_order_book("ETHUSDT")
    assert exchange.breaker.state == OPEN
    sent = sum(peer.requests.values())

    clock.now += 31
    with pytest.raises(CircuitOpen):  # the trial fails and re-opens it: no retries after
        exchange.fetch_order_book("ETHUSDT")
    assert sum(peer.requests.values()) == sent + 1
    assert exchange.breaker.state == OPEN and exchange.breaker.opened_at == clock.now


# --- wiring -------------------------------------------------------------------------------


def test_factory_builds_a_ccxt_exchange_by_id(peer):
    adapter = build_exchange("BINANCE", config={"urls_base": peer.base_url})
    assert isinstance(adapter, CcxtExchange) and adapter.name == "binance"
    assert adapter.client.urls["api"]["public"] == f"{peer.base_url}/api/v3"
    assert adapter.finest_timeframe("BTCUSDT") == "1m"


# --- against our own Binance-compatible API -------------------------------------------------


@pytest.mark.live
def test_adapter_reads_our_own_binance_compatible_api_end_to_end(
    transactional_db, live_server_stack, frozen_replay, api_client
):
    """EXCHANGE=ccxt with EXCHANGE_API_URL at this server: what it reads is what our API
    serves (GET /price, GET /candles, the order book the poll stored)."""
    from trading.models import Symbol
    from trading.services.candles import candles_backfill
    from trading.services.prices import market_read, prices_poll

    candles_backfill(symbol=Symbol.objects.get(symbol="ETHUSDT"), timeframes=["1h"], count=40)
    prices_poll()
    adapter = build_exchange(
        "binance",
        config={"urls_base": live_server_stack.url, "enableRateLimit": False, "timeout": 10_000},
        retries=0,
    )

    tickers = adapter.fetch_tickers(SYMBOLS)
    hours = api_client.get("/candles", {"symbol": "ETHUSDT", "timeframe": "1h", "limit": 30})
    since = hours.json()["candles"][5]["open_time"]
    bars = adapter.fetch_ohlcv("ETHUSDT", "1h", since_ms=since, limit=20)
    book = adapter.fetch_order_book("BTCUSDT", depth=10)

    assert set(tickers) == set(SYMBOLS)
    for symbol, ticker in tickers.items():
        price = api_client.get(f"/price/{symbol}").json()
        assert ticker.price == Decimal(price["price"]) and ticker.timestamp_ms == price["timestamp"]
        assert (ticker.bid, ticker.ask) == (Decimal(price["bid"]), Decimal(price["ask"]))
    assert [(b.open_time_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        tuple(c[k] for k in ("open_time", "open", "high", "low", "close", "volume"))
        for c in hours.json()["candles"][5:25]
    ]
    _, stored, _ = market_read("BTCUSDT")
    assert book.bids == stored.bids[:10] and book.asks == stored.asks[:10]
    with pytest.raises(SymbolNotSupported):
        adapter.fetch_tickers(["DOGEUSDT"])  # not in our exchangeInfo
