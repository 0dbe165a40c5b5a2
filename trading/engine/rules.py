"""Market rules: step / tick rounding, the min-notional filter, Binance's leverage brackets.

The bracket tables follow Binance's USD-M "leverage and margin" tiers: each tier has a
notional floor and cap, the maximum leverage allowed for a position of that size, and a
maintenance margin rate (mmr). Its maintenance amount `cum` makes the maintenance margin
continuous across tiers: cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1}), cum_1 = 0.
BTCUSDT is Binance's published table; ETHUSDT is modelled on it, and BNB / SOL / XRP get
smaller tables topped by their catalogue maximum leverage (paper-trading approximations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache

from trading.catalogue import DEFAULT_MARKETS

from .types import Bracket, MarketRules

_M = 1_000_000

# (notional floor, notional cap, max leverage, maintenance margin rate)
_TIERS: dict[str, tuple[tuple[int, int, int, str], ...]] = {
    "BTCUSDT": (
        (0, 50_000, 125, "0.004"),
        (50_000, 250_000, 100, "0.005"),
        (250_000, 3 * _M, 50, "0.01"),
        (3 * _M, 15 * _M, 20, "0.025"),
        (15 * _M, 30 * _M, 10, "0.05"),
        (30 * _M, 80 * _M, 5, "0.10"),
        (80 * _M, 100 * _M, 4, "0.125"),
        (100 * _M, 200 * _M, 3, "0.15"),
        (200 * _M, 300 * _M, 2, "0.25"),
        (300 * _M, 500 * _M, 1, "0.50"),
    ),
    "ETHUSDT": (
        (0, 50_000, 125, "0.004"),
        (50_000, 250_000, 100, "0.005"),
        (250_000, 2 * _M, 50, "0.01"),
        (2 * _M, 10 * _M, 20, "0.025"),
        (10 * _M, 20 * _M, 10, "0.05"),
        (20 * _M, 50 * _M, 5, "0.10"),
        (50 * _M, 75 * _M, 4, "0.125"),
        (75 * _M, 150 * _M, 3, "0.15"),
        (150 * _M, 200 * _M, 2, "0.25"),
        (200 * _M, 300 * _M, 1, "0.50"),
    ),
    "BNBUSDT": (
        (0, 10_000, 75, "0.005"),
        (10_000, 50_000, 50, "0.01"),
        (50_000, 250_000, 25, "0.02"),
        (250_000, 1 * _M, 10, "0.05"),
        (1 * _M, 2 * _M, 5, "0.10"),
        (2 * _M, 5 * _M, 4, "0.125"),
        (5 * _M, 10 * _M, 3, "0.15"),
        (10 * _M, 20 * _M, 2, "0.25"),
        (20 * _M, 50 * _M, 1, "0.50"),
    ),
    "SOLUSDT": (
        (0, 10_000, 100, "0.005"),
        (10_000, 50_000, 50, "0.01"),
        (50_000, 250_000, 25, "0.02"),
        (250_000, 1 * _M, 10, "0.05"),
        (1 * _M, 2_500_000, 5, "0.10"),
        (2_500_000, 5 * _M, 4, "0.125"),
        (5 * _M, 10 * _M, 3, "0.15"),
        (10 * _M, 20 * _M, 2, "0.25"),
        (20 * _M, 50 * _M, 1, "0.50"),
    ),
    "XRPUSDT": (
        (0, 10_000, 75, "0.005"),
        (10_000, 50_000, 50, "0.01"),
        (50_000, 250_000, 25, "0.02"),
        (250_000, 1 * _M, 10, "0.05"),
        (1 * _M, 2 * _M, 5, "0.10"),
        (2 * _M, 5 * _M, 4, "0.125"),
        (5 * _M, 10 * _M, 3, "0.15"),
        (10 * _M, 20 * _M, 2, "0.25"),
        (20 * _M, 50 * _M, 1, "0.50"),
    ),
}

# A symbol without a table of its own (e.g. one added in the database later).
_GENERIC_TIERS: tuple[tuple[int, int, int, str], ...] = (
    (0, 5_000, 50, "0.01"),
    (5_000, 25_000, 25, "0.025"),
    (25_000, 100_000, 20, "0.05"),
    (100_000, 250_000, 10, "0.10"),
    (250_000, 1 * _M, 5, "0.125"),
    (1 * _M, 5 * _M, 4, "0.15"),
    (5 * _M, 10 * _M, 2, "0.25"),
    (10 * _M, 50 * _M, 1, "0.50"),
)


def build_brackets(
    tiers: Iterable[tuple[int | Decimal, int | Decimal, int, str | Decimal]],
    max_leverage: int | None = None,
) -> tuple[Bracket, ...]:
    """Brackets from (floor, cap, max leverage, mmr) rows, with cum derived as Binance does.

    max_leverage, when given, caps every tier's leverage (a symbol whose catalogue maximum
    is lower than the table's first tier).
    """
    brackets: list[Bracket] = []
    cum = Decimal(0)
    previous_mmr = Decimal(0)
    for floor, cap, leverage, mmr in tiers:
        floor_d, mmr_d = Decimal(floor), Decimal(mmr)
        if brackets:
            cum += floor_d * (mmr_d - previous_mmr)
        if max_leverage is not None:
            leverage = min(leverage, max_leverage)
        brackets.append(Bracket(floor_d, Decimal(cap), leverage, mmr_d, cum))
        previous_mmr = mmr_d
    return tuple(brackets)


def brackets_for(symbol: str, max_leverage: int | None = None) -> tuple[Bracket, ...]:
    """The bracket table of `symbol` (a generic one for symbols without their own)."""
    return build_brackets(_TIERS.get(symbol, _GENERIC_TIERS), max_leverage)


@cache
def _catalogue_rules() -> dict[str, MarketRules]:
    return {
        spec.symbol: MarketRules(
            symbol=spec.symbol,
            base=spec.base,
            quote=spec.quote,
            tick_size=spec.tick_size,
            step_size=spec.step_size,
            min_notional=spec.min_notional,
            max_leverage=spec.max_leverage,
            brackets=brackets_for(spec.symbol, spec.max_leverage),
        )
        for spec in DEFAULT_MARKETS
    }


def rules_for(symbol: str) -> MarketRules:
    """MarketRules of a shipped symbol (trading/catalogue.py plus its bracket table).

    Raises KeyError for a symbol outside the catalogue; a shell that knows more symbols
    builds MarketRules itself from the Symbol row and `brackets_for`.
    """
    return _catalogue_rules()[symbol]


def default_rules() -> Mapping[str, MarketRules]:
    """Rules of every shipped symbol, keyed by symbol."""
    return dict(_catalogue_rules())


def round_qty(value: Decimal, rules: MarketRules) -> Decimal:
    """`value` rounded down to a multiple of the symbol's step size (never up: no overfill)."""
    step = rules.step_size
    if rules.step_pow10:
        return value.quantize(step, ROUND_DOWN)
    return ((value // step) * step).quantize(step)


def round_price(value: Decimal, rules: MarketRules, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`value` rounded to a multiple of the tick size (half-up unless told otherwise)."""
    tick = rules.tick_size
    if rules.tick_pow10:
        return value.quantize(tick, rounding)
    return ((value / tick).quantize(Decimal(1), rounding) * tick).quantize(tick)


def meets_min_notional(rules: MarketRules, notional: Decimal) -> bool:
    """Binance's MIN_NOTIONAL filter: price * quantity (quote units) >= min_notional."""
    return notional >= rules.min_notional


def bracket_for(brackets: tuple[Bracket, ...], notional: Decimal) -> Bracket:
    """The tier whose [floor, cap) contains `notional` (the last tier beyond the table)."""
    for bracket in brackets:
        if notional < bracket.cap:
            return bracket
    return brackets[-1]


def max_leverage_for(rules: MarketRules, notional: Decimal) -> int:
    """The highest leverage Binance allows for a position of `notional` USDT."""
    return bracket_for(rules.brackets, notional).max_leverage
