"""USD-M futures in the pure engine: margin, PnL, liquidation, funding (hand-computed).

Binance base fees: taker 0.05 %, maker 0.02 %. BTCUSDT brackets (notional USDT):
  1: 0-50k mmr 0.4 % cum 0 | 2: 50k-250k 0.5 % cum 50 | 3: 250k-3M 1 % cum 1,300 | ...
Liquidation price (one-way): LP = (WB - TMM1 + UPNL1 + cumB - side*Q*EP) / (Q*MMR - side*Q)
"""

from __future__ import annotations

import copy
from decimal import Decimal as D

import pytest

from trading.engine import (
    AccountState,
    CloseReason,
    Direction,
    Engine,
    EngineRefusal,
    FeeSchedule,
    FundingApplied,
    LedgerKind,
    Liquidated,
    MarginType,
    Market,
    MarketSnapshot,
    OrderRequest,
    OrderStatus,
    OrderType,
    Rule,
    Side,
    SlippageModel,
    TradeClosed,
    TradeOpened,
    TradeStatus,
    WorkingType,
    account_summary,
    funding_due,
    liquidation_price,
    position_liquidation_price,
    rules_for,
)
from trading.engine.invariants import ledger_totals, problems

BTC, ETH = "BTCUSDT", "ETHUSDT"
OFF = Engine(slippage=SlippageModel(mode="off"))


def snap(price: str, t: int = 1_000, symbol: str = BTC, mark: str | None = None):
    return MarketSnapshot(symbol, D(price), t, mark_price=D(mark) if mark else None)


def funded(usdt: str = "100000", engine: Engine = OFF) -> tuple[AccountState, dict]:
    state = AccountState()
    return state, ledger_totals(engine.deposit(state, "USDT", D(usdt), 0).ledger)


def fut(side: Side, qty: str | None, symbol: str = BTC, **kw) -> OrderRequest:
    return OrderRequest(symbol, Market.FUTURES, side, quantity=D(qty) if qty else None, **kw)


def run(engine, state, ledger, method, *args, **kw):
    """Call an engine method, fold its ledger into the running totals, check invariants."""
    res = getattr(engine, method)(state, *args, **kw)
    ledger_totals(res.ledger, ledger)
    assert problems(state, ledger) == []
    return res


# --------------------------------------------------------------------------- isolated


def test_isolated_long_margin_fee_and_liquidation_price():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    res = run(OFF, state, ledger, "place_order", fut(Side.BUY, "10", leverage=20), snap("30000"))
    # notional 10 * 30,000 = 300,000; initial margin 300,000 / 20 = 15,000
    # taker fee 300,000 * 0.0005 = 150
    assert res.fills[0].fee == D(150)
    position = state.positions[BTC]
    assert (position.quantity, position.entry_price) == (D(10), D(30000))
    assert position.isolated_wallet == D(15000)
    assert state.balances["USDT"] == D(99850)  # the isolated wallet stays inside the balance
    summary = account_summary(state, OFF.rules)
    assert summary.cross_wallet_balance == D(84850)  # 99,850 - 15,000
    assert summary.available_balance == D(84850)
    # LP by bracket, as Binance iterates (WB = 15,000, side +1, Q 10, EP 30,000):
    #  b1: (15,000 + 0 - 300,000) / (10*0.004 - 10) = -285,000 / -9.96 = 28,614.46
    #      -> notional 286,144.6 is not in [0, 50k)
    #  b2: (15,000 + 50 - 300,000) / (10*0.005 - 10) = -284,950 / -9.95 = 28,638.19
    #      -> notional 286,381.9 is not in [50k, 250k)
    #  b3: (15,000 + 1,300 - 300,000) / (10*0.01 - 10) = -283,700 / -9.9 = 28,656.5656..
    #      -> notional 286,565.66 lies in [250k, 3M): this is the LP (8 dp, rounded up)
    lp = position_liquidation_price(state, OFF.rules, BTC)
    assert lp == D("28656.56565657")
    assert D(250_000) <= lp * 10 < D(3_000_000)


