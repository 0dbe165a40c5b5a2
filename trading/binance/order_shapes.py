"""Binance JSON shapes of paper records: spot and USD-M orders, trades and the spot account.

Pure functions over Order / Fill rows and engine state (no queries): the field sets are
Binance's (../shared/binance-compat.md §3.3, §3.4, §4) because clients such as ccxt read
them by name. Decimals are strings, ids and timestamps integers, flags JSON booleans.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptobot.lib.decimal import dec_str
from trading import engine as core
from trading.engine.margin import available_usdt
from trading.models import Fill, Order

ZERO = Decimal("0")
NO_ORDER_LIST = -1
STP_MODE = "EXPIRE_MAKER"


def ms(moment: datetime | None) -> int:
    """Epoch milliseconds of a stored datetime (0 when unset)."""
    return 0 if moment is None else int(moment.timestamp() * 1000)


def _dec(value: Decimal | None) -> str:
    return dec_str(value if value is not None else ZERO)


# --------------------------------------------------------------------------- spot


def spot_type(order: Order) -> str:
    """The Binance spot type of an order: a post-only LIMIT is LIMIT_MAKER, and the
    engine's conditional market orders are spot's STOP_LOSS / TAKE_PROFIT."""
    if order.type == core.OrderType.LIMIT and order.time_in_force == core.TimeInForce.GTX:
        return "LIMIT_MAKER"
    return {
        core.OrderType.STOP_MARKET: "STOP_LOSS",
        core.OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT",
    }.get(order.type, order.type)


def _spot_tif(order: Order) -> str:
    # Spot knows no GTX: a LIMIT_MAKER order reports GTC, as Binance's does.
    return "GTC" if order.time_in_force == core.TimeInForce.GTX else order.time_in_force


def _orig_qty(order: Order) -> Decimal:
    # A quoteOrderQty market order has no base quantity until it fills; Binance then
    # reports what was bought as origQty.
    return order.quantity if order.quantity else order.executed_qty


def _spot_common(order: Order) -> dict[str, Any]:
    return {
        "price": _dec(order.price),
        "origQty": _dec(_orig_qty(order)),
        "executedQty": _dec(order.executed_qty),
        "origQuoteOrderQty": _dec(order.quote_quantity),
        "cummulativeQuoteQty": _dec(order.cum_quote),  # Binance's own spelling
        "status": order.status,
        "timeInForce": _spot_tif(order),
        "type": spot_type(order),
        "side": order.side,
    }


def spot_order(order: Order) -> dict[str, Any]:
    """An order as GET /api/v3/order, openOrders and allOrders list it."""
    return {
        "symbol": order.symbol,
        "orderId": order.number,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        **_spot_common(order),
        "stopPrice": _dec(order.stop_price),
        "icebergQty": _dec(ZERO),
        "time": ms(order.created_at),
        "updateTime": ms(order.updated_at),
        "isWorking": order.status in Order.OPEN_STATUSES,
        "workingTime": ms(order.created_at),
        "selfTradePreventionMode": STP_MODE,
    }


def spot_order_placed(order: Order, fills: list[Fill], resp_type: str) -> dict[str, Any]:
    """POST /api/v3/order's reply: ACK (ids only), RESULT (the order) or FULL (with fills)."""
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.number,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        "transactTime": ms(order.updated_at),
    }
    if resp_type == "ACK":
        return out
    out.update(_spot_common(order))
    if order.stop_price is not None:
        out["stopPrice"] = _dec(order.stop_price)
    out["workingTime"] = ms(order.created_at)
    out["selfTradePreventionMode"] = STP_MODE
    if resp_type == "FULL":
        out["fills"] = [spot_order_fill(f) for f in fills]
    return out


def spot_order_fill(fill: Fill) -> dict[str, Any]:
    """One element of a FULL reply's ``fills``."""
    return {
        "price": _dec(fill.price),
        "qty": _dec(fill.qty),
        "commission": _dec(fill.fee),
        "commissionAsset": fill.fee_asset,
        "tradeId": fill.number,
    }


def spot_order_canceled(order: Order, cancel_client_id: str) -> dict[str, Any]:
    """DELETE /api/v3/order's reply; ``cancel_client_id`` is the cancel request's own id
    (Binance gives every cancel a fresh one and reports the order's as origClientOrderId)."""
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.number,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": cancel_client_id,
        "transactTime": ms(order.updated_at),
        **_spot_common(order),
    }
    if order.stop_price is not None:
        out["stopPrice"] = _dec(order.stop_price)
    out["selfTradePreventionMode"] = STP_MODE
    return out


