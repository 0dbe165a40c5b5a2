"""Spot paper trading in the pure engine: fees in the received asset, filters, balances.

Every figure is computed by hand in the comments; no database is involved.
"""

from __future__ import annotations

import copy
from decimal import Decimal as D

from trading.engine import (
    AccountState,
    Engine,
    LedgerKind,
    Market,
    MarketSnapshot,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Rule,
    Side,
    SlippageModel,
    TimeInForce,
)
from trading.engine.invariants import ledger_totals, problems
from trading.exchange.base import OrderBook

BTC = "BTCUSDT"
OFF = Engine(slippage=SlippageModel(mode="off"))


def snap(price: str, t: int = 1_000, book: OrderBook | None = None) -> MarketSnapshot:
    return MarketSnapshot(BTC, D(price), t, book=book)


def funded(engine: Engine, usdt: str = "100000") -> tuple[AccountState, dict]:
    state = AccountState()
    ledger = ledger_totals(engine.deposit(state, "USDT", D(usdt), 0).ledger)
    return state, ledger


def spot(side: Side, qty: str | None = None, **kw) -> OrderRequest:
    return OrderRequest(BTC, Market.SPOT, side, quantity=D(qty) if qty else None, **kw)


def test_spot_buy_pays_the_fee_in_the_coin_received():
    state, ledger = funded(OFF, "10000")
    res = OFF.place_order(state, spot(Side.BUY, "0.1"), snap("30000"))
    # cost 0.1 * 30,000 = 3,000 USDT; fee 0.1 % of 0.1 BTC = 0.0001 BTC
    fill = res.fills[0]
    assert (fill.price, fill.qty, fill.quote_qty) == (D(30000), D("0.1"), D(3000))
    assert (fill.fee, fill.fee_asset, fill.maker) == (D("0.0001"), "BTC", False)
    assert state.balances == {"USDT": D(7000), "BTC": D("0.0999")}
    assert res.order.status == OrderStatus.FILLED
    ledger_totals(res.ledger, ledger)
    assert problems(state, ledger) == []
    assert [(e.asset, e.amount, e.kind) for e in res.ledger] == [
        ("USDT", D(-3000), LedgerKind.TRADE),
        ("BTC", D("0.1"), LedgerKind.TRADE),
        ("BTC", D("-0.0001"), LedgerKind.FEE),
    ]


def test_spot_sell_pays_the_fee_in_the_quote_received():
    state, ledger = funded(OFF, "10000")
    ledger_totals(OFF.place_order(state, spot(Side.BUY, "0.1"), snap("30000")).ledger, ledger)
    res = OFF.place_order(state, spot(Side.SELL, "0.0999"), snap("31000"))
    ledger_totals(res.ledger, ledger)
    assert problems(state, ledger) == []
    # proceeds 0.0999 * 31,000 = 3,096.9 USDT; fee 0.1 % = 3.0969 USDT; net 3,093.8031
    fill = res.fills[0]
    assert (fill.quote_qty, fill.fee, fill.fee_asset) == (D("3096.9"), D("3.0969"), "USDT")
    # 7,000 + 3,093.8031 = 10,093.8031 USDT, no BTC left
    assert state.balances == {"USDT": D("10093.8031"), "BTC": D(0)}


def test_market_buy_by_quote_quantity_spends_at_most_the_budget():
    state, _ = funded(OFF, "1000")
    res = OFF.place_order(state, spot(Side.BUY, quote_quantity=D("100")), snap("30000"))
    # 100 / 30,000 = 0.0033333.. BTC, rounded down to the 0.00001 step = 0.00333 BTC
    # cost 0.00333 * 30,000 = 99.9 USDT
    assert res.order.quantity == D("0.00333")
    assert res.fills[0].quote_qty == D("99.9")
    assert state.balances["USDT"] == D("900.1")


def test_quantity_is_rounded_down_to_the_step_and_min_notional_is_enforced():
    state, _ = funded(OFF, "1000")
    before = copy.deepcopy(state)
    # 0.000123 BTC rounds down to 0.00012 BTC; 0.00012 * 30,000 = 3.6 USDT < 5 USDT
    res = OFF.place_order(state, spot(Side.BUY, "0.000123"), snap("30000"))
    assert res.order.status == OrderStatus.REJECTED
    assert res.order.reject_reason == Rule.MIN_NOTIONAL
    assert state == before
    # 0.0001999 rounds down to 0.00019 BTC; 0.00019 * 30,000 = 5.7 USDT >= 5: accepted
    res = OFF.place_order(state, spot(Side.BUY, "0.0001999"), snap("30000"))
    assert res.order.status == OrderStatus.FILLED
    assert res.order.quantity == D("0.00019")
    # below one step: rejected on the quantity itself
    res = OFF.place_order(state, spot(Side.BUY, "0.000009"), snap("30000"))
    assert res.order.reject_reason == Rule.QUANTITY