def test_isolated_long_is_liquidated_at_its_price_and_loses_the_whole_margin():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "10", leverage=20), snap("30000"))
    # one cent above the LP of 28,656.5656..: nothing happens
    assert run(OFF, state, ledger, "on_price", snap("28656.57", 2_000)).events == []
    res = run(OFF, state, ledger, "on_price", snap("28656.56", 3_000))
    liquidated = next(e for e in res.events if isinstance(e, Liquidated))
    # realized (28,656.56565657 - 30,000) * 10 = -13,434.3434343
    # clearance fee = what is left of the 15,000 margin = 1,565.6565657
    #   (= maintenance margin at LP: 286,565.6565657 * 1 % - 1,300)
    assert liquidated.price == D("28656.56565657")
    assert liquidated.realized_pnl == D("-13434.3434343")
    assert liquidated.fee == D("1565.6565657")
    assert BTC not in state.positions
    # 99,850 - 15,000 = 84,850: exactly the isolated margin is gone
    assert state.balances["USDT"] == D(84850)
    trade = res.trades[1]
    assert (trade.status, trade.close_reason) == (TradeStatus.LIQUIDATED, CloseReason.LIQUIDATION)
    kinds = [e.kind for e in res.ledger]
    assert kinds == [LedgerKind.REALIZED_PNL, LedgerKind.LIQUIDATION]
    # liquidation shows as Binance's autoclose market order
    order = res.orders[liquidated_order_id(res)]
    assert order.client_order_id.startswith("autoclose-") and order.status == OrderStatus.FILLED


def liquidated_order_id(res) -> int:
    return next(o.id for o in res.orders.values() if o.client_order_id.startswith("autoclose-"))


def test_isolated_short_liquidation():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    run(OFF, state, ledger, "place_order", fut(Side.SELL, "10", leverage=20), snap("30000"))
    # side -1: LP = (WB + cum + Q*EP) / (Q*MMR + Q)
    #  b1: 315,000 / 10.04 = 31,374.50 -> notional 313,745 not in [0, 50k)
    #  b2: 315,050 / 10.05 = 31,348.26 -> not in [50k, 250k)
    #  b3: (15,000 + 1,300 + 300,000) / (0.1 + 10) = 316,300 / 10.1 = 31,316.8316..
    #      -> notional 313,168 in [250k, 3M); rounded down (earlier for a short)
    assert position_liquidation_price(state, OFF.rules, BTC) == D("31316.83168316")
    assert run(OFF, state, ledger, "on_price", snap("31316.83", 2_000)).events == []
    res = run(OFF, state, ledger, "on_price", snap("31316.84", 3_000))
    liquidated = next(e for e in res.events if isinstance(e, Liquidated))
    # realized (31,316.83168316 - 30,000) * -10 = -13,168.3168316; fee 15,000 - that
    assert liquidated.realized_pnl == D("-13168.3168316")
    assert liquidated.fee == D("1831.6831684")
    assert state.balances["USDT"] == D(84850)


def test_liquidation_price_uses_the_bracket_at_the_liquidation_notional():
    # long 1.7 BTC at 30,000, 20x isolated: notional 51,000 sits in bracket 2, but
    # b1: (2,550 - 51,000) / (1.7*0.004 - 1.7) = -48,450 / -1.6932 = 28,614.4578..
    #     -> notional 48,644.6 < 50k: bracket 1 applies at the liquidation price
    # (b2 would give -48,400 / -1.6915 = 28,613.66 -> 48,643 not in [50k, 250k))
    lp = liquidation_price(
        quantity=D("1.7"),
        entry_price=D(30000),
        wallet_balance=D(2550),
        brackets=rules_for(BTC).brackets,
    )
    assert lp == D("28614.45783133")


def test_a_1x_long_has_no_liquidation_price():
    # WB 30,000 for 1 BTC at 30,000: b1 gives (30,000 - 30,000)/(...) = 0 -> none
    brackets = rules_for(BTC).brackets
    lp = liquidation_price(
        quantity=D(1), entry_price=D(30000), wallet_balance=D(30000), brackets=brackets
    )
    assert lp == 0


# --------------------------------------------------------------------------- cross


