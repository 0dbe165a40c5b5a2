"""Trades in the pure engine: open / close, stop-loss, take-profit, trailing stop, candles."""

from __future__ import annotations

import copy
from decimal import Decimal as D

import pytest

from trading.engine import (
    KEEP,
    AccountState,
    CloseReason,
    Direction,
    Engine,
    EngineRefusal,
    Liquidated,
    MarginType,
    Market,
    MarketSnapshot,
    OrderStatus,
    OrderType,
    Rule,
    SlippageModel,
    TradeClosed,
    TradeStatus,
)

BTC = "BTCUSDT"
OFF = Engine(slippage=SlippageModel(mode="off"))


def snap(price: str, t: int = 1_000) -> MarketSnapshot:
    return MarketSnapshot(BTC, D(price), t)


def funded(usdt: str = "100000") -> AccountState:
    state = AccountState()
    OFF.deposit(state, "USDT", D(usdt), 0)
    return state


def open_long(state: AccountState, market: Market = Market.FUTURES, **protection):
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=market,
        direction=Direction.LONG,
        snapshot=snap("30000"),
        quantity=D(1),
        **protection,
    )
    assert res.order.status == OrderStatus.FILLED, res.order.reject_message
    return next(iter(res.trades.values()))


def closed(res) -> TradeClosed:
    return next(e for e in res.events if isinstance(e, TradeClosed))


def test_open_trade_records_its_protection():
    state = funded()
    trade = open_long(state, stop_loss=D(29000), take_profit=D(33000), trailing_stop_pct=D("2.5"))
    assert (trade.stop_loss, trade.take_profit, trade.trailing_stop_pct) == (
        D(29000),
        D(33000),
        D("2.5"),
    )
    assert trade.watermark == D(30000)
    assert trade.direction == Direction.LONG and trade.status == TradeStatus.OPEN


def test_protection_on_the_wrong_side_is_rejected_without_state_change():
    state = funded()
    before = copy.deepcopy(state)
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.FUTURES,
        direction=Direction.LONG,
        snapshot=snap("30000"),
        quantity=D(1),
        stop_loss=D(30500),  # a long's stop must lie below the price
    )
    assert res.order.reject_reason == Rule.PROTECTION
    assert state == before
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.FUTURES,
        direction=Direction.SHORT,
        snapshot=snap("30000"),
        quantity=D(1),
        take_profit=D(31000),  # a short's target must lie below the price
    )
    assert res.order.reject_reason == Rule.PROTECTION
    assert state == before


def test_a_short_spot_trade_is_refused():
    state = funded()
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.SPOT,
        direction=Direction.SHORT,
        snapshot=snap("30000"),
        quantity=D(1),
    )
    assert res.order.reject_reason == Rule.SPOT_SHORT


def test_stop_loss_closes_the_trade_at_market():
    state = funded()
    trade = open_long(state, stop_loss=D(29000), take_profit=D(31000))
    assert OFF.on_price(state, snap("29100", 2_000)).events == []
    res = OFF.on_price(state, snap("28900", 3_000))
    # the stop triggers at <= 29,000 and the close fills at market, 28,900
    event = closed(res)
    assert (event.reason, event.trade.exit_price) == (CloseReason.STOP_LOSS, D(28900))
    assert event.trade.realized_pnl == D(-1100)
    assert trade.id not in state.trades and BTC not in state.positions


def test_take_profit_closes_the_trade():
    state = funded()
    open_long(state, stop_loss=D(29000), take_profit=D(31000))
    res = OFF.on_price(state, snap("31000", 2_000))
    assert closed(res).reason == CloseReason.TAKE_PROFIT
    assert closed(res).trade.realized_pnl == D(1000)


def test_trailing_stop_follows_a_rising_price_then_triggers():
    state = funded()
    trade = open_long(state, trailing_stop_pct=D(5))
    OFF.on_price(state, snap("32000", 2_000))
    # watermark 32,000 -> stop level 32,000 * 0.95 = 30,400
    assert trade.watermark == D(32000)
    OFF.on_price(state, snap("33000", 3_000))
    # watermark 33,000 -> level 33,000 * 0.95 = 31,350
    assert trade.watermark == D(33000)
    assert OFF.on_price(state, snap("32000", 4_000)).events == []  # watermark stays
    assert OFF.on_price(state, snap("31400", 5_000)).events == []  # above 31,350
    res = OFF.on_price(state, snap("31350", 6_000))
    event = closed(res)
    assert event.reason == CloseReason.TRAILING_STOP
    # exit 31,350: realized (31,350 - 30,000) * 1 = 1,350
    assert (event.trade.exit_price, event.trade.realized_pnl) == (D(31350), D(1350))


