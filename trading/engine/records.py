"""Bookkeeping shared by the engine's modules: balances, locks, order ends, trade lives.

`credit` is the only way a balance changes: the change and its ledger entry are made
together, which is what keeps sum(ledger[asset]) == balances[asset]. Order and trade
records leave the AccountState only through `end_order` / `finish_trade` (and a full
fill), which also report them in the Result.
"""

from __future__ import annotations

from decimal import Decimal

from .margin import USDT
from .types import (
    ZERO,
    AccountState,
    CloseReason,
    Direction,
    LedgerEntry,
    LedgerKind,
    Market,
    Order,
    OrderCanceled,
    OrderStatus,
    Protection,
    Result,
    Trade,
    TradeClosed,
    TradeOpened,
    TradeStatus,
)

Q8 = Decimal("0.00000001")
HUNDRED = Decimal(100)


def new_trade(
    state: AccountState,
    order: Order,
    direction: Direction,
    qty: Decimal,
    price: Decimal,
    t: int,
    res: Result,
) -> Trade:
    """Open a Trade for `order`'s fill (id from the state's counter), with its protection."""
    trade_id = state.next_trade_id
    state.next_trade_id = trade_id + 1
    trade = Trade(
        trade_id,
        order.symbol,
        order.market,
        direction,
        qty,
        price,
        t,
        order.source,
        order.strategy,
    )
    if order.protection is not None:
        protect(trade, order.protection, price)
    state.trades[trade_id] = trade
    res.trades[trade_id] = trade
    res.events.append(TradeOpened(trade))
    return trade


def finish_trade(
    state: AccountState,
    trade: Trade,
    reason: CloseReason,
    t: int,
    res: Result,
    keep: int = 0,
) -> None:
    """Mark a trade closed, take it out of the state, cancel orders that belonged to it."""
    trade.status = (
        TradeStatus.LIQUIDATED if reason == CloseReason.LIQUIDATION else TradeStatus.CLOSED
    )
    trade.close_reason = reason
    trade.closed_ms = t
    state.trades.pop(trade.id, None)
    res.trades[trade.id] = trade
    res.events.append(TradeClosed(trade, reason))
    if state.orders:
        for order in [o for o in state.orders.values() if o.trade_id == trade.id and o.id != keep]:
            end_order(state, order, OrderStatus.CANCELED, "trade_closed", t, res)


def expire_reduce_only(
    state: AccountState, symbol: str, t: int, res: Result, keep: int = 0
) -> None:
    """The position is flat: its reduce-only and close-position orders expire (Binance)."""
    if not state.orders:
        return
    for order in [
        o
        for o in state.orders.values()
        if o.symbol == symbol
        and o.market == Market.FUTURES
        and (o.reduce_only or o.close_position)
        and o.id != keep
    ]:
        end_order(state, order, OrderStatus.EXPIRED, "position_closed", t, res)


def lock(state: AccountState, order: Order, asset: str, amount: Decimal) -> None:
    """Hold `amount` of `asset` back for an open order (not a balance change: no ledger)."""
    if amount:
        order.reserved = amount
        order.reserved_asset = asset
        state.locked[asset] = state.locked.get(asset, ZERO) + amount


def end_order(
    state: AccountState,
    order: Order,
    status: OrderStatus,
    reason: str,
    t: int,
    res: Result,
) -> None:
    """End an open order without (further) fills: CANCELED or EXPIRED, locks released."""
    order.status = status
    order.updated_ms = t
    if status == OrderStatus.EXPIRED:
        order.reject_reason = str(reason)
    state.orders.pop(order.id, None)
    if order.reserved:
        unlock(state, order)
    res.orders[order.id] = order
    res.events.append(OrderCanceled(order, str(reason)))


def credit(
    state: AccountState,
    res: Result,
    asset: str,
    amount: Decimal,
    kind: LedgerKind,
    t: int,
    symbol: str = "",
    order_id: int | None = None,
    trade_id: int | None = None,
) -> None:
    """The only way a balance changes: the change and its ledger entry, together."""
    balances = state.balances
    balances[asset] = balances.get(asset, ZERO) + amount
    res.ledger.append(LedgerEntry(asset, amount, kind, t, symbol, order_id, trade_id))


def credit_pnl(
    state: AccountState,
    res: Result,
    realized: Decimal,
    floor: Decimal,
    t: int,
    symbol: str,
    order_id: int,
    trade_id: int | None,
) -> None:
    """Book realized PnL; a loss below `floor` (what the margin holds) is absorbed."""
    if not realized:
        return
    credit(state, res, USDT, realized, LedgerKind.REALIZED_PNL, t, symbol, order_id, trade_id)
    if realized < floor:
        credit(
            state, res, USDT, floor - realized, LedgerKind.INSURANCE, t, symbol, order_id, trade_id
        )


def unlock(state: AccountState, order: Order) -> None:
    """Release what `order` held back (zero entries are dropped: a canonical state)."""
    asset = order.reserved_asset
    left = state.locked.get(asset, ZERO) - order.reserved
    if left:
        state.locked[asset] = left
    else:
        state.locked.pop(asset, None)
    order.reserved = ZERO


def trail_level(watermark: Decimal, pct: Decimal, long: bool) -> Decimal:
    """The trailing stop's trigger: pct % below a long's best price, above a short's."""
    if long:
        return watermark * (1 - pct / HUNDRED)
    return watermark * (1 + pct / HUNDRED)


def add_exit(trade: Trade, qty: Decimal, price: Decimal) -> None:
    """Fold an exit of `qty` at `price` into the trade's average exit price."""
    exited = trade.exited_qty + qty
    if trade.exited_qty:
        trade.exit_price = ((trade.exit_price * trade.exited_qty + price * qty) / exited).quantize(
            Q8
        )
    else:
        trade.exit_price = price
    trade.exited_qty = exited


def protect(trade: Trade, protection: Protection, price: Decimal) -> None:
    """Copy the set fields of `protection` onto `trade` (a new trailing stop starts at price)."""
    if protection.stop_loss is not None:
        trade.stop_loss = protection.stop_loss
    if protection.take_profit is not None:
        trade.take_profit = protection.take_profit
    if protection.trailing_stop_pct is not None:
        trade.trailing_stop_pct = protection.trailing_stop_pct
        trade.watermark = price
