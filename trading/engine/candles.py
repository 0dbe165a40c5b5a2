"""A candle as a price path, for the backtester (Engine.on_candle walks it).

The path visits the open, both extremes and the close; between two waypoints the price
moves monotonically, so every level of interest crossed on the way (a limit or stop
price, a stop-loss / take-profit / trailing level, a liquidation price) is visited at
exactly its price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .margin import position_liquidation_price
from .records import trail_level
from .types import AccountState, Direction, MarketRules, OrderType


def candle_path(
    state: AccountState,
    symbol: str,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
) -> list[Decimal]:
    """Open, extremes, close, the adverse extreme first (pessimistic).

    The adverse extreme is the open futures position's (long: low first; short: high
    first); open spot trades are longs. With nothing open, a green candle (close >= open)
    goes via the low first and a red one via the high, the usual bar-path convention.
    """
    position = state.positions.get(symbol)
    if position is not None:
        low_first = position.quantity > 0
    elif any(t.symbol == symbol for t in state.trades.values()):
        low_first = True
    else:
        low_first = close >= open
    if low_first:
        return [open, low, high, close]
    return [open, high, low, close]


def next_level(
    state: AccountState,
    rules: Mapping[str, MarketRules],
    symbol: str,
    current: Decimal,
    target: Decimal,
) -> Decimal | None:
    """The first price of interest strictly between `current` and `target`, or None."""
    up = target > current
    best: Decimal | None = None
    for level in levels(state, rules, symbol):
        inside = (current < level < target) if up else (target < level < current)
        if inside and (best is None or (level < best if up else level > best)):
            best = level
    return best


def levels(state: AccountState, rules: Mapping[str, MarketRules], symbol: str) -> list[Decimal]:
    """Every price at which something of `symbol` would happen, given the state now."""
    found: list[Decimal] = []
    for order in state.orders.values():
        if order.symbol != symbol:
            continue
        level = order.price if order.type == OrderType.LIMIT else order.stop_price
        if level is not None:
            found.append(level)
    for trade in state.trades.values():
        if trade.symbol != symbol:
            continue
        if trade.stop_loss is not None:
            found.append(trade.stop_loss)
        if trade.take_profit is not None:
            found.append(trade.take_profit)
        if trade.trailing_stop_pct is not None and trade.watermark is not None:
            long = trade.direction == Direction.LONG
            found.append(trail_level(trade.watermark, trade.trailing_stop_pct, long))
    if symbol in state.positions:
        lp = position_liquidation_price(state, rules, symbol)
        if lp:
            found.append(lp)
    return found