def test_short_trailing_stop_follows_a_falling_price():
    state = funded()
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.FUTURES,
        direction=Direction.SHORT,
        snapshot=snap("30000"),
        quantity=D(1),
        trailing_stop_pct=D(2),
    )
    trade = next(iter(res.trades.values()))
    OFF.on_price(state, snap("28000", 2_000))
    # watermark 28,000 -> level 28,000 * 1.02 = 28,560
    assert OFF.on_price(state, snap("28550", 3_000)).events == []
    assert closed(OFF.on_price(state, snap("28560", 4_000))).reason == CloseReason.TRAILING_STOP
    assert trade.realized_pnl == D(1440)  # (30,000 - 28,560) * 1


def test_stop_loss_beats_take_profit_on_a_candle_that_touches_both():
    state = funded()
    open_long(state, stop_loss=D(29000), take_profit=D(31000))
    # a green candle reaching both 28,500 and 31,500: a long walks open -> low -> high,
    # so the stop at 29,000 is met first and fills exactly there
    res = OFF.on_candle(state, BTC, D(30000), D(31500), D(28500), D(30500), 60_000)
    event = closed(res)
    assert (event.reason, event.trade.exit_price) == (CloseReason.STOP_LOSS, D(29000))
    assert event.trade.realized_pnl == D(-1000)
    assert len(res.fills) == 1


def test_short_stop_loss_beats_take_profit_on_a_candle():
    state = funded()
    OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.FUTURES,
        direction=Direction.SHORT,
        snapshot=snap("30000"),
        quantity=D(1),
        stop_loss=D(31000),
        take_profit=D(29000),
    )
    # a red candle: a short walks open -> high -> low, so its stop at 31,000 comes first
    res = OFF.on_candle(state, BTC, D(30000), D(31500), D(28500), D(29500), 60_000)
    assert closed(res).reason == CloseReason.STOP_LOSS
    assert closed(res).trade.exit_price == D(31000)


def test_a_candle_liquidates_at_its_adverse_extreme_even_if_it_recovers():
    state = funded()
    OFF.set_margin_type(state, BTC, MarginType.ISOLATED)
    open_long(state)  # 1 BTC at 30,000, 20x isolated: LP by bracket 1
    # LP = (1,500 - 30,000) / (0.004 - 1) = 28,614.457831.. (rounded up at 8 dp)
    res = OFF.on_candle(state, BTC, D(30000), D(31000), D(28000), D(30900), 60_000)
    liquidated = next(e for e in res.events if isinstance(e, Liquidated))
    assert liquidated.price == D("28614.45783133")
    assert BTC not in state.positions


def test_candle_fills_a_resting_limit_at_its_price():
    state = funded()
    request_res = OFF.place_order(
        state,
        _limit_buy("29500"),
        snap("30000"),
    )
    res = OFF.on_candle(state, BTC, D(30000), D(30100), D(29000), D(29900), 60_000)
    assert res.fills[0].price == D(29500) and res.fills[0].maker
    assert res.orders[request_res.order.id].status == OrderStatus.FILLED


def _limit_buy(price: str):
    from trading.engine import OrderRequest, Side

    return OrderRequest(
        BTC, Market.FUTURES, Side.BUY, OrderType.LIMIT, quantity=D(1), price=D(price)
    )