def test_limit_price_is_rounded_to_the_tick_in_the_traders_favour():
    state, _ = funded(OFF, "1000")
    buy = spot(Side.BUY, "0.01", type=OrderType.LIMIT, price=D("29000.009"))
    assert OFF.place_order(state, buy, snap("30000")).order.price == D("29000.00")
    sell_state, _ = funded(OFF, "1000")
    sell_state.balances["BTC"] = D("0.01")  # holdings given directly: no ledger needed here
    sell = spot(Side.SELL, "0.01", type=OrderType.LIMIT, price=D("31000.001"))
    assert OFF.place_order(sell_state, sell, snap("30000")).order.price == D("31000.01")


def test_spot_short_is_refused():
    state, _ = funded(OFF, "1000")
    before = copy.deepcopy(state)
    res = OFF.place_order(state, spot(Side.SELL, "0.01"), snap("30000"))
    assert res.order.status == OrderStatus.REJECTED
    assert res.order.id == 0
    assert isinstance(res.events[0], OrderRejected)
    assert res.events[0].rule == Rule.SPOT_SHORT
    assert state == before
    # holding some but selling more than held is refused too
    OFF.place_order(state, spot(Side.BUY, "0.01"), snap("30000"))  # receives 0.00999 BTC
    res = OFF.place_order(state, spot(Side.SELL, "0.01"), snap("30000"))
    assert res.order.reject_reason == Rule.INSUFFICIENT_BALANCE


def test_insufficient_balance_is_refused_without_any_state_change():
    state, _ = funded(OFF, "1000")
    OFF.place_order(
        state,
        spot(Side.BUY, "0.01", type=OrderType.LIMIT, price=D("29000")),
        snap("30000"),
    )  # a resting buy locks 290 USDT, leaving 710 available
    before = copy.deepcopy(state)
    # 0.025 * 30,000 = 750 USDT > 710 available
    res = OFF.place_order(state, spot(Side.BUY, "0.025"), snap("30000"))
    assert res.order.status == OrderStatus.REJECTED
    assert res.order.reject_reason == Rule.INSUFFICIENT_BALANCE
    assert res.fills == [] and res.ledger == [] and res.orders == {}
    assert state == before


def test_resting_spot_limit_locks_quote_and_fills_as_maker():
    state, ledger = funded(OFF, "1000")
    res = OFF.place_order(
        state, spot(Side.BUY, "0.01", type=OrderType.LIMIT, price=D("29000")), snap("30000")
    )
    order = res.order
    assert order.status == OrderStatus.NEW
    # 0.01 * 29,000 = 290 USDT locked, balance untouched
    assert state.locked == {"USDT": D(290)}
    assert state.balances["USDT"] == D(1000)
    assert OFF.on_price(state, snap("29500", 2_000)).fills == []
    res = OFF.on_price(state, snap("28990", 3_000))
    fill = res.fills[0]
    # fills at its limit 29,000, not at 28,990; maker fee 0.1 % of 0.01 BTC = 0.00001 BTC
    assert (fill.price, fill.maker, fill.fee) == (D(29000), True, D("0.00001"))
    assert state.locked == {}
    assert state.balances == {"USDT": D(710), "BTC": D("0.00999")}
    assert order.id not in state.orders
    ledger_totals(res.ledger, ledger)
    assert problems(state, ledger) == []


def test_cancel_releases_the_locked_quote():
    state, _ = funded(OFF, "1000")
    res = OFF.place_order(
        state, spot(Side.BUY, "0.01", type=OrderType.LIMIT, price=D("29000")), snap("30000")
    )
    cancel = OFF.cancel_order(state, res.order.id, time_ms=2_000)
    assert cancel.orders[res.order.id].status == OrderStatus.CANCELED
    assert state.locked == {} and state.orders == {}


def test_market_buy_walks_the_book_across_three_levels():
    engine = Engine(slippage=SlippageModel(mode="book"))
    state, _ = funded(engine, "100000")
    book = OrderBook(
        BTC,
        bids=((D("29990"), D(5)),),
        asks=((D("30000"), D(1)), (D("30010"), D(1)), (D("30025"), D(1))),
        timestamp_ms=1_000,
    )
    res = engine.place_order(state, spot(Side.BUY, "2.5"), snap("30000", book=book))
    # 1 * 30,000 + 1 * 30,010 + 0.5 * 30,025 = 30,000 + 30,010 + 15,012.5 = 75,022.5 USDT
    # VWAP = 75,022.5 / 2.5 = 30,009
    fill = res.fills[0]
    assert (fill.qty, fill.quote_qty, fill.price) == (D("2.5"), D("75022.5"), D(30009))
    assert state.balances["USDT"] == D("24977.5")  # 100,000 - 75,022.5


