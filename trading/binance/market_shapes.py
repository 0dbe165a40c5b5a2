"""Binance JSON shapes of public market data: exchangeInfo, tickers, depth, klines,
aggregate trades, premium index and funding rates (binance-compat.md §3.2).

Pure functions over the engine's MarketRules, the cached prices and order books, and
candle Bars (no queries, no clock): the field sets are Binance's because clients (ccxt,
python-binance) read them by name. Decimals are strings, times epoch-ms integers.

Where we hold less than Binance does, the shapes say so plainly: klines carry no taker
volumes or trade counts ("0"), tickers no trade ids (-1, as Binance reports a window
without trades), and trades are synthetic (``candle_trades``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from cryptobot.lib.decimal import dec_str
from trading import engine as core
from trading.binance.limits import Venue
from trading.exchange.base import Bar, OrderBook

ZERO = Decimal("0")
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
FUNDING_INTERVAL_MS = 8 * HOUR_MS  # funding at 00:00, 08:00 and 16:00 UTC (the engine's)
PERPETUAL_DELIVERY_MS = 4_133_404_800_000  # Binance's deliveryDate of a perpetual
INTEREST_RATE = Decimal("0.0001")  # Binance's fixed 0.01% per funding interval
PCT_PLACES = Decimal("0.001")
EIGHT_PLACES = Decimal("0.00000001")

# What the engine supports (project-wide): spot STOP_LOSS / TAKE_PROFIT are the engine's
# STOP_MARKET / TAKE_PROFIT_MARKET; USD-M conditional types go through /fapi/v1/algoOrder.
SPOT_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "TAKE_PROFIT"]
FUTURES_ORDER_TYPES = ["LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"]
FUTURES_TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX"]
# Filter ceilings: the engine enforces none, so these are generous Binance-like values.
MAX_PRICE = Decimal("10000000")
MAX_QTY = Decimal("90000000")
MAX_NOTIONAL = Decimal("9000000000")

# Binance interval -> the stored timeframe it is built from (stored ones map to themselves).
KLINE_SOURCES: dict[str, str] = {
    "1m": "1m",
    "3m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "15m",
    "1h": "1h",
    "2h": "1h",
    "4h": "4h",
    "6h": "1h",
    "8h": "4h",
    "12h": "4h",
    "1d": "1d",
    "3d": "1d",
    "1w": "1d",
    "1M": "1d",
}
_FIXED_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
}
_MONDAY_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; Binance's weeks start on Monday


# --------------------------------------------------------------------------- numbers


def plain(value: Decimal) -> str:
    """A Decimal as Binance writes it: positional notation, never an exponent."""
    return format(value, "f")


def float_dec(value: float) -> Decimal:
    """A stored candle float as the exact decimal it prints as (60000.1, not 60000.09999...)."""
    return Decimal(repr(float(value)))


def num(value: float) -> str:
    """A candle float as a Binance decimal string that parses back to the same float."""
    return plain(float_dec(value))


def decimals(increment: Decimal) -> int:
    """How many decimal places an increment has (tick 0.01 -> 2, step 1 -> 0)."""
    return max(0, -int(increment.normalize().as_tuple().exponent))


# --------------------------------------------------------------------------- exchangeInfo


def symbol_status(status: str, watched: bool) -> str:
    """Binance's status: TRADING only for a watched symbol (we have live prices for it);
    a halted one is HALT, an unwatched one BREAK (listed, not tradable)."""
    if status == "HALTED":
        return "HALT"
    return "TRADING" if watched else "BREAK"


def rate_limits(venue: Venue) -> list[dict[str, Any]]:
    """The limits the server enforces (trading/binance/limits.py), in Binance's form."""
    units = {10: ("SECOND", 10), 60: ("MINUTE", 1), 86_400: ("DAY", 1)}
    out = [_rate_limit("REQUEST_WEIGHT", "MINUTE", 1, venue.weight_limit)]
    for _, seconds, limit in venue.order_windows:
        interval, count = units.get(seconds, ("SECOND", seconds))
        out.append(_rate_limit("ORDERS", interval, count, limit))
    return out


