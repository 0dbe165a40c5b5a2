"""Market rules and margin formulas of the pure engine: brackets, rounding, LP identity."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trading.catalogue import DEFAULT_MARKETS
from trading.engine import (
    AccountState,
    Engine,
    EngineRefusal,
    Market,
    MarketSnapshot,
    OrderRequest,
    OrderStatus,
    OrderType,
    Rule,
    Side,
    SlippageModel,
    liquidation_price,
    round_price,
    round_qty,
    rules_for,
)
from trading.engine.margin import maintenance_margin
from trading.engine.rules import bracket_for, build_brackets, max_leverage_for


def test_btc_brackets_are_binances_with_cum_derived_tier_by_tier():
    brackets = rules_for("BTCUSDT").brackets
    # cum_n = cum_(n-1) + floor_n * (mmr_n - mmr_(n-1)), e.g. tier 4:
    # 1,300 + 3,000,000 * (0.025 - 0.01) = 46,300
    assert [(b.floor, b.mmr, b.cum, b.max_leverage) for b in brackets] == [
        (0, D("0.004"), 0, 125),
        (50_000, D("0.005"), 50, 100),
        (250_000, D("0.01"), 1_300, 50),
        (3_000_000, D("0.025"), 46_300, 20),
        (15_000_000, D("0.05"), 421_300, 10),
        (30_000_000, D("0.10"), 1_921_300, 5),
        (80_000_000, D("0.125"), 3_921_300, 4),
        (100_000_000, D("0.15"), 6_421_300, 3),
        (200_000_000, D("0.25"), 26_421_300, 2),
        (300_000_000, D("0.50"), 101_421_300, 1),
    ]


@pytest.mark.parametrize("spec", DEFAULT_MARKETS, ids=lambda s: s.symbol)
def test_every_shipped_symbol_has_a_continuous_table_topped_by_its_max_leverage(spec):
    rules = rules_for(spec.symbol)
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        spec.tick_size,
        spec.step_size,
        spec.min_notional,
    )
    assert rules.brackets[0].max_leverage == spec.max_leverage
    for lower, upper in zip(rules.brackets, rules.brackets[1:], strict=False):
        assert lower.cap == upper.floor
        assert upper.max_leverage <= lower.max_leverage
        # the maintenance margin is continuous at each tier boundary
        at = upper.floor
        assert at * lower.mmr - lower.cum == at * upper.mmr - upper.cum


def test_bracket_lookup_and_max_leverage():
    rules = rules_for("BTCUSDT")
    assert bracket_for(rules.brackets, D(49_999)).mmr == D("0.004")
    assert bracket_for(rules.brackets, D(50_000)).mmr == D("0.005")
    assert max_leverage_for(rules, D(60_000)) == 100
    assert max_leverage_for(rules, D(10) ** 12) == 1  # beyond the table: the last tier
    # maintenance margin: 300,000 * 1 % - 1,300 = 1,700
    assert maintenance_margin(rules.brackets, D(300_000)) == D(1700)


def test_a_catalogue_maximum_below_the_table_caps_every_tier():
    capped = build_brackets([(0, 100, 125, "0.004"), (100, 200, 100, "0.005")], 75)
    assert [b.max_leverage for b in capped] == [75, 75]


def test_rounding_to_step_and_tick():
    xrp = rules_for("XRPUSDT")  # step 0.1, tick 0.0001
    assert round_qty(D("12.39"), xrp) == D("12.3")
    assert round_price(D("0.51235"), xrp) == D("0.5124")
    odd = build_brackets([(0, 100, 10, "0.01")])
    from trading.engine import MarketRules

    half = MarketRules("XUSDT", "X", "USDT", D("0.5"), D("0.25"), D(5), 10, odd)
    assert round_qty(D("1.6"), half) == D("1.50")  # not a power of ten: floor division
    assert round_price(D("10.3"), half) == D("10.5")


@settings(max_examples=300, deadline=None)
@given(
    qty=st.decimals("0.001", "2000", places=3),
    entry=st.decimals("100", "100000", places=2),
    leverage=st.integers(1, 125),
    long=st.booleans(),
)
def test_at_the_liquidation_price_margin_balance_equals_maintenance_margin(
    qty, entry, leverage, long
):
    """Binance's LP is where wallet + unrealized PnL == maintenance margin (isolated)."""
    rules = rules_for("BTCUSDT")
    brackets = rules.brackets
    assume(leverage <= max_leverage_for(rules, qty * entry))  # as the engine enforces
    wallet = qty * entry / leverage
    signed = qty if long else -qty
    lp = liquidation_price(
        quantity=signed, entry_price=entry, wallet_balance=wallet, brackets=brackets
    )
    if not lp:
        assert long  # only a long can be unliquidatable (wallet >= what it can lose)
        assert wallet + (D("0.00000001") - entry) * qty > maintenance_margin(brackets, D(0))
        return
    margin_balance = wallet + (lp - entry) * signed
    maintenance = maintenance_margin(brackets, lp * qty)
    # LP is rounded to 8 dp towards the position: the gap is at most Q * 1e-8
    assert abs(margin_balance - maintenance) <= qty * D("0.00000002")
    assert (lp < entry) if long else (lp > entry)


def test_unknown_symbol_and_bad_requests_are_refused():
    engine = Engine(slippage=SlippageModel(mode="off"))
    state = AccountState()
    engine.deposit(state, "USDT", D(1000), 0)
    snap = MarketSnapshot("DOGEUSDT", D("0.1"), 1)
    res = engine.place_order(
        state, OrderRequest("DOGEUSDT", Market.SPOT, Side.BUY, quantity=D(100)), snap
    )
    assert res.order.status == OrderStatus.REJECTED and res.order.reject_reason == Rule.SYMBOL
    btc = MarketSnapshot("BTCUSDT", D(30000), 1)
    no_price = OrderRequest("BTCUSDT", Market.SPOT, Side.BUY, OrderType.LIMIT, D("0.01"))
    assert engine.place_order(state, no_price, btc).order.reject_reason == Rule.PRICE
    with pytest.raises(EngineRefusal) as refused:
        engine.cancel_order(state, 42, time_ms=2)
    assert refused.value.rule == Rule.UNKNOWN_ORDER
    with pytest.raises(EngineRefusal):
        engine.set_leverage(state, "BTCUSDT", 0)