def test_bps_slippage_moves_the_price_against_the_taker():
    engine = Engine(slippage=SlippageModel(mode="bps", bps=D(10)))
    state, _ = funded(engine, "100000")
    res = engine.place_order(state, spot(Side.BUY, "1"), snap("30000"))
    # 30,000 * (1 + 10 / 10,000) = 30,030
    assert res.fills[0].price == D(30030)
    res = engine.place_order(state, spot(Side.SELL, "0.5"), snap("30000"))
    # 30,000 * (1 - 10 / 10,000) = 29,970
    assert res.fills[0].price == D(29970)


def test_ioc_fills_what_the_book_has_within_the_limit_and_expires_the_rest():
    engine = Engine(slippage=SlippageModel(mode="book"))
    state, _ = funded(engine, "100000")
    book = OrderBook(
        BTC,
        bids=((D("29990"), D(5)),),
        asks=((D("30000"), D("0.5")), (D("30010"), D("0.5")), (D("30020"), D(1))),
        timestamp_ms=1_000,
    )
    request = spot(
        Side.BUY, "2", type=OrderType.LIMIT, price=D("30010"), time_in_force=TimeInForce.IOC
    )
    res = engine.place_order(state, request, snap("30000", book=book))
    # within 30,010: 0.5 @ 30,000 + 0.5 @ 30,010 = 30,005 USDT for 1 BTC (VWAP 30,005)
    assert res.fills[0].qty == D(1) and res.fills[0].price == D(30005)
    assert res.order.status == OrderStatus.EXPIRED
    assert res.order.executed_qty == D(1)
    assert state.orders == {} and state.locked == {}


def test_fok_is_all_or_nothing_against_the_book():
    engine = Engine(slippage=SlippageModel(mode="book"))
    state, _ = funded(engine, "100000")
    book = OrderBook(
        BTC,
        bids=((D("29990"), D(5)),),
        asks=((D("30000"), D("0.5")), (D("30010"), D("0.5")), (D("30020"), D(1))),
        timestamp_ms=1_000,
    )
    too_big = spot(
        Side.BUY, "2", type=OrderType.LIMIT, price=D("30010"), time_in_force=TimeInForce.FOK
    )
    res = engine.place_order(state, too_big, snap("30000", book=book))
    # only 1 BTC is offered at or below 30,010: nothing fills
    assert res.order.status == OrderStatus.EXPIRED
    assert res.fills == [] and res.ledger == []
    fits = spot(
        Side.BUY, "1", type=OrderType.LIMIT, price=D("30010"), time_in_force=TimeInForce.FOK
    )
    res = engine.place_order(state, fits, snap("30000", book=book))
    assert res.order.status == OrderStatus.FILLED and res.fills[0].price == D(30005)


def test_post_only_is_rejected_when_it_would_take():
    engine = Engine(slippage=SlippageModel(mode="book"))
    state, _ = funded(engine, "100000")
    book = OrderBook(
        BTC, bids=((D("29990"), D(1)),), asks=((D("30000"), D(1)),), timestamp_ms=1_000
    )
    before = copy.deepcopy(state)
    taking = spot(
        Side.BUY, "0.1", type=OrderType.LIMIT, price=D("30000"), time_in_force=TimeInForce.GTX
    )
    res = engine.place_order(state, taking, snap("29995", book=book))
    assert res.order.status == OrderStatus.REJECTED
    assert res.order.reject_reason == Rule.POST_ONLY == "post_only_would_take"
    assert state == before
    making = spot(
        Side.BUY, "0.1", type=OrderType.LIMIT, price=D("29995"), time_in_force=TimeInForce.GTX
    )
    res = engine.place_order(state, making, snap("29995", book=book))
    assert res.order.status == OrderStatus.NEW


def test_gtc_limit_takes_what_crosses_and_rests_the_rest():
    engine = Engine(slippage=SlippageModel(mode="book"))
    state, _ = funded(engine, "100000")
    book = OrderBook(
        BTC, bids=((D("29990"), D(1)),), asks=((D("30000"), D("0.4")),), timestamp_ms=1_000
    )
    res = engine.place_order(
        state, spot(Side.BUY, "1", type=OrderType.LIMIT, price=D("30000")), snap("30000", book=book)
    )
    # 0.4 BTC taken at 30,000 (taker); 0.6 BTC rests and locks 0.6 * 30,000 = 18,000 USDT
    assert res.order.status == OrderStatus.PARTIALLY_FILLED
    assert res.fills[0].qty == D("0.4") and not res.fills[0].maker
    assert state.locked == {"USDT": D(18000)}
    res = engine.on_price(state, snap("29999", 2_000))
    assert res.fills[0].qty == D("0.6") and res.fills[0].maker
    assert res.orders[res.fills[0].order_id].status == OrderStatus.FILLED
    assert state.locked == {}
