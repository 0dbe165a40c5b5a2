"""Properties of the pure engine under random sequences of orders, prices and funding.

Whatever happens (valid or invalid orders, cancels, closes, crashes that liquidate,
spikes, funding): for every asset the balance equals the sum of its ledger entries and is
never negative, the locks match the open orders, a rejection changes nothing, and
processing the same snapshot twice is a no-op.
"""

from __future__ import annotations

import copy
import random
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading.engine import (
    AccountState,
    Direction,
    Engine,
    EngineRefusal,
    MarginType,
    Market,
    MarketSnapshot,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SlippageModel,
    TimeInForce,
    round_price,
    rules_for,
)
from trading.engine.invariants import ledger_totals, problems
from trading.exchange.base import OrderBook

SYMBOLS = ("BTCUSDT", "ETHUSDT")
START = {"BTCUSDT": D(30000), "ETHUSDT": D(2000)}
QTY = {
    "BTCUSDT": ("0.00001", "0.001", "0.01", "0.1", "0.5", "2", "40"),
    "ETHUSDT": ("0.0001", "0.01", "0.1", "1", "5", "30", "500"),
}
MOVES = ("0.3", "0.6", "0.9", "0.97", "0.995", "1", "1.004", "1.03", "1.1", "1.5", "3")
OFFSETS = ("0.8", "0.95", "0.99", "1", "1.01", "1.05", "1.3")

symbols = st.sampled_from(SYMBOLS)
rarely = st.sampled_from([False, False, False, True])
place = st.tuples(
    st.just("place"),
    symbols,
    st.sampled_from(list(Market)),
    st.sampled_from(list(Side)),
    st.sampled_from([OrderType.MARKET, OrderType.MARKET, OrderType.LIMIT, *OrderType]),
    st.integers(0, 6),  # quantity choice
    st.sampled_from(OFFSETS),  # limit / stop price relative to the last price
    st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, *TimeInForce]),
    rarely,  # reduce_only
    rarely,  # close_position
    st.sampled_from([None, None, None, 1, 5, 20, 50, 125, 130]),
    st.sampled_from([None, None, None, MarginType.ISOLATED, MarginType.CROSSED]),
)
trade = st.tuples(
    st.just("trade"),
    symbols,
    st.sampled_from(list(Market)),
    st.sampled_from(list(Direction)),
    st.integers(0, 6),
    st.sampled_from([None, "0.9", "0.97", "1.05"]),  # stop-loss factor
    st.sampled_from([None, "1.03", "1.2", "0.9"]),  # take-profit factor
    st.sampled_from([None, D(1), D(5)]),  # trailing %
)
cancel = st.tuples(st.just("cancel"), st.integers(0, 20))
close = st.tuples(st.just("close"), st.integers(0, 20), st.sampled_from([None, "0.3", "5"]))
move = st.tuples(st.just("move"), symbols, st.sampled_from(MOVES), st.sampled_from(OFFSETS[1:6]))
candle = st.tuples(st.just("candle"), symbols, st.sampled_from(MOVES), st.sampled_from(MOVES))
funding = st.tuples(st.just("funding"), symbols, st.sampled_from(["-0.01", "-0.0001", "0.0003"]))
lever = st.tuples(st.just("leverage"), symbols, st.sampled_from([1, 3, 20, 75, 125, 200]))
margin = st.tuples(st.just("margin"), symbols, st.sampled_from(list(MarginType)))
# repeated branches weigh the draw towards orders and price moves
operations = st.lists(
    st.one_of(
        place,
        place,
        place,
        place,
        trade,
        trade,
        move,
        move,
        move,
        move,
        candle,
        candle,
        cancel,
        close,
        funding,
        funding,
        lever,
        margin,
    ),
    min_size=5,
    max_size=50,
)


def tick(symbol: str, price: D) -> D:
    return max(round_price(price, rules_for(symbol), ROUND_HALF_UP), rules_for(symbol).tick_size)


def book_for(symbol: str, price: D, t: int) -> OrderBook:
    step = rules_for(symbol).tick_size * 10
    size = D(QTY[symbol][4])
    return OrderBook(
        symbol,
        bids=tuple((price - step * i, size) for i in range(1, 4)),
        asks=tuple((price + step * i, size) for i in range(1, 4)),
        timestamp_ms=t,
    )