def test_close_trade_partially_then_fully():
    state = funded()
    trade = open_long(state)
    res = OFF.close_trade(state, trade.id, snap("31000", 2_000), quantity=D("0.4"))
    # realized (31,000 - 30,000) * 0.4 = 400; 0.6 BTC still open
    assert res.fills[0].realized_pnl == D(400)
    assert trade.quantity == D("0.6") and trade.status == TradeStatus.OPEN
    res = OFF.close_trade(state, trade.id, snap("32000", 3_000))
    # + (32,000 - 30,000) * 0.6 = 1,200 -> 1,600 in all; exit (0.4*31,000 + 0.6*32,000) = 31,600
    assert closed(res).reason == CloseReason.MANUAL
    assert (trade.realized_pnl, trade.exit_price) == (D(1600), D(31600))
    with pytest.raises(EngineRefusal) as refused:
        OFF.close_trade(state, trade.id, snap("32000", 4_000))
    assert refused.value.rule == Rule.UNKNOWN_TRADE


def test_close_trade_with_a_resting_limit():
    state = funded()
    trade = open_long(state)
    res = OFF.close_trade(
        state, trade.id, snap("30000", 2_000), order_type=OrderType.LIMIT, price=D(31000)
    )
    assert res.order.status == OrderStatus.NEW and res.order.reduce_only
    res = OFF.on_price(state, snap("31000", 3_000))
    assert closed(res).reason == CloseReason.MANUAL
    assert res.fills[0].maker and trade.realized_pnl == D(1000)


def test_spot_trade_round_trip_counts_fees_in_the_coin_and_the_quote():
    state = funded("10000")
    res = OFF.open_trade(
        state,
        symbol=BTC,
        market=Market.SPOT,
        direction=Direction.LONG,
        snapshot=snap("30000"),
        quantity=D("0.1"),
        stop_loss=D(29000),
    )
    trade = next(iter(res.trades.values()))
    # bought 0.1 BTC, received 0.0999 (0.0001 BTC fee = 3 USDT at 30,000)
    assert (trade.quantity, trade.entry_price, trade.fees) == (D("0.0999"), D(30000), D(3))
    res = OFF.on_price(state, snap("28900", 2_000))
    # stop-loss sells 0.0999 at 28,900: gross (28,900 - 30,000) * 0.0999 = -109.89
    # proceeds 2,887.11, fee 2.88711 USDT; fees 3 + 2.88711 = 5.88711
    assert closed(res).reason == CloseReason.STOP_LOSS
    assert (trade.realized_pnl, trade.fees) == (D("-109.89"), D("5.88711"))
    # net -115.77711 = 10,000 - 3,000 + 2,887.11 - 2.88711 - 10,000
    assert trade.net_pnl == D("-115.77711")
    assert state.balances["USDT"] == D("9884.22289")


def test_update_trade_protection_validates_the_sides():
    state = funded()
    trade = open_long(state, stop_loss=D(29000))
    OFF.on_price(state, snap("30000", 2_000))
    with pytest.raises(EngineRefusal) as refused:
        OFF.update_trade_protection(state, trade.id, stop_loss=D(30500))
    assert refused.value.rule == Rule.PROTECTION
    with pytest.raises(EngineRefusal):
        OFF.update_trade_protection(state, trade.id, take_profit=D(29000))
    res = OFF.update_trade_protection(state, trade.id, take_profit=D(32000), stop_loss=KEEP)
    assert (trade.stop_loss, trade.take_profit) == (D(29000), D(32000))
    assert res.trades == {trade.id: trade}
    OFF.update_trade_protection(state, trade.id, stop_loss=None)
    assert trade.stop_loss is None and trade.take_profit == D(32000)


def test_the_same_snapshot_twice_changes_nothing():
    state = funded()
    open_long(state, trailing_stop_pct=D(10), take_profit=D(31000))
    OFF.place_order(state, _limit_buy("29000"), snap("30000"))
    OFF.on_price(state, snap("30500", 1_500))  # moves the trailing watermark to 30,500
    OFF.on_price(state, snap("28950", 2_000))  # fills the limit
    before = copy.deepcopy(state)
    again = OFF.on_price(state, snap("28950", 2_000))
    assert not again.changed and again.ledger == [] and again.events == []
    assert state == before


def test_candles_may_come_as_floats():
    state = funded()
    open_long(state, take_profit=D(31000))
    # floats go through their repr: 31000.5 is Decimal("31000.5"), the target fills at 31,000
    res = OFF.on_candle(state, BTC, 30000.0, 31000.5, 29900.25, 30900.0, 60_000)
    event = closed(res)
    assert (event.reason, event.trade.exit_price) == (CloseReason.TAKE_PROFIT, D(31000))
