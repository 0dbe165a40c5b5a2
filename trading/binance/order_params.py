"""Binance newOrder parameters → the engine's OrderRequest, for spot and USD-M futures.

Pure: reads a Params, returns a ParsedOrder or raises Binance's error for the first bad
input (-1102 missing, -1100 malformed number, -1116 order type, -1117 side, -1115
timeInForce, -1106 a parameter the order type does not take, -4120 a conditional type on
/fapi/v1/order). The symbol is checked by the view (it needs the market catalogue); the
engine judges quantities and prices against the symbol's filters.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal

from trading import engine as core
from trading.binance import errors
from trading.binance.market_shapes import MAX_PRICE, MAX_QTY
from trading.binance.params import Params

ZERO = Decimal("0")
_LEGAL_DECIMAL = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_ID_ALPHABET = string.ascii_letters + string.digits

SPOT_SIDES = ("BUY", "SELL")
SPOT_TYPES = {
    # Binance spot type -> (engine type, forced timeInForce or None)
    "LIMIT": (core.OrderType.LIMIT, None),
    "LIMIT_MAKER": (core.OrderType.LIMIT, core.TimeInForce.GTX),
    "MARKET": (core.OrderType.MARKET, None),
    "STOP_LOSS": (core.OrderType.STOP_MARKET, None),
    "TAKE_PROFIT": (core.OrderType.TAKE_PROFIT_MARKET, None),
}
SPOT_TIME_IN_FORCE = ("GTC", "IOC", "FOK")
SPOT_RESP_TYPES = ("ACK", "RESULT", "FULL")

FUTURES_TYPES = {"LIMIT": core.OrderType.LIMIT, "MARKET": core.OrderType.MARKET}
FUTURES_CONDITIONAL = {
    "STOP_MARKET": core.OrderType.STOP_MARKET,
    "TAKE_PROFIT_MARKET": core.OrderType.TAKE_PROFIT_MARKET,
}
# Binance types the engine cannot run: refused on either endpoint.
FUTURES_UNSUPPORTED = ("STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET")
FUTURES_TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX")
FUTURES_RESP_TYPES = ("ACK", "RESULT")
WORKING_TYPES = ("CONTRACT_PRICE", "MARK_PRICE")


@dataclass(frozen=True)
class ParsedOrder:
    """The engine request and how the client wants the reply (newOrderRespType)."""

    request: core.OrderRequest
    resp_type: str


def new_client_id() -> str:
    """A client order id for a client that sent none (22 chars, like Binance's own)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


def not_required(name: str) -> errors.BinanceError:
    return errors.BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def either_missing(first: str, second: str) -> errors.BinanceError:
    return errors.BinanceError(
        -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def algo_endpoint_required() -> errors.BinanceError:
    return errors.BinanceError(
        -4120,
        "Order type not supported for this endpoint. "
        "Please use the Algo Order API endpoints instead.",
    )


def positive_decimal(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    """A non-negative decimal parameter; a sign is an illegal character, as on Binance."""
    value = params.decimal(name, required=required)
    if value is not None and value < 0:
        raise errors.illegal(name, _LEGAL_DECIMAL)
    return value


def _spot_ceilings(quantity: Decimal | None, *prices: Decimal | None) -> None:
    # exchangeInfo's maxQty / maxPrice: above them Binance fails the filter (and our
    # columns could not store the order).
    if quantity is not None and quantity > MAX_QTY:
        raise errors.BinanceError(-1013, "Filter failure: LOT_SIZE")
    if any(p is not None and p > MAX_PRICE for p in prices):
        raise errors.BinanceError(-1013, "Filter failure: PRICE_FILTER")


def _futures_ceilings(quantity: Decimal | None, *prices: Decimal | None) -> None:
    if quantity is not None and quantity > MAX_QTY:
        raise errors.BinanceError(-4005, "Quantity greater than max quantity.")
    if any(p is not None and p > MAX_PRICE for p in prices):
        raise errors.BinanceError(-4016, f"Limit price can't be higher than {MAX_PRICE}.")


def _side(params: Params) -> core.Side:
    raw = params.choice("side", SPOT_SIDES, errors.bad_side(), required=True)
    return core.Side(raw)


def _refuse_present(params: Params, *names: str) -> None:
    for name in names:
        if name in params:
            raise not_required(name)


# --------------------------------------------------------------------------- spot


def spot_order(params: Params, symbol: str) -> ParsedOrder:
    """POST /api/v3/order (and order/test) parameters as an engine request.

    MARKET takes quantity or quoteOrderQty (not both), LIMIT quantity + price +
    timeInForce, LIMIT_MAKER quantity + price, STOP_LOSS / TAKE_PROFIT quantity +
    stopPrice; anything else sent for the type is -1106."""
    side = _side(params)
    kind = params.choice("type", SPOT_TYPES, errors.bad_order_type(), required=True)
    assert kind is not None
    engine_type, forced_tif = SPOT_TYPES[kind]
    quantity = positive_decimal(params, "quantity")
    quote_qty = positive_decimal(params, "quoteOrderQty")
    price = positive_decimal(params, "price")
    stop_price = positive_decimal(params, "stopPrice")

    if kind == "MARKET":
        if quantity is None and quote_qty is None:
            raise either_missing("quantity", "quoteOrderQty")
        if quantity is not None and quote_qty is not None:
            raise not_required("quoteOrderQty")
    else:
        if quantity is None:
            raise errors.missing("quantity")
        _refuse_present(params, "quoteOrderQty")
    if kind in ("LIMIT", "LIMIT_MAKER"):
        if price is None:
            raise errors.missing("price")
    else:
        _refuse_present(params, "price")
    if kind in ("STOP_LOSS", "TAKE_PROFIT"):
        if stop_price is None:
            raise errors.missing("stopPrice")
    else:
        _refuse_present(params, "stopPrice")

    if kind == "LIMIT":
        tif = params.choice(
            "timeInForce", SPOT_TIME_IN_FORCE, errors.bad_time_in_force(), required=True
        )
        time_in_force = core.TimeInForce(tif)
    else:
        _refuse_present(params, "timeInForce")
        time_in_force = forced_tif or core.TimeInForce.GTC

    _spot_ceilings(quantity, price, stop_price)
    default_resp = "FULL" if kind in ("MARKET", "LIMIT") else "ACK"
    resp_type = params.choice("newOrderRespType", SPOT_RESP_TYPES) or default_resp
    request = core.OrderRequest(
        symbol=symbol,
        market=core.Market.SPOT,
        side=side,
        type=engine_type,
        quantity=quantity,
        quote_quantity=quote_qty,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        client_order_id=params.client_id("newClientOrderId") or new_client_id(),
        source=core.Source.API,
    )
    return ParsedOrder(request=request, resp_type=resp_type)


# --------------------------------------------------------------------------- futures


def _futures_common(params: Params) -> tuple[core.Side, bool]:
    side = _side(params)
    position_side = params.choice("positionSide", ("BOTH", "LONG", "SHORT"))
    if position_side not in (None, "BOTH"):
        # Paper accounts trade in one-way mode only.
        raise errors.BinanceError(-4061, "Order's position side does not match user's setting.")
    return side, params.bool("reduceOnly")


def futures_order(params: Params, symbol: str) -> ParsedOrder:
    """POST /fapi/v1/order parameters (LIMIT / MARKET) as an engine request.

    Conditional types belong to /fapi/v1/algoOrder since Binance's Dec 2025 change:
    -4120 here. closePosition is for conditional orders only (-1106)."""
    raw_type = params.required("type").upper()
    if raw_type in FUTURES_CONDITIONAL or raw_type in FUTURES_UNSUPPORTED:
        raise algo_endpoint_required()
    if raw_type not in FUTURES_TYPES:
        raise errors.bad_order_type()
    side, reduce_only = _futures_common(params)
    quantity = positive_decimal(params, "quantity", required=True)
    price = positive_decimal(params, "price")
    _refuse_present(params, "closePosition", "stopPrice", "quoteOrderQty")
    if raw_type == "LIMIT":
        if price is None:
            raise errors.missing("price")
        tif = params.choice(
            "timeInForce", FUTURES_TIME_IN_FORCE, errors.bad_time_in_force(), required=True
        )
        time_in_force = core.TimeInForce(tif)
    else:
        _refuse_present(params, "price", "timeInForce")
        time_in_force = core.TimeInForce.GTC
    _futures_ceilings(quantity, price)
    request = core.OrderRequest(
        symbol=symbol,
        market=core.Market.FUTURES,
        side=side,
        type=FUTURES_TYPES[raw_type],
        quantity=quantity,
        price=price,
        time_in_force=time_in_force,
        reduce_only=reduce_only,
        client_order_id=params.client_id("newClientOrderId") or new_client_id(),
        source=core.Source.API,
    )
    resp_type = params.choice("newOrderRespType", FUTURES_RESP_TYPES) or "ACK"
    return ParsedOrder(request=request, resp_type=resp_type)


def futures_algo_order(params: Params, symbol: str) -> ParsedOrder:
    """POST /fapi/v1/algoOrder (algoType=CONDITIONAL) parameters as an engine request:
    STOP_MARKET / TAKE_PROFIT_MARKET with triggerPrice, and quantity or
    closePosition=true (not both); the client id is ``clientAlgoId``."""
    algo_type = params.required("algoType").upper()
    if algo_type != "CONDITIONAL":
        raise errors.illegal("algoType", "CONDITIONAL")
    raw_type = params.required("type").upper()
    if raw_type not in FUTURES_CONDITIONAL:
        raise errors.bad_order_type()
    side, reduce_only = _futures_common(params)
    close_position = params.bool("closePosition")
    quantity = positive_decimal(params, "quantity")
    if close_position:
        _refuse_present(params, "quantity", "reduceOnly")
    elif quantity is None:
        raise either_missing("quantity", "closePosition")
    trigger = positive_decimal(params, "triggerPrice", required=True)
    _refuse_present(params, "price")
    _futures_ceilings(quantity, trigger)
    working = params.choice("workingType", WORKING_TYPES) or "CONTRACT_PRICE"
    tif = params.choice("timeInForce", FUTURES_TIME_IN_FORCE, errors.bad_time_in_force())
    request = core.OrderRequest(
        symbol=symbol,
        market=core.Market.FUTURES,
        side=side,
        type=FUTURES_CONDITIONAL[raw_type],
        quantity=quantity,
        stop_price=trigger,
        time_in_force=core.TimeInForce(tif or "GTC"),
        reduce_only=reduce_only,
        close_position=close_position,
        client_order_id=params.client_id("clientAlgoId") or new_client_id(),
        working_type=core.WorkingType(working),
        source=core.Source.API,
    )
    resp_type = params.choice("newOrderRespType", FUTURES_RESP_TYPES) or "ACK"
    return ParsedOrder(request=request, resp_type=resp_type)