def test_cross_liquidation_with_two_positions():
    engine = Engine(
        fees=FeeSchedule(liquidation_fee_rate=D("0.002")), slippage=SlippageModel(mode="off")
    )
    state, ledger = funded("10000", engine)
    run(engine, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    run(engine, state, ledger, "place_order", fut(Side.BUY, "10", ETH), snap("2000", symbol=ETH))
    # fees 30,000 * 0.0005 = 15 and 20,000 * 0.0005 = 10: wallet 9,975
    assert state.balances["USDT"] == D(9975)
    run(engine, state, ledger, "on_price", snap("2000", symbol=ETH))
    # BTC's LP, cross: WB = 9,975; the OTHER position (ETH, notional 20,000, bracket 1):
    #   TMM1 = 20,000 * 0.004 - 0 = 80, UPNL1 = 0
    #   b1: (9,975 - 80 + 0 + 0 - 30,000) / (0.004 - 1) = -20,105 / -0.996 = 20,185.7429..
    #   notional 20,185.74 in [0, 50k): LP = 20,185.74297189 (8 dp, rounded up)
    assert position_liquidation_price(state, engine.rules, BTC) == D("20185.74297189")
    assert run(engine, state, ledger, "on_price", snap("20185.75", 2_000)).events == []
    res = run(engine, state, ledger, "on_price", snap("20185.74", 3_000))
    liquidations = [e for e in res.events if isinstance(e, Liquidated)]
    assert [e.symbol for e in liquidations] == [BTC, ETH]  # the whole cross account goes
    # BTC closes at its LP: realized 20,185.74297189 - 30,000 = -9,814.25702811
    #   wallet 9,975 - 9,814.25702811 = 160.74297189 (= BTC MM 80.74297189 + ETH MM 80)
    #   fee 20,185.74297189 * 0.002 = 40.37148594 -> wallet 120.37148595
    # ETH closes at its mark 2,000: realized 0, fee 20,000 * 0.002 = 40 -> wallet 80.37148595
    assert liquidations[0].price == D("20185.74297189")
    assert liquidations[0].realized_pnl == D("-9814.25702811")
    assert liquidations[0].fee == D("40.37148594")
    assert (liquidations[1].price, liquidations[1].realized_pnl) == (D(2000), D(0))
    assert liquidations[1].fee == D(40)
    assert state.balances["USDT"] == D("80.37148595")
    assert state.positions == {} and state.trades == {}


def test_cross_liquidation_fee_never_takes_the_balance_negative():
    state, ledger = funded("2000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    # default fee 1.25 % of ~28,000 (~350) is more than the ~113 of maintenance margin left
    res = run(OFF, state, ledger, "on_price", snap("20000", 2_000))
    assert any(isinstance(e, Liquidated) for e in res.events)
    assert state.balances["USDT"] == 0


def test_a_loss_beyond_the_margin_is_absorbed_not_owed():
    state, ledger = funded("2000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    # the price gaps to 27,000 and the position is closed there before any tick:
    # realized -3,000 but the cross wallet holds 2,000 - 15 = 1,985 -> 1,015 absorbed
    res = run(OFF, state, ledger, "place_order", fut(Side.SELL, "1"), snap("27000", 2_000))
    amounts = {e.kind: e.amount for e in res.ledger}
    assert amounts[LedgerKind.REALIZED_PNL] == D(-3000)
    assert amounts[LedgerKind.INSURANCE] == D(1015)
    assert LedgerKind.FEE not in amounts  # nothing left to pay the fee with
    assert state.balances["USDT"] == 0


# --------------------------------------------------------------------------- position math


def test_partial_close_realizes_pnl():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "2"), snap("30000"))
    res = run(OFF, state, ledger, "place_order", fut(Side.SELL, "0.5"), snap("31000", 2_000))
    # realized (31,000 - 30,000) * 0.5 = 500; fee 0.5 * 31,000 * 0.0005 = 7.75
    fill = res.fills[0]
    assert (fill.realized_pnl, fill.fee) == (D(500), D("7.75"))
    position = state.positions[BTC]
    assert (position.quantity, position.entry_price) == (D("1.5"), D(30000))
    trade = state.trades[position.trade_id]
    assert (trade.status, trade.quantity, trade.realized_pnl) == (TradeStatus.OPEN, D("1.5"), 500)
    # fees: open 60,000 * 0.0005 = 30, close 7.75 -> 100,000 - 30 + 500 - 7.75
    assert trade.fees == D("37.75")
    assert state.balances["USDT"] == D("100462.25")


def test_adding_to_a_position_averages_the_entry_price():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "3"), snap("32000", 2_000))
    # (1 * 30,000 + 3 * 32,000) / 4 = 126,000 / 4 = 31,500
    position = state.positions[BTC]
    assert (position.quantity, position.entry_price) == (D(4), D(31500))
    # isolated wallet 30,000 / 20 + 96,000 / 20 = 1,500 + 4,800 = 6,300
    assert position.isolated_wallet == D(6300)
    assert state.trades[position.trade_id].entry_price == D(31500)