class Run:
    """Applies operations to one account and checks the invariants after each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = AccountState()
        self.ledger = ledger_totals(engine.deposit(self.state, "USDT", D(50000), 0).ledger)
        self.prices = dict(START)
        self.t = 1_000

    def snapshot(self, symbol: str, mark_factor: D = D(1)) -> MarketSnapshot:
        price = self.prices[symbol]
        return MarketSnapshot(
            symbol,
            price,
            self.t,
            mark_price=tick(symbol, price * mark_factor),
            book=book_for(symbol, price, self.t),
        )

    def apply(self, op: tuple) -> None:
        self.t += 1_000
        kind = op[0]
        before = copy.deepcopy(self.state)
        res = None
        try:
            res = getattr(self, kind)(*op[1:])
        except EngineRefusal:
            assert self.state == before, "a refusal changed the state"
        if res is not None:
            ledger_totals(res.ledger, self.ledger)
            if res.order is not None and res.order.status == OrderStatus.REJECTED:
                assert self.state == before, "a rejected order changed the state"
                assert res.ledger == [] and res.fills == []
        assert problems(self.state, self.ledger) == []

    def place(self, symbol, market, side, otype, qty_i, offset, tif, reduce_only, close, lev, mt):
        price = self.prices[symbol]
        level = tick(symbol, price * D(offset))
        request = OrderRequest(
            symbol,
            market,
            side,
            otype,
            quantity=D(QTY[symbol][qty_i]),
            price=level if otype == OrderType.LIMIT else None,
            stop_price=level if otype != OrderType.LIMIT else None,
            time_in_force=tif,
            reduce_only=reduce_only,
            close_position=close and otype != OrderType.LIMIT,
            leverage=lev,
            margin_type=mt,
        )
        return self.engine.place_order(self.state, request, self.snapshot(symbol))

    def trade(self, symbol, market, direction, qty_i, sl, tp, trail):
        price = self.prices[symbol]
        return self.engine.open_trade(
            self.state,
            symbol=symbol,
            market=market,
            direction=direction,
            snapshot=self.snapshot(symbol),
            quantity=D(QTY[symbol][qty_i]),
            stop_loss=tick(symbol, price * D(sl)) if sl else None,
            take_profit=tick(symbol, price * D(tp)) if tp else None,
            trailing_stop_pct=trail,
        )

    def cancel(self, index):
        if not self.state.orders:
            return None
        order_id = list(self.state.orders)[index % len(self.state.orders)]
        return self.engine.cancel_order(self.state, order_id, time_ms=self.t)

    def close(self, index, quantity):
        if not self.state.trades:
            return None
        trade = list(self.state.trades.values())[index % len(self.state.trades)]
        return self.engine.close_trade(
            self.state,
            trade.id,
            self.snapshot(trade.symbol),
            quantity=D(quantity) if quantity else None,
        )

    def move(self, symbol, factor, mark_factor):
        self.prices[symbol] = tick(symbol, self.prices[symbol] * D(factor))
        snapshot = self.snapshot(symbol, D(mark_factor))
        res = self.engine.on_price(self.state, snapshot)
        ledger_totals(res.ledger, self.ledger)
        assert problems(self.state, self.ledger) == []
        # idempotence: the same snapshot again changes nothing
        before = copy.deepcopy(self.state)
        again = self.engine.on_price(self.state, snapshot)
        assert not again.changed, again
        assert self.state == before
        return None

    def candle(self, symbol, low_factor, high_factor):
        open_ = self.prices[symbol]
        low = tick(symbol, open_ * min(D(low_factor), D(1)))
        high = tick(symbol, open_ * max(D(high_factor), D(1)))
        close = tick(symbol, (low + high) / 2)
        self.prices[symbol] = close
        return self.engine.on_candle(self.state, symbol, open_, high, low, close, self.t)

    def funding(self, symbol, rate):
        return self.engine.apply_funding(self.state, symbol, D(rate), self.prices[symbol], self.t)

    def leverage(self, symbol, leverage):
        return self.engine.set_leverage(self.state, symbol, leverage)

    def margin(self, symbol, margin_type):
        return self.engine.set_margin_type(self.state, symbol, margin_type)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=operations, mode=st.sampled_from(["off", "bps", "book"]))
def test_ledger_balances_and_idempotence_hold_for_any_sequence(ops, mode):
    run = Run(Engine(slippage=SlippageModel(mode=mode)))
    for op in ops:
        run.apply(op)


def _random_op(rng: random.Random) -> tuple:
    """One operation like the strategies draw, from a seeded generator."""
    symbol = rng.choice(SYMBOLS)
    kind = rng.choice(
        ("place",) * 5
        + ("trade",) * 2
        + ("move",) * 5
        + ("candle", "cancel", "close", "funding", "leverage", "margin")
    )
    if kind == "place":
        return (
            kind,
            symbol,
            rng.choice(list(Market)),
            rng.choice(list(Side)),
            rng.choice([OrderType.MARKET, OrderType.MARKET, OrderType.LIMIT, *OrderType]),
            rng.randrange(7),
            rng.choice(OFFSETS),
            rng.choice([TimeInForce.GTC, TimeInForce.GTC, *TimeInForce]),
            rng.random() < 0.2,
            rng.random() < 0.1,
            rng.choice([None, None, None, 1, 5, 20, 50, 125]),
            rng.choice([None, None, None, MarginType.ISOLATED, MarginType.CROSSED]),
        )
    if kind == "trade":
        return (
            kind,
            symbol,
            rng.choice(list(Market)),
            rng.choice(list(Direction)),
            rng.randrange(1, 6),
            rng.choice([None, "0.9", "0.97"]),
            rng.choice([None, "1.03", "1.2"]),
            rng.choice([None, D(1), D(5)]),
        )
    if kind == "move":
        return (kind, symbol, rng.choice(MOVES), rng.choice(OFFSETS[1:6]))
    if kind == "candle":
        return (kind, symbol, rng.choice(MOVES), rng.choice(MOVES))
    if kind in ("cancel", "close"):
        return (kind, rng.randrange(20)) + (() if kind == "cancel" else (None,))
    if kind == "funding":
        return (kind, symbol, rng.choice(["-0.01", "-0.0001", "0.0003"]))
    if kind == "leverage":
        return (kind, symbol, rng.choice([1, 3, 20, 75, 125, 200]))
    return (kind, symbol, rng.choice(list(MarginType)))


def test_long_seeded_sessions_keep_the_invariants():
    """Longer sessions than hypothesis draws: positions build up, get liquidated, reopen."""
    for seed in range(12):
        rng = random.Random(seed)
        run = Run(Engine(slippage=SlippageModel(mode=("off", "bps", "book")[seed % 3])))
        for _ in range(150):
            run.apply(_random_op(rng))