def spot_fill(fill: Fill) -> dict[str, Any]:
    """A fill as GET /api/v3/myTrades lists it."""
    return {
        "symbol": fill.symbol,
        "id": fill.number,
        "orderId": fill.order_number,
        "orderListId": NO_ORDER_LIST,
        "price": _dec(fill.price),
        "qty": _dec(fill.qty),
        "quoteQty": _dec(fill.quote_qty),
        "commission": _dec(fill.fee),
        "commissionAsset": fill.fee_asset,
        "time": ms(fill.time),
        "isBuyer": fill.side == core.Side.BUY,
        "isMaker": fill.maker,
        "isBestMatch": True,
    }


def spot_balances(
    state: core.AccountState, assets: list[str] | tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Free and locked per asset, every held asset plus ``assets`` (zero when not held).

    The USDT balance is shared with futures: what spot may spend (the engine's available
    USDT: less futures margin and open-order locks) is free, the rest of it locked, so
    free + locked is always the balance."""
    names = sorted(set(state.balances) | set(assets))
    out = []
    for asset in names:
        total = state.balances.get(asset, ZERO)
        if asset == "USDT":
            free = min(max(available_usdt(state), ZERO), total)
        else:
            free = max(total - state.locked.get(asset, ZERO), ZERO)
        out.append({"asset": asset, "free": dec_str(free), "locked": dec_str(total - free)})
    return out


def spot_account(
    *,
    balances: list[dict[str, str]],
    maker: Decimal,
    taker: Decimal,
    updated_ms: int,
    uid: int,
    can_trade: bool = True,
) -> dict[str, Any]:
    """GET /api/v3/account: commissions (rates as fractions and in basis points, as
    Binance's integer fields), permissions and balances. ``updated_ms`` must not be 0."""
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": dec_str(maker),
            "taker": dec_str(taker),
            "buyer": dec_str(ZERO),
            "seller": dec_str(ZERO),
        },
        "canTrade": can_trade,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": updated_ms or 1,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": uid,
    }


# --------------------------------------------------------------------------- futures


def futures_order(order: Order, *, with_time: bool = True) -> dict[str, Any]:
    """A USD-M order as GET /fapi/v1/order, openOrders and allOrders list it; without
    ``time`` it is the RESULT reply of POST /fapi/v1/order, and with status CANCELED the
    reply of DELETE. ``positionSide`` and ``cumQuote`` make ccxt parse it as a contract
    order, so both are always present."""
    out: dict[str, Any] = {
        "orderId": order.number,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id,
        "price": _dec(order.price),
        "avgPrice": _dec(order.avg_price),
        "origQty": _dec(_orig_qty(order)),
        "executedQty": _dec(order.executed_qty),
        "cumQty": _dec(order.executed_qty),
        "cumQuote": _dec(order.cum_quote),
        "timeInForce": order.time_in_force,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": order.side,
        "positionSide": "BOTH",
        "stopPrice": _dec(order.stop_price),
        "workingType": order.working_type,
        "priceProtect": False,
        "origType": order.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": STP_MODE,
        "goodTillDate": 0,
        "updateTime": ms(order.updated_at),
    }
    if with_time:
        out["time"] = ms(order.created_at)
    return out


def futures_order_ack(order: Order) -> dict[str, Any]:
    """POST /fapi/v1/order with newOrderRespType=ACK: the order as accepted (Binance does
    not wait for the fill; ours has happened already, but ACK reports the intake)."""
    out = futures_order(order, with_time=False)
    out.update(
        {"status": "NEW", "executedQty": _dec(ZERO), "cumQty": _dec(ZERO), "cumQuote": _dec(ZERO)}
    )
    out["avgPrice"] = _dec(ZERO)
    return out


def futures_trade(fill: Fill) -> dict[str, Any]:
    """A fill as GET /fapi/v1/userTrades lists it (realizedPnl gross of fees)."""
    return {
        "symbol": fill.symbol,
        "id": fill.number,
        "orderId": fill.order_number,
        "side": fill.side,
        "price": _dec(fill.price),
        "qty": _dec(fill.qty),
        "realizedPnl": _dec(fill.realized_pnl),
        "quoteQty": _dec(fill.quote_qty),
        "commission": _dec(fill.fee),
        "commissionAsset": fill.fee_asset,
        "time": ms(fill.time),
        "positionSide": "BOTH",
        "buyer": fill.side == core.Side.BUY,
        "maker": fill.maker,
    }