def test_crossing_zero_closes_the_trade_and_opens_the_other_way():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    res = run(OFF, state, ledger, "place_order", fut(Side.SELL, "3"), snap("31000", 2_000))
    # closes 1 long: realized (31,000 - 30,000) * 1 = 1,000; opens 2 short at 31,000
    # fee 3 * 31,000 * 0.0005 = 46.5: 15.5 to the closed trade, 31 to the new one
    assert res.fills[0].realized_pnl == D(1000)
    closed = next(e.trade for e in res.events if isinstance(e, TradeClosed))
    opened = next(e.trade for e in res.events if isinstance(e, TradeOpened))
    assert (closed.close_reason, closed.exit_price, closed.realized_pnl) == (
        CloseReason.REDUCE,
        D(31000),
        D(1000),
    )
    assert closed.fees == D("30.5")  # 15 opening + 15.5
    assert (opened.direction, opened.quantity, opened.entry_price) == (
        Direction.SHORT,
        D(2),
        D(31000),
    )
    assert opened.fees == D(31)
    assert state.positions[BTC].quantity == D(-2)


def test_funding_positive_rate_long_pays_negative_rate_short_pays():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "2"), snap("30000"))
    res = run(OFF, state, ledger, "apply_funding", BTC, D("0.0001"), D(30000), 28_800_000)
    # long 2 * 30,000 * 0.0001 = 6 paid
    assert res.events == [FundingApplied(BTC, D("0.0001"), D(30000), D(-6), 28_800_000)]
    assert res.ledger[0].kind == LedgerKind.FUNDING
    # the same instant again: nothing (idempotent)
    again = run(OFF, state, ledger, "apply_funding", BTC, D("0.0001"), D(30000), 28_800_000)
    assert again.ledger == [] and again.events == []
    # a negative rate: longs receive 2 * 30,000 * 0.0002 = 12
    res = run(OFF, state, ledger, "apply_funding", BTC, D("-0.0002"), D(30000), 57_600_000)
    assert res.ledger[0].amount == D(12)

    short_state, short_ledger = funded("100000")
    run(OFF, short_state, short_ledger, "place_order", fut(Side.SELL, "2"), snap("30000"))
    res = run(OFF, short_state, short_ledger, "apply_funding", BTC, D("-0.0002"), D(30000), 1)
    # short pays 2 * 30,000 * 0.0002 = 12 when the rate is negative
    assert res.ledger[0].amount == D(-12)
    res = run(OFF, short_state, short_ledger, "apply_funding", BTC, D("0.0001"), D(30000), 2)
    assert res.ledger[0].amount == D(6)  # and receives when it is positive


def test_funding_of_an_isolated_position_settles_in_its_isolated_wallet():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "2"), snap("30000"))
    run(OFF, state, ledger, "apply_funding", BTC, D("0.0001"), D(30000), 1)
    assert state.positions[BTC].isolated_wallet == D(2994)  # 60,000 / 20 - 6


def test_funding_instants_are_00_08_16_utc():
    day = 86_400_000
    hour = 3_600_000
    last = 19_723 * day + 7 * hour + 59 * 60_000  # 2024-01-01 07:59 UTC
    now = 19_724 * day  # 2024-01-02 00:00 UTC
    assert funding_due(last, now) == [19_723 * day + 8 * hour, 19_723 * day + 16 * hour, now]
    assert funding_due(now, now) == []


# --------------------------------------------------------------------------- orders


def test_resting_futures_limit_fills_at_its_price_with_the_maker_fee():
    state, ledger = funded("100000")
    res = run(
        OFF,
        state,
        ledger,
        "place_order",
        fut(Side.BUY, "1", type=OrderType.LIMIT, price=D("29000")),
        snap("30000"),
    )
    # initial margin of the resting order: 29,000 / 20 = 1,450 locked
    assert res.order.status == OrderStatus.NEW and state.locked == {"USDT": D(1450)}
    assert run(OFF, state, ledger, "on_price", snap("29000.01", 2_000)).fills == []
    res = run(OFF, state, ledger, "on_price", snap("28990", 3_000))
    # fills at 29,000; maker fee 29,000 * 0.0002 = 5.8
    fill = res.fills[0]
    assert (fill.price, fill.maker, fill.fee) == (D(29000), True, D("5.8"))
    assert state.locked == {} and state.positions[BTC].entry_price == D(29000)


