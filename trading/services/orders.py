"""Orders as exchange clients place them (Binance's newOrder semantics), on the paper engine.

The Binance-compatible API and the /futures routes place, cancel and configure through
these; every order that adds exposure passes the same safety check as POST /trade.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from trading import engine as core
from trading import risk
from trading.models import Fill, Order
from trading.services.markets import symbol_resolve
from trading.services.paper import (
    OrderRefused,
    RiskCheckFailed,
    account_locked,
    account_view,
    notify_after,
    result_write,
    risk_limits,
)
from trading.services.paper_account import market_now, now_ms, paper_engine
from trading.services.paper_state import Loaded, fill_row, order_row

ZERO = Decimal("0")
_CONDITIONAL = (core.OrderType.STOP_MARKET, core.OrderType.TAKE_PROFIT_MARKET)


class EngineRefused(OrderRefused):
    """A setting change the engine refused (leverage, margin type); details name the rule."""

    code = "setting_refused"


def _adds_exposure(state: core.AccountState, request: core.OrderRequest) -> bool:
    if request.reduce_only or request.close_position:
        return False
    if request.market == core.Market.SPOT:
        return request.side == core.Side.BUY
    position = state.positions.get(request.symbol)
    if position is None or position.quantity == 0:
        return True
    long = position.quantity > 0
    same_side = (request.side == core.Side.BUY) == long
    return same_side or (request.quantity or ZERO) > abs(position.quantity)


def _safety_check(loaded: Loaded, request: core.OrderRequest, snap: core.MarketSnapshot) -> None:
    state = loaded.state
    if not _adds_exposure(state, request):
        return
    price = request.price or request.stop_price or snap.price
    quantity = request.quantity
    if quantity is None and request.quote_quantity is not None:
        quantity = request.quote_quantity / price
    settings_ = state.settings.get(request.symbol, core.SymbolSettings())
    leverage = 1 if request.market == core.Market.SPOT else (request.leverage or settings_.leverage)
    proposal = risk.Proposal(
        symbol=request.symbol,
        market=str(request.market),
        direction="long" if request.side == core.Side.BUY else "short",
        quantity=quantity or ZERO,
        price=price,
        leverage=leverage,
    )
    checks = risk.evaluate(risk_limits(loaded), proposal, account_view(loaded, snap.time_ms))
    failed = [c for c in checks if not c.passed]
    if failed:
        raise RiskCheckFailed(
            f"Refused by your risk settings: {failed[0].message}",
            details={"rule": failed[0].rule, "checks": [c.as_dict() for c in checks]},
        )


def order_place(*, user: AbstractBaseUser, request: core.OrderRequest) -> tuple[Order, list[Fill]]:
    """Place one order after the safety check; the order and its fills as stored.

    Raises RiskCheckFailed, or OrderRefused naming the engine rule (``details["rule"]``):
    nothing changes then. A duplicate open client order id is refused under the account
    lock, so concurrent duplicates make exactly one order.
    """
    symbol = symbol_resolve(request.symbol)
    snap, prices = market_now(symbol)
    request = replace(request, symbol=symbol)
    events: list = []
    rejected: list = []
    try:
        with account_locked(user, events, prices) as loaded:
            _safety_check(loaded, request, snap)
            result = paper_engine().place_order(loaded.state, request, snap)
            order = result.order
            assert order is not None
            if order.status == core.OrderStatus.REJECTED:
                rejected.extend(result.events)
                raise OrderRefused(
                    order.reject_message or "The order was rejected.",
                    details={"rule": order.reject_reason},
                )
            result_write(loaded, result)
            events.extend(result.events)
    finally:
        if rejected:
            notify_after(user.pk, rejected)
    account = loaded.account
    fills = [fill_row(account, f) for f in result.fills if f.order_id == order.id]
    return order_row(account, order), fills


def order_cancel(
    *,
    user: AbstractBaseUser,
    market: str,
    symbol: str | None = None,
    number: int | None = None,
    client_order_id: str | None = None,
) -> Order:
    """Cancel one open order of ``market`` (and ``symbol`` when given); the order as stored.

    An unknown, closed or other-market order is OrderRefused with rule unknown_order.
    """
    events: list = []
    with account_locked(user, events) as loaded:
        order = _open_order(loaded.state, market, symbol, number, client_order_id)
        if order is None:
            raise OrderRefused(
                "Unknown order sent.", details={"rule": str(core.Rule.UNKNOWN_ORDER)}
            )
        result = paper_engine().cancel_order(loaded.state, order.id, time_ms=now_ms())
        result_write(loaded, result)
        events.extend(result.events)
        canceled = result.orders.get(order.id, order)
    return order_row(loaded.account, canceled)


def _open_order(
    state: core.AccountState,
    market: str,
    symbol: str | None,
    number: int | None,
    client_order_id: str | None,
) -> core.Order | None:
    for order in state.orders.values():
        if str(order.market) != market or (symbol and order.symbol != symbol):
            continue
        if number is not None and order.id == number:
            return order
        if number is None and client_order_id and order.client_order_id == client_order_id:
            return order
    return None


def orders_cancel_all(
    *, user: AbstractBaseUser, market: str, symbol: str, conditional: bool | None = None
) -> list[Order]:
    """Cancel every open order of ``symbol`` on ``market``, under one lock; ``conditional``
    limits it to stop / take-profit orders (True) or to the others (False)."""
    events: list = []
    canceled = []
    with account_locked(user, events) as loaded:
        for order in [
            o
            for o in loaded.state.orders.values()
            if str(o.market) == market
            and o.symbol == symbol
            and (conditional is None or (o.type in _CONDITIONAL) == conditional)
        ]:
            result = paper_engine().cancel_order(loaded.state, order.id, time_ms=now_ms())
            result_write(loaded, result)
            canceled.append(order_row(loaded.account, result.orders.get(order.id, order)))
    return canceled


def leverage_set(*, user: AbstractBaseUser, symbol: str, leverage: int) -> dict[str, Any]:
    """Set a symbol's futures leverage (and its position's); Binance's refusals apply."""
    symbol = symbol_resolve(symbol)
    events: list = []
    with account_locked(user, events) as loaded:
        try:
            result = paper_engine().set_leverage(loaded.state, symbol, leverage)
        except core.EngineRefusal as exc:
            raise EngineRefused(exc.message, details={"rule": str(exc.rule)}) from exc
        result_write(loaded, result)
    brackets = paper_engine().rules[symbol].brackets
    cap = max((b.cap for b in brackets if b.max_leverage >= leverage), default=brackets[0].cap)
    return {"symbol": symbol, "leverage": leverage, "max_notional": cap}


def margin_type_set(*, user: AbstractBaseUser, symbol: str, margin_type: str) -> dict[str, Any]:
    """Set a symbol's margin type ("isolated" / "cross"); refused with a position or open
    orders, or when it is already set (Binance -4046)."""
    symbol = symbol_resolve(symbol)
    kind = core.MarginType.ISOLATED if margin_type == "isolated" else core.MarginType.CROSSED
    events: list = []
    with account_locked(user, events) as loaded:
        try:
            result = paper_engine().set_margin_type(loaded.state, symbol, kind)
        except core.EngineRefusal as exc:
            raise EngineRefused(exc.message, details={"rule": str(exc.rule)}) from exc
        result_write(loaded, result)
    return {"symbol": symbol, "margin_type": margin_type}
