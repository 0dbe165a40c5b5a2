"""Binance-compatible public market data, spot (/api/v3) and USD-M (/fapi/v1), plus the
stubs a ccxt client at default options calls while loading markets (sapi, dapi).

Prices, bid / ask and books are the ones the price poll caches (GET /price shows the
same); candles are the stored ones (GET /candles), coarser Binance intervals built from
them; trades are synthetic (market_shapes.candle_trades). A USD-M route is the spot view
with ``venue="futures"``: parameters and weights differ by venue, shapes by market_shapes.
A symbol is one the price feed watches, spelled as Binance does (BTCUSDT); anything else is
-1121. A watched symbol the feed has not priced yet gets -1008 (try again shortly).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from trading.binance import errors
from trading.binance import market_reads as reads
from trading.binance import market_shapes as shapes
from trading.binance.params import Params
from trading.binance.signing import server_ms
from trading.binance.views.base import BinanceView, symbol_param
from trading.services.markets import watched_symbols

_SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'


def _combination() -> errors.BinanceError:
    return errors.BinanceError(-1128, "Combination of optional parameters invalid.")


# --------------------------------------------------------------------------- parameters


def _symbol(params: Params, known: list[str] | None = None) -> str:
    """``symbol`` exactly as listed (BTCUSDT), a watched one unless ``known`` says else."""
    name = symbol_param(params, trading=known is None, known=known)
    assert name is not None
    return name


def _symbols(params: Params, *, spot: bool, known: list[str] | None = None) -> list[str] | None:
    """The names asked for: ``symbol``, spot's ``symbols`` (a JSON array), or None (all)."""
    if spot and "symbols" in params:
        if "symbol" in params:
            raise _combination()
        try:
            names = json.loads(params.required("symbols"))
        except ValueError:
            names = None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise errors.illegal("symbols", _SYMBOLS_RANGE)
        valid = watched_symbols() if known is None else known
        if not names or any(n not in valid for n in names):
            raise errors.bad_symbol()
        return list(dict.fromkeys(names))
    if "symbol" in params:
        return [_symbol(params, known)]
    return None


def _symbol_count(params: Params) -> int | None:
    """How many symbols a ticker request names (None for all), for its weight; never
    raises: a malformed list is refused later, after its weight was counted."""
    if "symbol" in params:
        return 1
    try:
        names = json.loads(params.str("symbols") or "null")
    except ValueError:
        return None
    return len(names) if isinstance(names, list) else None


def _trade_query(params: Params) -> reads.TradeQuery:
    """Binance's rules: fromId goes alone; startTime to endTime spans at most an hour."""
    from_id = params.int("fromId")
    if from_id is not None and from_id < 0:
        raise errors.illegal("fromId", "^[0-9]{1,20}$")
    start, end = params.ms("startTime"), params.ms("endTime")
    if from_id is not None and (start is not None or end is not None):
        raise _combination()
    if start is not None and end is not None and end - start > shapes.HOUR_MS:
        raise errors.BinanceError(
            -1127, "Lookup interval is too big. More than 1 hours between startTime and endTime."
        )
    return reads.TradeQuery(from_id, start, end, params.limit(default=500, most=1000))


# --------------------------------------------------------------------------- views


class PingApi(BinanceView):
    """GET api/v3/ping, fapi/v1/ping: {}."""

    def get(self, request: Request) -> Response:
        return Response({})


class ServerTimeApi(BinanceView):
    """GET api/v3/time, fapi/v1/time: the wall clock signed requests are checked against."""

    def get(self, request: Request) -> Response:
        return Response({"serverTime": server_ms()})


class ExchangeInfoApi(BinanceView):
    """GET api/v3/exchangeInfo (symbol / symbols filters), fapi/v1/exchangeInfo."""

    def weight_for(self, params: Params) -> int:
        return 20 if self.venue == "spot" else 1

    def get(self, request: Request) -> Response:
        futures = self.venue == "futures"
        listed = reads.markets_listed(futures=futures)
        wanted = None
        if not futures:
            wanted = _symbols(self.params, spot=True, known=[r.symbol for r, _ in listed])
        liquidation_fee = Decimal(settings.LIQUIDATION_FEE_RATE)
        symbols = [
            shapes.futures_symbol(rules, status, liquidation_fee)
            if futures
            else shapes.spot_symbol(rules, status)
            for rules, status in listed
            if wanted is None or rules.symbol in wanted
        ]
        limits_ = shapes.rate_limits(self.venue_limits)
        return Response(shapes.exchange_info(symbols, limits_, server_ms(), futures=futures))