def test_stop_market_triggers_at_its_price():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.SELL, "1"), snap("30000"))
    stop = fut(Side.BUY, None, type=OrderType.STOP_MARKET, stop_price=D(31000), close_position=True)
    res = run(OFF, state, ledger, "place_order", stop, snap("30000"))
    assert res.order.status == OrderStatus.NEW
    assert run(OFF, state, ledger, "on_price", snap("30900", 2_000)).fills == []
    res = run(OFF, state, ledger, "on_price", snap("31050", 3_000))
    # a buy stop triggers at >= 31,000 and fills at market, 31,050: realized -1,050
    assert res.fills[0].price == D(31050) and res.fills[0].realized_pnl == D(-1050)
    assert res.orders[stop_id(res)].status == OrderStatus.FILLED
    assert BTC not in state.positions


def stop_id(res) -> int:
    return next(o.id for o in res.orders.values() if o.type == OrderType.STOP_MARKET)


def test_a_stop_that_would_trigger_at_once_is_rejected():
    state, _ = funded("100000")
    stop = fut(Side.SELL, "1", type=OrderType.STOP_MARKET, stop_price=D(31000))
    res = OFF.place_order(state, stop, snap("30000"))
    assert res.order.reject_reason == Rule.WOULD_TRIGGER


def test_reduce_only_can_only_reduce():
    state, ledger = funded("100000")
    before = copy.deepcopy(state)
    res = OFF.place_order(state, fut(Side.SELL, "1", reduce_only=True), snap("30000"))
    assert res.order.reject_reason == Rule.REDUCE_ONLY  # no position
    assert state == before
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    res = OFF.place_order(state, fut(Side.BUY, "1", reduce_only=True), snap("30000"))
    assert res.order.reject_reason == Rule.REDUCE_ONLY  # same side would increase
    res = run(
        OFF, state, ledger, "place_order", fut(Side.SELL, "5", reduce_only=True), snap("30000")
    )
    assert res.fills[0].qty == D(1)  # clipped to the position: no flip
    assert BTC not in state.positions


def test_insufficient_margin_is_refused_without_state_change():
    state, _ = funded("1000")
    before = copy.deepcopy(state)
    # 1 BTC at 30,000 and 20x needs 1,500 margin + 15 fee > 1,000
    res = OFF.place_order(state, fut(Side.BUY, "1"), snap("30000"))
    assert res.order.status == OrderStatus.REJECTED
    assert res.order.reject_reason == Rule.INSUFFICIENT_MARGIN == "insufficient_margin"
    assert (res.fills, res.ledger, res.orders, res.trades) == ([], [], {}, {})
    assert state == before


def test_leverage_is_limited_by_the_bracket_of_the_resulting_notional():
    state, _ = funded("100000")
    res = OFF.place_order(state, fut(Side.BUY, "0.1", leverage=126), snap("30000"))
    assert res.order.reject_reason == Rule.LEVERAGE
    # 2 BTC = 60,000 notional lies in bracket 2 (max 100x): 125x is refused
    res = OFF.place_order(state, fut(Side.BUY, "2", leverage=125), snap("30000"))
    assert res.order.reject_reason == Rule.LEVERAGE
    # 1 BTC = 30,000 in bracket 1 (max 125x): accepted, and the setting sticks
    res = OFF.place_order(state, fut(Side.BUY, "1", leverage=125), snap("30000"))
    assert res.order.status == OrderStatus.FILLED
    assert state.settings[BTC].leverage == 125 and state.positions[BTC].leverage == 125


def test_margin_type_cannot_change_with_a_position_or_to_itself():
    state, _ = funded("100000")
    with pytest.raises(EngineRefusal) as same:
        OFF.set_margin_type(state, BTC, MarginType.CROSSED)
    assert same.value.rule == Rule.NO_CHANGE
    OFF.place_order(state, fut(Side.BUY, "1"), snap("30000"))
    with pytest.raises(EngineRefusal) as open_position:
        OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    assert open_position.value.rule == Rule.POSITION_OPEN


