"""trading.risk: every rule passing and failing on hand-computed numbers, and input checks.

The baseline below passes every rule with the default limits: a 0.02 BTC long at 50,000
(notional 1,000 USDT, 10x so 100 USDT margin) with a stop at 49,000 (risks 20 USDT), on an
account with 10,000 USDT equity, 8,000 available and 2 open trades. Each test moves one
number across one limit. Pure: no database.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from trading import risk
from trading.risk import AccountView, Check, Proposal, RiskLimitError, RiskLimits

NOW_MS = int(datetime(2026, 11, 21, 16, 0, tzinfo=UTC).timestamp() * 1000)
MINUTE_MS = 60_000


def limits(**changes) -> RiskLimits:
    return dataclasses.replace(RiskLimits.defaults(), **changes)


def proposal(**changes) -> Proposal:
    base = Proposal(
        symbol="BTCUSDT",
        market="futures",
        direction="long",
        quantity=D("0.02"),
        price=D("50000"),
        leverage=10,
        stop_loss=D("49000"),
    )
    return dataclasses.replace(base, **changes)


def account(**changes) -> AccountView:
    base = AccountView(
        equity=D("10000"),
        available=D("8000"),
        open_trades=2,
        day_start_equity=D("10000"),
        peak_equity=D("10000"),
        consecutive_losses=0,
        last_loss_ms=None,
        now_ms=NOW_MS,
    )
    return dataclasses.replace(base, **changes)


def check(rule: str, lim: RiskLimits | None = None, prop=None, acct=None) -> Check:
    checks = risk.evaluate(lim or limits(), prop or proposal(), acct or account())
    return next(c for c in checks if c.rule == rule)


# --------------------------------------------------------------------------- the whole check


def test_baseline_passes_every_rule_in_the_documented_order():
    checks = risk.evaluate(limits(), proposal(), account())
    assert [c.rule for c in checks] == list(risk.RULES)
    assert [c.rule for c in checks] == [
        "allowed_symbol",
        "max_leverage",
        "max_position_pct",
        "max_open_trades",
        "max_daily_loss_pct",
        "max_drawdown_pct",
        "stop_loss_required",
        "max_risk_per_trade_pct",
        "min_free_balance",
        "cooldown",
    ]
    assert all(c.passed for c in checks)
    assert risk.allowed(checks)
    assert risk.first_failure(checks) is None


def test_every_rule_is_reported_and_the_first_failure_is_the_earliest_rule():
    # leverage 50 > 20 and 6 open trades >= 5: both fail, max_leverage comes first
    checks = risk.evaluate(limits(), proposal(leverage=50), account(open_trades=6))
    assert len(checks) == len(risk.RULES)
    assert [c.rule for c in checks if not c.passed] == ["max_leverage", "max_open_trades"]
    assert not risk.allowed(checks)
    assert risk.first_failure(checks).rule == "max_leverage"


def test_check_renders_as_the_api_shape():
    c = check("max_leverage", prop=proposal(leverage=50))
    assert c.as_dict() == {
        "rule": "max_leverage",
        "passed": False,
        "value": "50",
        "limit": "20",
        "message": "Leverage 50x is above your limit of 20x.",
    }


# --------------------------------------------------------------------------- allowed_symbol


def test_allowed_symbol_passes_any_symbol_when_the_list_is_empty():
    c = check("allowed_symbol")
    assert (c.passed, c.value, c.limit) == (True, "BTCUSDT", "all")


def test_allowed_symbol_passes_a_listed_symbol():
    c = check("allowed_symbol", limits(allowed_symbols=("ETHUSDT", "BTCUSDT")))
    assert (c.passed, c.limit) == (True, "ETHUSDT, BTCUSDT")


def test_allowed_symbol_fails_an_unlisted_symbol_and_lists_the_allowed_ones():
    c = check("allowed_symbol", limits(allowed_symbols=("ETHUSDT", "SOLUSDT")))
    assert not c.passed
    assert c.message == "BTCUSDT is not on your allowed list (ETHUSDT, SOLUSDT)."


# --------------------------------------------------------------------------- max_leverage


def test_max_leverage_passes_at_the_limit():
    c = check("max_leverage", prop=proposal(leverage=20))
    assert (c.passed, c.value, c.limit) == (True, "20", "20")


def test_max_leverage_fails_one_above_the_limit():
    c = check("max_leverage", prop=proposal(leverage=21))
    assert (c.passed, c.value, c.limit) == (False, "21", "20")
    assert c.message == "Leverage 21x is above your limit of 20x."


def test_max_leverage_counts_spot_as_1x_whatever_leverage_is_passed():
    c = check("max_leverage", limits(max_leverage=1), proposal(market="spot", leverage=50))
    assert (c.passed, c.value) == (True, "1")


# --------------------------------------------------------------------------- max_position_pct


def test_max_position_pct_passes_exactly_at_the_limit():
    # 0.05 x 50,000 = 2,500 USDT notional; 2,500 / 10,000 = 25 % (leverage does not matter)
    c = check("max_position_pct", prop=proposal(quantity=D("0.05"), leverage=20))
    assert (c.passed, c.value, c.limit) == (True, "25.00", "25")


def test_max_position_pct_fails_just_above_the_limit():
    # 0.0502 x 50,000 = 2,510 USDT; 2,510 / 10,000 = 25.10 %
    c = check("max_position_pct", prop=proposal(quantity=D("0.0502")))
    assert (c.passed, c.value, c.limit) == (False, "25.10", "25")
    assert c.message == (
        "This position's value, 2510.00 USDT, is 25.10% of your equity (10000.00 USDT), "
        "above your limit of 25%."
    )


def test_max_position_pct_fails_without_equity():
    c = check("max_position_pct", acct=account(equity=D("0")))
    assert not c.passed
    assert "0 USDT or less" in c.message


@pytest.mark.parametrize("off", [None, D("0")])
def test_max_position_pct_off_passes_a_position_of_any_size(off):
    # 1 BTC x 50,000 = 50,000 USDT = 500 % of equity
    c = check("max_position_pct", limits(max_position_pct=off), proposal(quantity=D("1")))
    assert (c.passed, c.value, c.limit) == (True, "500.00", "none")


# --------------------------------------------------------------------------- max_open_trades


def test_max_open_trades_passes_below_the_limit():
    c = check("max_open_trades", acct=account(open_trades=4))
    assert (c.passed, c.value, c.limit) == (True, "4", "5")


def test_max_open_trades_fails_at_the_limit():
    c = check("max_open_trades", acct=account(open_trades=5))
    assert (c.passed, c.value, c.limit) == (False, "5", "5")
    assert c.message == "You have 5 open trades, which is your limit of 5: close one first."


@pytest.mark.parametrize("off", [None, 0])
def test_max_open_trades_off_passes_any_count(off):
    c = check("max_open_trades", limits(max_open_trades=off), acct=account(open_trades=99))
    assert (c.passed, c.limit) == (True, "none")


# --------------------------------------------------------------------------- max_daily_loss_pct


def test_max_daily_loss_pct_passes_just_below_the_limit():
    # (10,000 - 9,501) / 10,000 = 4.99 %
    c = check("max_daily_loss_pct", acct=account(equity=D("9501")))
    assert (c.passed, c.value, c.limit) == (True, "4.99", "5")


def test_max_daily_loss_pct_fails_when_the_loss_reaches_the_limit():
    # (10,000 - 9,500) / 10,000 = 5.00 %: reached, so blocked
    c = check("max_daily_loss_pct", acct=account(equity=D("9500")))
    assert (c.passed, c.value, c.limit) == (False, "5.00", "5")
    assert "tomorrow (UTC)" in c.message


def test_max_daily_loss_pct_counts_a_gain_as_no_loss():
    c = check("max_daily_loss_pct", acct=account(equity=D("10500"), peak_equity=D("10500")))
    assert (c.passed, c.value) == (True, "0.00")


def test_max_daily_loss_pct_off_passes_a_large_loss():
    c = check("max_daily_loss_pct", limits(max_daily_loss_pct=None), acct=account(equity=D("5000")))
    assert (c.passed, c.value, c.limit) == (True, "50.00", "none")


# --------------------------------------------------------------------------- max_drawdown_pct


def test_max_drawdown_pct_passes_just_below_the_limit():
    # (12,500 - 10,001) / 12,500 = 19.992 %, shown as 19.99
    c = check("max_drawdown_pct", acct=account(peak_equity=D("12500"), equity=D("10001")))
    assert (c.passed, c.value, c.limit) == (True, "19.99", "20")


def test_max_drawdown_pct_fails_when_the_drawdown_reaches_the_limit():
    # (12,500 - 10,000) / 12,500 = 20 %
    c = check("max_drawdown_pct", acct=account(peak_equity=D("12500")))
    assert (c.passed, c.value, c.limit) == (False, "20.00", "20")
    assert c.message == (
        "Your equity is 20.00% below its peak of 12500.00 USDT, at or above your limit of 20%."
    )


def test_max_drawdown_pct_off_passes_any_drawdown():
    c = check(
        "max_drawdown_pct", limits(max_drawdown_pct=D("0")), acct=account(peak_equity=D("1e6"))
    )
    assert (c.passed, c.limit) == (True, "none")


# --------------------------------------------------------------------------- stop_loss_required


def test_stop_loss_required_fails_without_a_stop():
    c = check("stop_loss_required", limits(stop_loss_required=True), proposal(stop_loss=None))
    assert (c.passed, c.value, c.limit) == (False, "missing", "required")


def test_stop_loss_required_passes_with_a_stop():
    c = check("stop_loss_required", limits(stop_loss_required=True))
    assert (c.passed, c.value, c.limit) == (True, "set", "required")


def test_stop_loss_optional_passes_without_a_stop():
    c = check("stop_loss_required", prop=proposal(stop_loss=None))
    assert (c.passed, c.value, c.limit) == (True, "missing", "optional")


# --------------------------------------------------------------------------- max_risk_per_trade


def test_max_risk_per_trade_pct_passes_exactly_at_the_limit():
    # |50,000 - 40,000| x 0.02 = 200 USDT; 200 / 10,000 = 2.00 %
    c = check("max_risk_per_trade_pct", prop=proposal(stop_loss=D("40000")))
    assert (c.passed, c.value, c.limit) == (True, "2.00", "2")


def test_max_risk_per_trade_pct_fails_above_the_limit():
    # |50,000 - 39,000| x 0.02 = 220 USDT; 220 / 10,000 = 2.20 %
    c = check("max_risk_per_trade_pct", prop=proposal(stop_loss=D("39000")))
    assert (c.passed, c.value, c.limit) == (False, "2.20", "2")
    assert c.message == (
        "The stop-loss risks 220.00 USDT, 2.20% of your equity, above your limit of 2%."
    )


def test_max_risk_per_trade_pct_measures_a_short_stop_above_the_entry():
    # short: |50,000 - 61,000| x 0.02 = 220 USDT = 2.20 %; leverage does not change it
    prop = proposal(direction="short", stop_loss=D("61000"), leverage=1)
    c = check("max_risk_per_trade_pct", prop=prop)
    assert (c.passed, c.value) == (False, "2.20")


def test_max_risk_per_trade_pct_without_a_stop_passes_saying_the_risk_is_unbounded():
    c = check("max_risk_per_trade_pct", prop=proposal(stop_loss=None))
    assert (c.passed, c.value, c.limit) == (True, "", "2")
    assert c.message == "Without a stop-loss the risk of this trade is unbounded."


def test_max_risk_per_trade_pct_without_a_stop_fails_when_a_stop_is_required():
    lim = limits(stop_loss_required=True)
    c = check("max_risk_per_trade_pct", lim, proposal(stop_loss=None))
    assert not c.passed
    assert "unbounded" in c.message


def test_max_risk_per_trade_pct_off_passes_a_far_stop():
    lim = limits(max_risk_per_trade_pct=None)
    c = check("max_risk_per_trade_pct", lim, proposal(stop_loss=D("1")))
    assert (c.passed, c.limit) == (True, "none")


# --------------------------------------------------------------------------- min_free_balance


def test_min_free_balance_passes_when_exactly_the_minimum_stays():
    # futures: margin 1,000 / 10 = 100; 200 - 100 = 100 >= 100
    c = check("min_free_balance", acct=account(available=D("200")))
    assert (c.passed, c.value, c.limit) == (True, "100.00", "100")


def test_min_free_balance_fails_a_cent_below_the_minimum():
    # 199.99 - 100 = 99.99 < 100
    c = check("min_free_balance", acct=account(available=D("199.99")))
    assert (c.passed, c.value, c.limit) == (False, "99.99", "100")
    assert c.message == (
        "After this trade's margin of 100.00 USDT, 99.99 USDT stays available, "
        "below your minimum free balance of 100 USDT."
    )


def test_min_free_balance_counts_the_whole_cost_on_spot():
    # spot: cost = 0.02 x 50,000 = 1,000; 1,050 - 1,000 = 50 < 100
    prop = proposal(market="spot", leverage=1)
    c = check("min_free_balance", prop=prop, acct=account(available=D("1050")))
    assert (c.passed, c.value) == (False, "50.00")
    assert "cost of 1000.00 USDT" in c.message


@pytest.mark.parametrize("off", [None, D("0")])
def test_min_free_balance_off_passes(off):
    c = check("min_free_balance", limits(min_free_balance=off), acct=account(available=D("100")))
    assert (c.passed, c.value, c.limit) == (True, "0.00", "none")


# --------------------------------------------------------------------------- cooldown


def test_cooldown_fails_within_the_pause_after_enough_losses():
    # 3 losses, the last at 15:30; 60-minute pause until 16:30; now 16:00, 30 minutes left
    acct = account(consecutive_losses=3, last_loss_ms=NOW_MS - 30 * MINUTE_MS)
    c = check("cooldown", acct=acct)
    assert (c.passed, c.value, c.limit) == (False, "3", "3")
    assert c.message == (
        "3 losing trades in a row: new trades are paused until 2026-11-21 16:30 UTC "
        "(30 more minutes)."
    )


def test_cooldown_passes_once_the_pause_has_ended():
    acct = account(consecutive_losses=4, last_loss_ms=NOW_MS - 60 * MINUTE_MS)
    c = check("cooldown", acct=acct)
    assert (c.passed, c.value) == (True, "4")


def test_cooldown_passes_with_fewer_losses_than_the_limit():
    acct = account(consecutive_losses=2, last_loss_ms=NOW_MS - MINUTE_MS)
    c = check("cooldown", acct=acct)
    assert c.passed
    assert c.message == "2 losing trades in a row; trading pauses after 3."


@pytest.mark.parametrize("changes", [{"cooldown_after_losses": None}, {"cooldown_minutes": 0}])
def test_cooldown_off_passes_after_any_losses(changes):
    acct = account(consecutive_losses=10, last_loss_ms=NOW_MS - MINUTE_MS)
    c = check("cooldown", limits(**changes), acct=acct)
    assert (c.passed, c.limit) == (True, "none")


# --------------------------------------------------------------------------- proposal


def test_proposal_margin_is_notional_over_leverage_on_futures_and_the_notional_on_spot():
    assert proposal().notional == D("1000")
    assert proposal().margin == D("100")
    assert proposal(market="spot", leverage=5).margin == D("1000")


@pytest.mark.parametrize(
    "changes",
    [
        {"market": "margin"},
        {"direction": "up"},
        {"quantity": D("-0.001")},
        {"price": D("-1")},
        {"leverage": 0},
    ],
)
def test_proposal_refuses_impossible_values(changes):
    with pytest.raises(ValueError):
        proposal(**changes)


def test_a_size_rounded_down_to_zero_is_still_checked():
    checks = risk.evaluate(limits(), proposal(quantity=D("0")), account())
    assert risk.allowed(checks)  # the engine refuses it by its quantity rule
    assert next(c for c in checks if c.rule == "max_position_pct").value == "0.00"


# --------------------------------------------------------------------------- defaults / validate


API_DEFAULTS = {
    "max_position_pct": "25",
    "max_leverage": 20,
    "max_open_trades": 5,
    "max_daily_loss_pct": "5",
    "max_drawdown_pct": "20",
    "stop_loss_required": False,
    "max_risk_per_trade_pct": "2",
    "min_free_balance": "100",
    "cooldown_after_losses": 3,
    "cooldown_minutes": 60,
    "allowed_symbols": [],
}


def test_defaults_are_the_documented_settings():
    assert RiskLimits.defaults() == RiskLimits(
        max_position_pct=D("25"),
        max_leverage=20,
        max_open_trades=5,
        max_daily_loss_pct=D("5"),
        max_drawdown_pct=D("20"),
        stop_loss_required=False,
        max_risk_per_trade_pct=D("2"),
        min_free_balance=D("100"),
        cooldown_after_losses=3,
        cooldown_minutes=60,
        allowed_symbols=(),
    )
    assert RiskLimits.defaults().as_dict() == API_DEFAULTS


def test_validate_limits_of_nothing_is_the_defaults_and_of_the_defaults_too():
    assert risk.validate_limits({}) == RiskLimits.defaults()
    assert risk.validate_limits(API_DEFAULTS) == RiskLimits.defaults()


def test_validate_limits_applies_a_subset_on_top_of_base():
    base = limits(max_leverage=5, allowed_symbols=("ETHUSDT",))
    out = risk.validate_limits({"max_open_trades": None, "stop_loss_required": True}, base=base)
    assert out == dataclasses.replace(base, max_open_trades=None, stop_loss_required=True)


def test_validate_limits_accepts_strings_numbers_and_symbol_spellings():
    out = risk.validate_limits(
        {
            "max_position_pct": 12.5,
            "max_daily_loss_pct": "0.1",
            "max_drawdown_pct": 100,
            "max_risk_per_trade_pct": "1.125",
            "min_free_balance": "0.00000001",
            "max_leverage": "125",
            "max_open_trades": 0,
            "cooldown_minutes": 43200,
            "allowed_symbols": ["btc/usdt", "BTCUSDT", "eth-usdt"],
        }
    )
    assert out.max_position_pct == D("12.5")
    assert out.max_daily_loss_pct == D("0.1")
    assert out.max_drawdown_pct == D("100")
    assert out.max_risk_per_trade_pct == D("1.125")
    assert out.min_free_balance == D("0.00000001")
    assert (out.max_leverage, out.max_open_trades, out.cooldown_minutes) == (125, 0, 43200)
    assert out.allowed_symbols == ("BTCUSDT", "ETHUSDT")
    assert out.as_dict()["max_position_pct"] == "12.5"


BAD_INPUT = [
    ("max_position_pct", "NaN"),
    ("max_position_pct", float("nan")),
    ("max_position_pct", "Infinity"),
    ("max_position_pct", float("inf")),
    ("max_position_pct", "-1"),
    ("max_position_pct", "100.001"),
    ("max_position_pct", "1e3"),
    ("max_position_pct", "1.2345"),
    ("max_position_pct", "abc"),
    ("max_position_pct", True),
    ("max_position_pct", [5]),
    ("max_daily_loss_pct", -0.5),
    ("max_daily_loss_pct", "sNaN"),
    ("max_drawdown_pct", 101),
    ("max_drawdown_pct", "-Infinity"),
    ("max_risk_per_trade_pct", "1e999999999"),
    ("max_risk_per_trade_pct", {}),
    ("max_leverage", 0),
    ("max_leverage", 126),
    ("max_leverage", 2.5),
    ("max_leverage", "20x"),
    ("max_leverage", None),
    ("max_leverage", True),
    ("max_leverage", float("inf")),
    ("max_leverage", 10**30),
    ("max_open_trades", -1),
    ("max_open_trades", 1001),
    ("max_open_trades", "1.5"),
    ("stop_loss_required", "yes"),
    ("stop_loss_required", 1),
    ("stop_loss_required", None),
    ("min_free_balance", "-0.01"),
    ("min_free_balance", "1e13"),
    ("min_free_balance", "0.000000001"),
    ("min_free_balance", "nan"),
    ("cooldown_after_losses", -1),
    ("cooldown_after_losses", 10**6),
    ("cooldown_minutes", -1),
    ("cooldown_minutes", 43201),
    ("cooldown_minutes", None),
    ("allowed_symbols", "BTCUSDT"),
    ("allowed_symbols", None),
    ("allowed_symbols", ["BTCUSDT", 5]),
    ("allowed_symbols", [""]),
    ("allowed_symbols", ["X" * 30]),
    ("allowed_symbols", ["BTCUSDT"] * 501),
]


@pytest.mark.parametrize(("field", "value"), BAD_INPUT)
def test_validate_limits_refuses_bad_input_naming_the_field(field, value):
    with pytest.raises(RiskLimitError) as info:
        risk.validate_limits({field: value})
    assert info.value.field == field
    assert info.value.errors == {field: info.value.message}
    assert str(info.value).startswith(f"{field}: ")


def test_validate_limits_reports_every_bad_field():
    with pytest.raises(RiskLimitError) as info:
        risk.validate_limits({"cooldown_minutes": -5, "max_leverage": 500, "max_open_trades": 3})
    assert info.value.field == "max_leverage"  # the first in field order
    assert list(info.value.errors) == ["max_leverage", "cooldown_minutes"]
    assert info.value.errors["max_leverage"] == "Must be between 1 and 125 (got 500)."


@pytest.mark.parametrize(
    "field",
    [
        "max_position_pct",
        "max_open_trades",
        "max_daily_loss_pct",
        "max_drawdown_pct",
        "max_risk_per_trade_pct",
        "min_free_balance",
        "cooldown_after_losses",
    ],
)
def test_validate_limits_accepts_null_for_an_optional_limit(field):
    assert getattr(risk.validate_limits({field: None}), field) is None