class Ticker24hApi(BinanceView):
    """GET api/v3/ticker/24hr (symbol | symbols | all; type FULL / MINI),
    fapi/v1/ticker/24hr (symbol | all)."""

    def weight_for(self, params: Params) -> int:
        count = _symbol_count(params)
        if self.venue == "futures":
            return 1 if count == 1 else 40
        if count is None or count > 100:
            return 80
        return 2 if count <= 20 else 40

    def get(self, request: Request) -> Response:
        spot = self.venue == "spot"
        names = _symbols(self.params, spot=spot)
        mini = spot and self.params.choice("type", ("FULL", "MINI")) == "MINI"
        quotes = reads.quotes(names, books=spot)
        symbols = reads.symbol_rows([q.symbol for q in quotes])
        tickers = [
            shapes.ticker_24h(q, reads.day_hours(symbols, q), spot=spot, mini=mini) for q in quotes
        ]
        return Response(tickers[0] if "symbol" in self.params else tickers)


class TickerPriceApi(BinanceView):
    """GET api/v3/ticker/price, fapi/v1/ticker/price: the cached last price(s)."""

    def weight_for(self, params: Params) -> int:
        one = "symbol" in params
        return (2 if one else 4) if self.venue == "spot" else (1 if one else 2)

    def get(self, request: Request) -> Response:
        spot = self.venue == "spot"
        quotes = reads.quotes(_symbols(self.params, spot=spot))
        prices = [shapes.ticker_price(q, spot=spot) for q in quotes]
        return Response(prices[0] if "symbol" in self.params else prices)


class BookTickerApi(BinanceView):
    """GET api/v3/ticker/bookTicker, fapi/v1/ticker/bookTicker: best bid / ask."""

    def weight_for(self, params: Params) -> int:
        one = "symbol" in params
        return (2 if one else 4) if self.venue == "spot" else (2 if one else 5)

    def get(self, request: Request) -> Response:
        spot = self.venue == "spot"
        quotes = reads.quotes(_symbols(self.params, spot=spot), books=True)
        books = [shapes.book_ticker(q, spot=spot) for q in quotes]
        return Response(books[0] if "symbol" in self.params else books)


class DepthApi(BinanceView):
    """GET api/v3/depth (limit 1-5000, default 100), fapi/v1/depth (1-1000, default 500)."""

    def weight_for(self, params: Params) -> int:
        spot = self.venue == "spot"
        try:
            limit = params.int("limit") or (100 if spot else 500)
        except errors.BinanceError:
            limit = 100
        table = ((100, 5), (500, 25), (1000, 50)) if spot else ((50, 2), (100, 5), (500, 10))
        return next((w for most, w in table if limit <= most), 250 if spot else 20)

    def get(self, request: Request) -> Response:
        spot = self.venue == "spot"
        name = _symbol(self.params)
        limit = self.params.limit(default=100 if spot else 500, most=5000 if spot else 1000)
        return Response(shapes.depth(reads.book_of(name), limit, spot=spot, now_ms=server_ms()))


class KlineListApi(BinanceView):
    """GET api/v3/klines, fapi/v1/klines: stored candles, other intervals aggregated."""

    def weight_for(self, params: Params) -> int:
        if self.venue == "spot":
            return 2
        try:
            limit = params.int("limit") or 500
        except errors.BinanceError:
            limit = 500
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10

    def get(self, request: Request) -> Response:
        name = _symbol(self.params)
        interval = self.params.required("interval")
        if interval not in shapes.KLINE_SOURCES:
            raise errors.bad_interval()
        limit = self.params.limit(default=500, most=1000 if self.venue == "spot" else 1500)
        start, end = self.params.ms("startTime"), self.params.ms("endTime")
        bars = reads.klines(reads.symbol_row(name), interval, start, end, limit)
        return Response([shapes.kline(bar, interval) for bar in bars])


class AggTradeListApi(BinanceView):
    """GET api/v3/aggTrades, fapi/v1/aggTrades: synthetic trades from stored candles."""

    def weight_for(self, params: Params) -> int:
        return 2 if self.venue == "spot" else 20

    def get(self, request: Request) -> Response:
        name = _symbol(self.params)
        quotes = reads.quotes([name], required=False)
        now = quotes[0].time_ms if quotes else None
        trades = reads.agg_trades(reads.symbol_row(name), _trade_query(self.params), now_ms=now)
        spot = self.venue == "spot"
        return Response([shapes.agg_trade(t, spot=spot) for t in trades])