def test_reset_closes_everything_and_keeps_the_ledger_equal_to_the_balance():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    spot = OrderRequest(BTC, Market.SPOT, Side.BUY, quantity=D("0.5"))
    run(OFF, state, ledger, "place_order", spot, snap("30000"))
    limit = fut(Side.BUY, "1", type=OrderType.LIMIT, price=D("25000"))
    run(OFF, state, ledger, "place_order", limit, snap("30000"))
    res = run(OFF, state, ledger, "reset", D(10000), 5_000)
    assert state.balances == {"USDT": D(10000), "BTC": D(0)}
    assert ledger == {"USDT": D(10000), "BTC": D(0)}
    assert state.positions == {} and state.orders == {} and state.trades == {}
    assert state.locked == {}
    closed = [e for e in res.events if isinstance(e, TradeClosed)]
    assert [e.reason for e in closed] == [CloseReason.RESET]
    assert {e.kind for e in res.ledger} == {LedgerKind.RESET}


def test_liquidation_watches_the_mark_price_not_the_last_price():
    state, ledger = funded("100000")
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "10", leverage=20), snap("30000"))
    # the last trade prints 28,000 (below the LP 28,656.57) but the mark stays at 29,000
    assert run(OFF, state, ledger, "on_price", snap("28000", 2_000, mark="29000")).events == []
    res = run(OFF, state, ledger, "on_price", snap("29000", 3_000, mark="28600"))
    assert any(isinstance(e, Liquidated) for e in res.events)


def test_reduce_only_orders_expire_when_the_position_goes_flat():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    take = fut(Side.SELL, "1", type=OrderType.LIMIT, price=D(33000), reduce_only=True)
    resting = run(OFF, state, ledger, "place_order", take, snap("30000")).order
    res = run(OFF, state, ledger, "place_order", fut(Side.SELL, "1"), snap("30500", 2_000))
    assert res.orders[resting.id].status == OrderStatus.EXPIRED
    assert state.orders == {}


def test_close_position_market_closes_all_of_it():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.SELL, "2.5"), snap("30000"))
    res = run(
        OFF, state, ledger, "place_order", fut(Side.BUY, None, close_position=True), snap("29000")
    )
    # closes the 2.5 short: realized (30,000 - 29,000) * 2.5 = 2,500
    assert res.fills[0].qty == D("2.5") and res.fills[0].realized_pnl == D(2500)
    assert BTC not in state.positions


def test_a_mark_price_stop_watches_the_mark():
    state, ledger = funded("100000")
    run(OFF, state, ledger, "place_order", fut(Side.BUY, "1"), snap("30000"))
    stop = fut(
        Side.SELL,
        None,
        type=OrderType.STOP_MARKET,
        stop_price=D(29000),
        close_position=True,
        working_type=WorkingType.MARK_PRICE,
    )
    run(OFF, state, ledger, "place_order", stop, snap("30000"))
    # last price below the stop, mark above: nothing; then the mark reaches it
    assert run(OFF, state, ledger, "on_price", snap("28900", 2_000, mark="29100")).fills == []
    res = run(OFF, state, ledger, "on_price", snap("29050", 3_000, mark="28990"))
    assert res.fills[0].price == D(29050)  # executes at market (the last price)


def test_spot_stop_loss_order_locks_the_coins_until_it_triggers():
    state, ledger = funded("100000")
    buy = OrderRequest(BTC, Market.SPOT, Side.BUY, quantity=D("1"))
    run(OFF, state, ledger, "place_order", buy, snap("30000"))  # receives 0.999 BTC
    stop = OrderRequest(
        BTC, Market.SPOT, Side.SELL, OrderType.STOP_MARKET, D("0.999"), stop_price=D(29000)
    )
    run(OFF, state, ledger, "place_order", stop, snap("30000"))
    assert state.locked == {"BTC": D("0.999")}
    sell = OrderRequest(BTC, Market.SPOT, Side.SELL, quantity=D("0.5"))
    res = OFF.place_order(state, sell, snap("30000"))
    assert res.order.reject_reason == Rule.INSUFFICIENT_BALANCE  # the coins are locked
    res = run(OFF, state, ledger, "on_price", snap("28950", 2_000))
    # 0.999 * 28,950 = 28,921.05 USDT, fee 28.92105
    assert res.fills[0].quote_qty == D("28921.05") and res.fills[0].fee == D("28.92105")
    assert state.locked == {} and state.balances["BTC"] == 0
