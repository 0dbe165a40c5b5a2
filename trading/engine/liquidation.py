"""Liquidation on the mark price: isolated per position, cross for the whole account.

See `liquidate` for what the trader loses; the liquidation is recorded like Binance's:
a FILLED MARKET order with client id "autoclose-<id>" and its fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from .margin import (
    USDT,
    cross_margin_status,
    cross_wallet,
    liquidation_price,
    position_liquidation_price,
)
from .records import add_exit, credit, credit_pnl, end_order, finish_trade
from .types import (
    ZERO,
    AccountState,
    CloseReason,
    FeeSchedule,
    Fill,
    LedgerKind,
    Liquidated,
    MarginType,
    Market,
    MarketRules,
    MarketSnapshot,
    Order,
    OrderFilled,
    OrderStatus,
    OrderType,
    Position,
    Result,
    Side,
    Source,
    TimeInForce,
)

Q8 = Decimal("0.00000001")
_ISOLATED = MarginType.ISOLATED
_CROSSED = MarginType.CROSSED
_FUTURES = Market.FUTURES
_BUY = Side.BUY
_SELL = Side.SELL
_MARKET = OrderType.MARKET
_FILLED = OrderStatus.FILLED


def check_liquidation(
    fees: FeeSchedule,
    rules_by_symbol: Mapping[str, MarketRules],
    state: AccountState,
    snap: MarketSnapshot,
    res: Result,
) -> None:
    """Liquidate what `snap` (its mark price) puts under water.

    Isolated: this symbol's position, when the mark crosses its liquidation price. Cross:
    every cross position, when this symbol's cross position crosses its liquidation price
    or the cross margin balance is at or below the cross maintenance margin.
    """
    rules = rules_by_symbol[snap.symbol]
    symbol = snap.symbol
    mark = snap.mark
    position = state.positions.get(symbol)
    if position is not None and position.margin_type == _ISOLATED:
        lp = liquidation_price(
            quantity=position.quantity,
            entry_price=position.entry_price,
            wallet_balance=position.isolated_wallet,
            brackets=rules.brackets,
        )
        if lp and (mark <= lp if position.quantity > 0 else mark >= lp):
            liquidate(fees, state, position, lp, snap.time_ms, res)
    cross = [p for p in state.positions.values() if p.margin_type == _CROSSED]
    if not cross:
        return
    own_lp = ZERO
    position = state.positions.get(symbol)
    if position is not None and position.margin_type == _CROSSED:
        lp = position_liquidation_price(state, rules_by_symbol, symbol)
        if lp and (mark <= lp if position.quantity > 0 else mark >= lp):
            own_lp = lp
    if not own_lp:
        balance, maintenance = cross_margin_status(state, rules_by_symbol)
        if balance > maintenance:
            return
    for position in cross:
        if position.symbol == symbol and own_lp:
            price = own_lp
        else:
            price = state.marks.get(position.symbol, position.entry_price)
        liquidate(fees, state, position, price, snap.time_ms, res)


def liquidate(
    fees: FeeSchedule,
    state: AccountState,
    position: Position,
    price: Decimal,
    t: int,
    res: Result,
) -> None:
    """Close `position` at `price` by the liquidation engine.

    Isolated: the trader loses the whole isolated wallet: the realized loss, and what
    is left of the margin as the clearance fee. Cross: the loss is realized, then a
    clearance fee of notional * liquidation_fee_rate, never more than the cross
    wallet holds. A loss beyond the margin is absorbed (an "insurance" entry), so no
    balance goes negative.
    """
    symbol = position.symbol
    qty = position.quantity
    # Binance cancels the symbol's open orders before the liquidation engine takes over
    for order in [o for o in state.orders.values() if o.symbol == symbol and o.market == _FUTURES]:
        end_order(state, order, OrderStatus.CANCELED, "liquidation", t, res)
    trade_id = position.trade_id
    order_id = state.next_order_id
    state.next_order_id = order_id + 1
    realized = ((price - position.entry_price) * qty).quantize(Q8)
    if position.margin_type == _ISOLATED:
        wallet = position.isolated_wallet
        position.isolated_wallet = ZERO
        credit_pnl(state, res, realized, -wallet, t, symbol, order_id, trade_id)
        fee = wallet + realized if realized > -wallet else ZERO
    else:
        credit_pnl(
            state, res, realized, -max(cross_wallet(state), ZERO), t, symbol, order_id, trade_id
        )
        fee = (abs(qty) * price * fees.liquidation_fee_rate).quantize(Q8, ROUND_HALF_UP)
        fee = min(fee, max(cross_wallet(state), ZERO))
    if fee:
        credit(state, res, USDT, -fee, LedgerKind.LIQUIDATION, t, symbol, order_id, trade_id)
    del state.positions[symbol]
    res.positions.add(symbol)
    side = _SELL if qty > 0 else _BUY
    quote = (abs(qty) * price).quantize(Q8)
    order = Order(
        order_id,
        symbol,
        _FUTURES,
        side,
        _MARKET,
        abs(qty),
        None,
        None,
        TimeInForce.IOC,
        True,
        False,
        f"autoclose-{order_id}",
        _FILLED,
        t,
        t,
        executed_qty=abs(qty),
        cum_quote=quote,
        avg_price=price,
        trade_id=trade_id,
        close_reason=CloseReason.LIQUIDATION,
        source=Source.AUTO,
    )
    fill_id = state.next_fill_id
    state.next_fill_id = fill_id + 1
    fill = Fill(
        fill_id,
        order_id,
        symbol,
        _FUTURES,
        side,
        price,
        abs(qty),
        quote,
        fee,
        USDT,
        False,
        realized,
        t,
        trade_id,
    )
    res.orders[order_id] = order
    res.fills.append(fill)
    res.events.append(OrderFilled(order, fill))
    trade = state.trades.get(trade_id) if trade_id else None
    if trade is not None:
        trade.realized_pnl += realized
        trade.fees += fee
        add_exit(trade, abs(qty), price)
        trade.quantity = ZERO
        finish_trade(state, trade, CloseReason.LIQUIDATION, t, res)
    res.events.append(
        Liquidated(symbol, position.margin_type, qty, price, realized, fee, trade_id, t)
    )
