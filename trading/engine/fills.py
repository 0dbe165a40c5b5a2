"""Fills: what one execution does to balances, the position, the trade and the order.

`execute` is the single entry: the caller has already decided the quantity and its exact
quote value (pricing.Pricing) and checked the funds; nothing here refuses anything.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from .margin import USDT, cross_wallet
from .records import (
    add_exit,
    credit,
    credit_pnl,
    expire_reduce_only,
    finish_trade,
    new_trade,
    protect,
    unlock,
)
from .types import (
    ZERO,
    AccountState,
    CloseReason,
    Direction,
    FeeSchedule,
    Fill,
    LedgerKind,
    MarginType,
    Market,
    MarketRules,
    Order,
    OrderFilled,
    OrderStatus,
    Position,
    Result,
    Side,
    SymbolSettings,
)

Q8 = Decimal("0.00000001")
DEFAULT_SETTINGS = SymbolSettings()
_BUY = Side.BUY
_SPOT = Market.SPOT
_FUTURES = Market.FUTURES
_ISOLATED = MarginType.ISOLATED
_FILLED = OrderStatus.FILLED
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_LONG = Direction.LONG


def execute(
    fees: FeeSchedule,
    state: AccountState,
    order: Order,
    rules: MarketRules,
    qty: Decimal,
    quote: Decimal,
    maker: bool,
    t: int,
    res: Result,
) -> Fill:
    """Execute `qty` of `order` for `quote` (exact): balances, position, trade, records."""
    price = (quote / qty).quantize(Q8, ROUND_HALF_EVEN)
    fill_id = state.next_fill_id
    state.next_fill_id = fill_id + 1
    if order.market == _SPOT:
        fill = fill_spot(fees, state, order, rules, qty, quote, price, maker, t, res, fill_id)
    else:
        fill = fill_futures(fees, state, order, rules, qty, quote, price, maker, t, res, fill_id)
    executed = order.executed_qty + qty
    cum_quote = order.cum_quote + fill.quote_qty
    order.executed_qty = executed
    order.cum_quote = cum_quote
    order.avg_price = price if executed == qty else (cum_quote / executed).quantize(Q8)
    order.status = _FILLED if executed >= order.quantity else _PARTIAL
    order.updated_ms = t
    res.orders[order.id] = order
    res.fills.append(fill)
    res.events.append(OrderFilled(order, fill))
    if order.status == _FILLED and order.id in state.orders:
        del state.orders[order.id]
        if order.reserved:
            unlock(state, order)
    return fill


def fill_spot(
    fees: FeeSchedule,
    state: AccountState,
    order: Order,
    rules: MarketRules,
    qty: Decimal,
    quote: Decimal,
    price: Decimal,
    maker: bool,
    t: int,
    res: Result,
    fill_id: int,
) -> Fill:
    """Spot: quote for base; the fee is taken from the asset received (Binance)."""
    rate = fees.spot_maker if maker else fees.spot_taker
    symbol, base, quote_asset, order_id = rules.symbol, rules.base, rules.quote, order.id
    trade_id = order.trade_id
    if order.side == _BUY:
        amount = quote.quantize(Q8, ROUND_UP)
        fee = (qty * rate).quantize(Q8, ROUND_HALF_UP)
        fee_asset = base
        credit(state, res, quote_asset, -amount, LedgerKind.TRADE, t, symbol, order_id)
        credit(state, res, base, qty, LedgerKind.TRADE, t, symbol, order_id)
        if fee:
            credit(state, res, base, -fee, LedgerKind.FEE, t, symbol, order_id)
        if order.opens_trade:
            trade_id = spot_trade_add(state, order, qty, qty - fee, price, fee, t, res)
    else:
        amount = quote.quantize(Q8, ROUND_DOWN)
        fee = (amount * rate).quantize(Q8, ROUND_HALF_UP)
        fee_asset = quote_asset
        credit(state, res, base, -qty, LedgerKind.TRADE, t, symbol, order_id)
        credit(state, res, quote_asset, amount, LedgerKind.TRADE, t, symbol, order_id)
        if fee:
            credit(state, res, quote_asset, -fee, LedgerKind.FEE, t, symbol, order_id)
        if trade_id is not None:
            spot_trade_reduce(state, order, rules, qty, price, fee, t, res)
    return Fill(
        fill_id,
        order_id,
        symbol,
        _SPOT,
        order.side,
        price,
        qty,
        amount,
        fee,
        fee_asset,
        maker,
        ZERO,
        t,
        trade_id,
    )


def spot_trade_add(
    state: AccountState,
    order: Order,
    gross: Decimal,
    net: Decimal,
    price: Decimal,
    fee: Decimal,
    t: int,
    res: Result,
) -> int:
    """An open_trade spot buy: start its Trade or add to it (net of the coin fee)."""
    trade = state.trades.get(order.trade_id) if order.trade_id else None
    fee_value = (fee * price).quantize(Q8)
    if trade is None:
        trade = new_trade(state, order, _LONG, net, price, t, res)
        trade.entered_qty = gross
        trade.fees = fee_value
        order.trade_id = trade.id
    else:
        entered = trade.entered_qty + gross
        trade.entry_price = (
            (trade.entry_price * trade.entered_qty + price * gross) / entered
        ).quantize(Q8)
        trade.entered_qty = entered
        trade.quantity += net
        trade.fees += fee_value
        res.trades[trade.id] = trade
    return trade.id


def spot_trade_reduce(
    state: AccountState,
    order: Order,
    rules: MarketRules,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    t: int,
    res: Result,
) -> None:
    """A spot sell that closes (part of) a Trade: gross PnL, fees, exit average."""
    trade = state.trades.get(order.trade_id) if order.trade_id else None
    if trade is None:
        return
    closed = qty if qty < trade.quantity else trade.quantity
    trade.realized_pnl += ((price - trade.entry_price) * closed).quantize(Q8)
    trade.fees += fee
    add_exit(trade, closed, price)
    trade.quantity -= closed
    res.trades[trade.id] = trade
    if trade.quantity < rules.step_size:  # what is left is dust that cannot be sold
        reason = order.close_reason or CloseReason.MANUAL
        finish_trade(state, trade, reason, t, res, order.id)


def fill_futures(
    fees: FeeSchedule,
    state: AccountState,
    order: Order,
    rules: MarketRules,
    qty: Decimal,
    quote: Decimal,
    price: Decimal,
    maker: bool,
    t: int,
    res: Result,
    fill_id: int,
) -> Fill:
    """USD-M one-way: reduce (realize PnL) first, then open / add with what is left."""
    symbol, order_id = rules.symbol, order.id
    buy = order.side == _BUY
    quote = quote.quantize(Q8, ROUND_HALF_EVEN)
    fee = (quote * (fees.futures_maker if maker else fees.futures_taker)).quantize(
        Q8, ROUND_HALF_UP
    )
    position = state.positions.get(symbol)
    realized = ZERO
    remaining = qty
    fee_left = fee
    trade_id = None
    if position is not None and (position.quantity > 0) != buy:
        held = abs(position.quantity)
        closed = qty if qty < held else held
        long = position.quantity > 0
        realized = ((price - position.entry_price) * closed).quantize(Q8)
        if not long:
            realized = -realized
        fee_close = fee if closed == qty else (fee * closed / qty).quantize(Q8)
        fee_left = fee - fee_close
        if position.margin_type == _ISOLATED:
            released = (
                position.isolated_wallet
                if closed == held
                else (position.isolated_wallet * closed / held).quantize(Q8)
            )
            position.isolated_wallet -= released
            floor = -released
        elif realized < 0:
            floor = -max(cross_wallet(state), ZERO)
        else:
            floor = ZERO
        trade_id = position.trade_id
        credit_pnl(state, res, realized, floor, t, symbol, order_id, trade_id)
        position.quantity += closed if buy else -closed
        position.realized_pnl += realized
        position.updated_ms = t
        res.positions.add(symbol)
        trade = state.trades.get(trade_id) if trade_id else None
        if trade is not None:
            trade.realized_pnl += realized
            trade.fees += fee_close
            add_exit(trade, closed, price)
            trade.quantity = abs(position.quantity)
            res.trades[trade.id] = trade
        if not position.quantity:
            del state.positions[symbol]
            if trade is not None:
                finish_trade(
                    state, trade, order.close_reason or CloseReason.REDUCE, t, res, order_id
                )
            expire_reduce_only(state, symbol, t, res, order_id)
            position = None
        remaining = qty - closed
    if remaining:
        trade_id = futures_open(
            state, order, symbol, remaining, price, buy, fee_left, t, res, position
        )
    if fee:
        # the fee comes out of the cross wallet and never takes it below zero
        wallet = state.balances.get(USDT, ZERO)
        for held_position in state.positions.values():
            if held_position.margin_type == _ISOLATED:
                wallet -= held_position.isolated_wallet
        if fee > wallet:
            fee = max(wallet, ZERO)
        if fee:
            credit(state, res, USDT, -fee, LedgerKind.FEE, t, symbol, order_id, trade_id)
    return Fill(
        fill_id,
        order_id,
        symbol,
        _FUTURES,
        order.side,
        price,
        qty,
        quote,
        fee,
        USDT,
        maker,
        realized,
        t,
        trade_id,
    )


def futures_open(
    state: AccountState,
    order: Order,
    symbol: str,
    qty: Decimal,
    price: Decimal,
    buy: bool,
    fee: Decimal,
    t: int,
    res: Result,
    position: Position | None,
) -> int | None:
    """Open or increase the position by `qty` at `price`; returns its trade id."""
    if position is None:
        settings = state.settings.get(symbol, DEFAULT_SETTINGS)
        position = Position(
            symbol,
            qty if buy else -qty,
            price,
            settings.leverage,
            settings.margin_type,
            ZERO,
            t,
            t,
        )
        state.positions[symbol] = position
        trade = new_trade(state, order, _LONG if buy else Direction.SHORT, qty, price, t, res)
        trade.entered_qty = qty
        trade.fees = fee
        trade.leverage = position.leverage
        trade.margin_type = position.margin_type
        position.trade_id = trade.id
    else:
        held = abs(position.quantity)
        total = held + qty
        position.entry_price = ((position.entry_price * held + price * qty) / total).quantize(Q8)
        position.quantity += qty if buy else -qty
        position.updated_ms = t
        current = state.trades.get(position.trade_id) if position.trade_id else None
        if current is not None:
            current.entry_price = position.entry_price
            current.entered_qty += qty
            current.quantity = total
            current.fees += fee
            if order.protection is not None:
                protect(current, order.protection, price)
            res.trades[current.id] = current
    if position.margin_type == _ISOLATED:
        position.isolated_wallet += (qty * price / position.leverage).quantize(Q8, ROUND_UP)
    res.positions.add(symbol)
    return position.trade_id
