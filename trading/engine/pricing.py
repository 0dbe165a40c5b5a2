"""How a taker fill is priced: the slippage model against the snapshot (and its book).

All prices and quantities are Decimal; a plan returns the exact quote value of what
fills (sum of level price * level quantity), the caller rounds money at the ledger.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

from .rules import round_price, round_qty
from .types import ZERO, MarketRules, MarketSnapshot, OrderType, SlippageModel

ONE = Decimal(1)
BPS = Decimal(10_000)


class Pricing:
    """The slippage model, with its constants worked out once."""

    __slots__ = ("down", "mode", "up")

    def __init__(self, slippage: SlippageModel) -> None:
        if slippage.mode not in ("book", "bps", "off"):
            raise ValueError(f"unknown slippage mode {slippage.mode!r}")
        self.mode = slippage.mode
        self.up = ONE + slippage.bps / BPS
        self.down = ONE - slippage.bps / BPS

    def taker_plan(
        self,
        rules: MarketRules,
        buy: bool,
        qty: Decimal,
        snap: MarketSnapshot,
        limit: Decimal | None,
    ) -> tuple[Decimal, Decimal]:
        """(quantity that fills now, its exact quote value) for a taker of `qty`.

        With a limit, only liquidity at or better than the limit counts; without one (a
        market order) everything fills, the book's rest at its last level's price.
        """
        mode = self.mode
        book = snap.book
        if mode == "book" and book is not None:
            levels = book.asks if buy else book.bids
            remaining = qty
            quote = ZERO
            last = None
            for level_price, level_qty in levels:
                if limit is not None and (level_price > limit if buy else level_price < limit):
                    break
                take = level_qty if level_qty < remaining else remaining
                quote += take * level_price
                remaining -= take
                last = level_price
                if not remaining:
                    break
            if remaining and limit is None:
                quote += remaining * (snap.price if last is None else last)
                remaining = ZERO
            return qty - remaining, quote
        last_price = snap.price
        if limit is not None and (last_price > limit if buy else last_price < limit):
            return ZERO, ZERO
        price = self.taker_price(rules, buy, last_price)
        if limit is not None:
            price = min(price, limit) if buy else max(price, limit)
        return qty, qty * price

    def taker_price(self, rules: MarketRules, buy: bool, price: Decimal) -> Decimal:
        """The price a taker pays (buy) or gets (sell) at last price `price` without a book:
        `price` itself, or moved `bps` against the taker and rounded to the tick away from
        the taker's favour."""
        if self.mode != "bps":
            return price
        if buy:
            return round_price(price * self.up, rules, ROUND_UP)
        return round_price(price * self.down, rules, ROUND_DOWN)

    def qty_for_quote(
        self, rules: MarketRules, buy: bool, budget: Decimal, snap: MarketSnapshot
    ) -> Decimal:
        """The base quantity (rounded down to the step) a quote budget buys / raises."""
        book = snap.book
        if self.mode == "book" and book is not None:
            remaining = budget
            qty = ZERO
            last = snap.price
            for level_price, level_qty in book.asks if buy else book.bids:
                last = level_price
                cost = level_price * level_qty
                if cost >= remaining:
                    qty += remaining / level_price
                    remaining = ZERO
                    break
                qty += level_qty
                remaining -= cost
            if remaining:
                qty += remaining / last
            return round_qty(qty, rules)
        _, unit = self.taker_plan(rules, buy, ONE, snap, None)
        return round_qty(budget / unit, rules)

    def would_take(self, buy: bool, price: Decimal, snap: MarketSnapshot) -> bool:
        """Whether a limit at `price` would trade on arrival (post-only check)."""
        book = snap.book
        if self.mode == "book" and book is not None:
            if buy:
                return bool(book.asks) and book.asks[0][0] <= price
            return bool(book.bids) and book.bids[0][0] >= price
        return snap.price <= price if buy else snap.price >= price


def triggered(otype: OrderType, buy: bool, stop: Decimal, price: Decimal) -> bool:
    """Binance's trigger rule: STOP_MARKET buys at >= stop, sells at <= stop; TP inverse."""
    if otype == OrderType.STOP_MARKET:
        return price >= stop if buy else price <= stop
    return price <= stop if buy else price >= stop


def book_crosses(snap: MarketSnapshot, buy: bool, limit: Decimal) -> bool:
    """Whether the book's best opposite level crosses a resting limit."""
    book = snap.book
    if book is None:
        return False
    if buy:
        return bool(book.asks) and book.asks[0][0] <= limit
    return bool(book.bids) and book.bids[0][0] >= limit