class AvgPriceApi(BinanceView):
    """GET api/v3/avgPrice: the 5-minute volume-weighted average price."""

    weight = 2

    def get(self, request: Request) -> Response:
        name = _symbol(self.params)
        q = reads.quotes([name])[0]
        minutes = reads.stored_bars(reads.symbol_row(name), "1m", end_ms=q.time_ms, limit=5)
        return Response(shapes.avg_price(q, minutes, now_ms=q.time_ms))


class PremiumIndexApi(BinanceView):
    """GET fapi/v1/premiumIndex: mark price (= last price), funding rate, next funding."""

    venue = "futures"

    def weight_for(self, params: Params) -> int:
        return 1 if "symbol" in params else 10

    def get(self, request: Request) -> Response:
        rate = Decimal(settings.FUNDING_RATE)
        indexes = [
            shapes.premium_index(q, rate) for q in reads.quotes(_symbols(self.params, spot=False))
        ]
        return Response(indexes[0] if "symbol" in self.params else indexes)


class FundingRateListApi(BinanceView):
    """GET fapi/v1/fundingRate: the configured rate at each past funding instant."""

    venue = "futures"

    def get(self, request: Request) -> Response:
        names = _symbols(self.params, spot=False) or watched_symbols()
        limit = self.params.limit(default=100, most=1000)
        start, end = self.params.ms("startTime"), self.params.ms("endTime")
        rate = Decimal(settings.FUNDING_RATE)
        marks = reads.funding_marks(names, start_ms=start, end_ms=end, limit=limit)
        return Response([shapes.funding_rate(s, t, rate, price) for s, t, price in marks])


class SystemStatusApi(BinanceView):
    """GET sapi/v1/system/status: always normal (ccxt fetch_status)."""

    def get(self, request: Request) -> Response:
        return Response({"status": 0, "msg": "normal"})


class DeliveryExchangeInfoApi(BinanceView):
    """GET dapi/v1/exchangeInfo: no coin-margined markets (ccxt's default load path)."""

    venue = "futures"

    def get(self, request: Request) -> Response:
        return Response(shapes.exchange_info([], [], server_ms(), futures=False))


class EmptyListApi(BinanceView):
    """Signed sapi lists ccxt's default load_markets reads (currencies, margin pairs):
    the paper account has no deposits, withdrawals or margin pairs, so []."""

    signed = True

    def get(self, request: Request) -> Response:
        return Response([])


def _both(route: str, view: type[BinanceView], name: str) -> list:
    """The spot route under api/v3 and its USD-M twin under fapi/v1."""
    return [
        path(f"api/v3/{route}", view.as_view(venue="spot"), name=f"binance-spot-{name}"),
        path(f"fapi/v1/{route}", view.as_view(venue="futures"), name=f"binance-futures-{name}"),
    ]


urlpatterns = [
    *_both("ping", PingApi, "ping"),
    *_both("time", ServerTimeApi, "time"),
    *_both("exchangeInfo", ExchangeInfoApi, "exchange-info"),
    *_both("ticker/24hr", Ticker24hApi, "ticker-24hr"),
    *_both("ticker/price", TickerPriceApi, "ticker-price"),
    *_both("ticker/bookTicker", BookTickerApi, "book-ticker"),
    *_both("depth", DepthApi, "depth"),
    *_both("klines", KlineListApi, "klines"),
    *_both("aggTrades", AggTradeListApi, "agg-trades"),
    path("api/v3/avgPrice", AvgPriceApi.as_view(), name="binance-spot-avg-price"),
    path("fapi/v1/premiumIndex", PremiumIndexApi.as_view(), name="binance-premium-index"),
    path("fapi/v1/fundingRate", FundingRateListApi.as_view(), name="binance-funding-rate"),
    path("sapi/v1/system/status", SystemStatusApi.as_view(), name="binance-system-status"),
    path(
        "dapi/v1/exchangeInfo",
        DeliveryExchangeInfoApi.as_view(),
        name="binance-dapi-exchange-info",
    ),
    path(
        "sapi/v1/capital/config/getall",
        EmptyListApi.as_view(weight=10),
        name="binance-capital-config",
    ),
    path("sapi/v1/margin/allPairs", EmptyListApi.as_view(weight=1), name="binance-margin-pairs"),
    path(
        "sapi/v1/margin/isolated/allPairs",
        EmptyListApi.as_view(weight=10),
        name="binance-isolated-pairs",
    ),
]