def _rate_limit(kind: str, interval: str, count: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": count, "limit": limit}


def spot_symbol(rules: core.MarketRules, status: str) -> dict[str, Any]:
    """One exchangeInfo ``symbols[]`` entry of a spot market (no ``contractType``: ccxt
    reads its presence as "this is a contract")."""
    return {
        "symbol": rules.symbol,
        "status": status,
        "baseAsset": rules.base,
        "baseAssetPrecision": 8,
        "quoteAsset": rules.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": SPOT_ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": dec_str(rules.tick_size),
                "maxPrice": dec_str(MAX_PRICE),
                "tickSize": dec_str(rules.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": dec_str(rules.step_size),
                "maxQty": dec_str(MAX_QTY),
                "stepSize": dec_str(rules.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": dec_str(rules.min_notional),
                "applyMinToMarket": True,
                "maxNotional": dec_str(MAX_NOTIONAL),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
    }


def futures_symbol(rules: core.MarketRules, status: str, liquidation_fee: Decimal) -> dict:
    """One exchangeInfo ``symbols[]`` entry of a USDT-margined perpetual."""
    tick, step = rules.tick_size.normalize(), rules.step_size.normalize()
    mmr = rules.brackets[0].mmr if rules.brackets else ZERO
    return {
        "symbol": rules.symbol,
        "pair": rules.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "status": status,
        "maintMarginPercent": plain((mmr * 100).quantize(Decimal("0.0001"))),
        "requiredMarginPercent": plain((Decimal(100) / rules.max_leverage).quantize(PCT_PLACES)),
        "baseAsset": rules.base,
        "quoteAsset": rules.quote,
        "marginAsset": rules.quote,
        "pricePrecision": decimals(tick),
        "quantityPrecision": decimals(step),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "liquidationFee": plain(liquidation_fee),
        "orderTypes": FUTURES_ORDER_TYPES,
        "timeInForce": FUTURES_TIME_IN_FORCE,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": plain(tick),
                "maxPrice": plain(MAX_PRICE),
                "tickSize": plain(tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": plain(step),
                "maxQty": plain(MAX_QTY),
                "stepSize": plain(step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": plain(step),
                "maxQty": plain(MAX_QTY),
                "stepSize": plain(step),
            },
            {"filterType": "MIN_NOTIONAL", "notional": plain(rules.min_notional.normalize())},
        ],
    }


def exchange_info(
    symbols: list[dict[str, Any]], limits: list[dict[str, Any]], server_ms: int, *, futures: bool
) -> dict[str, Any]:
    """The exchangeInfo document around its ``symbols[]`` entries."""
    info: dict[str, Any] = {"timezone": "UTC", "serverTime": server_ms}
    if futures:
        info["futuresType"] = "U_MARGINED"
    info.update({"rateLimits": limits, "exchangeFilters": []})
    if futures:
        info["assets"] = [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "0"}]
    info["symbols"] = symbols
    return info


# --------------------------------------------------------------------------- tickers


@dataclass(frozen=True, slots=True)
class Quote:
    """A symbol's cached last price with its best bid / ask and their quantities."""

    symbol: str
    price: Decimal
    bid: Decimal
    ask: Decimal
    bid_qty: Decimal
    ask_qty: Decimal
    time_ms: int  # the exchange time of the price


def quote(payload: Mapping[str, Any], book: OrderBook | None = None) -> Quote:
    """A Quote from a cached price payload (as GET /price shows it) and its order book."""
    bids = book.bids if book is not None else ()
    asks = book.asks if book is not None else ()
    return Quote(
        symbol=payload["symbol"],
        price=Decimal(payload["price"]),
        bid=Decimal(payload["bid"]),
        ask=Decimal(payload["ask"]),
        bid_qty=bids[0][1] if bids else ZERO,
        ask_qty=asks[0][1] if asks else ZERO,
        time_ms=int(payload["timestamp"]),
    )


def day_window_start(now_ms: int) -> int:
    """Where the 24 h statistics start: the hourly candles of the current hour and the 23
    before it (a rolling day at one-hour resolution)."""
    return now_ms - now_ms % HOUR_MS - 23 * HOUR_MS


_MINI_FIELDS = (
    "symbol",
    "openPrice",
    "highPrice",
    "lowPrice",
    "lastPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
)


def ticker_24h(q: Quote, hours: Sequence[Bar], *, spot: bool, mini: bool = False) -> dict:
    """The 24 h ticker: last price (and spot's bid / ask) from the cache, open / high / low /
    volume from the hourly candles since ``day_window_start`` (high and low include the last
    price). USD-M tickers have no bid / ask fields, as on Binance."""
    opened = float_dec(hours[0].open) if hours else q.price
    high = max([q.price, *(float_dec(b.high) for b in hours)])
    low = min([q.price, *(float_dec(b.low) for b in hours)])
    volume = sum((float_dec(b.volume) for b in hours), ZERO)
    quote_volume = sum((_quote_volume(b) for b in hours), ZERO)
    change = q.price - opened
    pct = (change / opened * 100).quantize(PCT_PLACES) if opened else ZERO
    avg = (quote_volume / volume).quantize(EIGHT_PLACES) if volume else q.price
    ticker: dict[str, Any] = {
        "symbol": q.symbol,
        "priceChange": plain(change),
        "priceChangePercent": plain(pct),
        "weightedAvgPrice": plain(avg),
    }
    if spot:
        ticker["prevClosePrice"] = plain(opened)
    ticker.update({"lastPrice": plain(q.price), "lastQty": "0"})
    if spot:
        ticker.update(
            {
                "bidPrice": plain(q.bid),
                "bidQty": plain(q.bid_qty),
                "askPrice": plain(q.ask),
                "askQty": plain(q.ask_qty),
            }
        )
    ticker.update(
        {
            "openPrice": plain(opened),
            "highPrice": plain(high),
            "lowPrice": plain(low),
            "volume": plain(volume.quantize(EIGHT_PLACES)),
            "quoteVolume": plain(quote_volume.quantize(EIGHT_PLACES)),
            "openTime": hours[0].open_time_ms if hours else q.time_ms - DAY_MS,
            "closeTime": q.time_ms,
            "firstId": -1,
            "lastId": -1,
            "count": 0,
        }
    )
    if mini:
        return {k: ticker[k] for k in _MINI_FIELDS}
    return ticker


def _quote_volume(bar: Bar) -> Decimal:
    """Quote volume of a candle at its typical price (we keep no per-trade prices)."""
    typical = (float_dec(bar.high) + float_dec(bar.low) + float_dec(bar.close)) / 3
    return float_dec(bar.volume) * typical


def ticker_price(q: Quote, *, spot: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"symbol": q.symbol, "price": plain(q.price)}
    if not spot:
        out["time"] = q.time_ms
    return out


def book_ticker(q: Quote, *, spot: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": q.symbol,
        "bidPrice": plain(q.bid),
        "bidQty": plain(q.bid_qty),
        "askPrice": plain(q.ask),
        "askQty": plain(q.ask_qty),
    }
    if not spot:
        out.update({"time": q.time_ms, "lastUpdateId": q.time_ms})
    return out


def avg_price(q: Quote, minutes: Sequence[Bar], *, now_ms: int) -> dict[str, Any]:
    """Binance's 5-minute average price: the volume-weighted typical price of the 1m candles
    of the last 5 minutes, or the last price without any (or without volume)."""
    recent = [b for b in minutes if b.open_time_ms > now_ms - 5 * MINUTE_MS]
    volume = sum((float_dec(b.volume) for b in recent), ZERO)
    price = q.price
    if volume:
        price = (sum((_quote_volume(b) for b in recent), ZERO) / volume).quantize(EIGHT_PLACES)
    return {"mins": 5, "price": plain(price), "closeTime": now_ms}


def depth(book: OrderBook | None, limit: int, *, spot: bool, now_ms: int) -> dict[str, Any]:
    """The order book, best first, at most ``limit`` levels per side (the poll keeps 20).
    ``lastUpdateId`` is the book's exchange time, so it only grows."""
    bids = book.bids[:limit] if book is not None else ()
    asks = book.asks[:limit] if book is not None else ()
    stamp = book.timestamp_ms if book is not None else 0
    out: dict[str, Any] = {"lastUpdateId": stamp}
    if not spot:
        out.update({"E": now_ms, "T": stamp})
    out["bids"] = [[plain(p), plain(q)] for p, q in bids]
    out["asks"] = [[plain(p), plain(q)] for p, q in asks]
    return out


# --------------------------------------------------------------------------- klines


def interval_open(interval: str, time_ms: int) -> int:
    """Open time of the ``interval`` candle holding ``time_ms``: epoch multiples, except
    weeks (from Monday 00:00 UTC) and months (the 1st, 00:00 UTC), as Binance's."""
    if interval == "1M":
        moment = datetime.fromtimestamp(time_ms / 1000, UTC)
        return _ms(datetime(moment.year, moment.month, 1, tzinfo=UTC))
    if interval == "1w":
        return time_ms - (time_ms - _MONDAY_MS) % WEEK_MS
    size = _FIXED_MS[interval]
    return time_ms - time_ms % size


def interval_close(interval: str, open_ms: int) -> int:
    """The last millisecond of the ``interval`` candle opening at ``open_ms``."""
    if interval == "1M":
        moment = datetime.fromtimestamp(open_ms / 1000, UTC)
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return _ms(datetime(year, month, 1, tzinfo=UTC)) - 1
    return open_ms + _FIXED_MS[interval] - 1


def source_per_candle(interval: str) -> int:
    """At most how many stored candles one ``interval`` candle is built from."""
    source_ms = _FIXED_MS[KLINE_SOURCES[interval]]
    return 31 if interval == "1M" else _FIXED_MS[interval] // source_ms


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def aggregate(bars: Iterable[Bar], interval: str) -> list[Bar]:
    """Finer candles (ascending) grouped into ``interval`` candles: open = first, high = max,
    low = min, close = last, volume = sum; a gap stays a gap."""
    out: list[Bar] = []
    for bar in bars:
        start = interval_open(interval, bar.open_time_ms)
        if out and out[-1].open_time_ms == start:
            last = out[-1]
            out[-1] = Bar(
                start,
                last.open,
                max(last.high, bar.high),
                min(last.low, bar.low),
                bar.close,
                last.volume + bar.volume,
            )
        else:
            out.append(Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume))
    return out


def kline(bar: Bar, interval: str) -> list[Any]:
    """Binance's 12-element kline; prices and volume parse back to the stored floats."""
    return [
        bar.open_time_ms,
        num(bar.open),
        num(bar.high),
        num(bar.low),
        num(bar.close),
        num(bar.volume),
        interval_close(interval, bar.open_time_ms),
        plain(_quote_volume(bar).quantize(EIGHT_PLACES)),
        0,
        "0",
        "0",
        "0",
    ]


# --------------------------------------------------------------------------- trades


@dataclass(frozen=True, slots=True)
class AggTrade:
    """One synthetic aggregate trade."""

    id: int
    price: Decimal
    qty: Decimal
    time_ms: int
    buyer_maker: bool


def candle_trades(bar: Bar, period_ms: int, *, tick: Decimal, step: Decimal) -> list[AggTrade]:
    """Four deterministic trades along a stored candle (we keep no real trades).

    They walk the replay exchange's tick path: open -> low -> high -> close for an up
    candle (close >= open), open -> high -> low -> close for a down one, at the candle's
    open, a third and two thirds through it, and its last millisecond. Each carries a
    quarter of the candle's volume rounded down to the step (a trade that rounds to zero is
    left out). Trade k of the candle opening at minute M has id 4*M + k: ids grow with time
    and a candle read again yields the same ids. A trade below the corner before it is a
    sell (``m``, buyer is maker); the open is a sell when the candle closes down.
    """
    o, h, lo, c = (float_dec(x) for x in (bar.open, bar.high, bar.low, bar.close))
    corners = (o, lo, h, c) if c >= o else (o, h, lo, c)
    qty = (float_dec(bar.volume) / 4).quantize(step.normalize(), rounding=ROUND_DOWN)
    if qty <= 0:
        return []
    times = (0, period_ms // 3, 2 * period_ms // 3, period_ms - 1)
    first_id = bar.open_time_ms // MINUTE_MS * 4
    trades = []
    previous = o
    for k, (price, offset) in enumerate(zip(corners, times, strict=True)):
        sell = price < previous if k else c < o
        trades.append(
            AggTrade(
                id=first_id + k,
                price=price.quantize(tick.normalize()),
                qty=qty,
                time_ms=bar.open_time_ms + offset,
                buyer_maker=sell,
            )
        )
        previous = price
    return trades


def agg_trade(trade: AggTrade, *, spot: bool) -> dict[str, Any]:
    """Binance's aggTrades element (``M``, best price match, exists on spot only)."""
    out: dict[str, Any] = {
        "a": trade.id,
        "p": plain(trade.price),
        "q": plain(trade.qty),
        "f": trade.id,
        "l": trade.id,
        "T": trade.time_ms,
        "m": trade.buyer_maker,
    }
    if spot:
        out["M"] = True
    return out


# --------------------------------------------------------------------------- funding


def next_funding_ms(time_ms: int) -> int:
    """The next funding instant (00:00 / 08:00 / 16:00 UTC) strictly after ``time_ms``."""
    return (time_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def premium_index(q: Quote, rate: Decimal) -> dict[str, Any]:
    """The mark price (our last price: the engine marks positions at it), the configured
    funding rate and the next funding instant, in the price's exchange time."""
    price = plain(q.price)
    return {
        "symbol": q.symbol,
        "markPrice": price,
        "indexPrice": price,
        "estimatedSettlePrice": price,
        "lastFundingRate": dec_str(rate),
        "interestRate": dec_str(INTEREST_RATE),
        "nextFundingTime": next_funding_ms(q.time_ms),
        "time": q.time_ms,
        "fundingIntervalHours": FUNDING_INTERVAL_MS // HOUR_MS,
    }


def funding_instants(start_ms: int | None, end_ms: int, limit: int) -> list[int]:
    """Funding instants in [start_ms, end_ms] ascending: the first ``limit`` from start, or
    the last ``limit`` up to end when there is no start."""
    last = end_ms - end_ms % FUNDING_INTERVAL_MS
    if start_ms is None:
        first = max(0, last - (limit - 1) * FUNDING_INTERVAL_MS)
    else:
        first = -(-start_ms // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
    return list(range(first, last + 1, FUNDING_INTERVAL_MS))[:limit]


def funding_rate(symbol: str, time_ms: int, rate: Decimal, mark: float) -> dict[str, Any]:
    """One fundingRate history row: the configured rate at the price of that instant."""
    return {
        "symbol": symbol,
        "fundingTime": time_ms,
        "fundingRate": dec_str(rate),
        "markPrice": num(mark),
    }
