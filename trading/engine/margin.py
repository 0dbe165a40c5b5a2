"""USD-M margin arithmetic: initial / maintenance margin, PnL, liquidation price, balances.

All amounts are USDT, quantities base units, Decimal throughout. The account-level
functions read an AccountState without changing it; marks are the state's last mark
prices (a position without one is valued at its entry price), and one symbol's mark can
be overridden (`symbol`, `mark`) to value the account at a price not yet recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from .rules import bracket_for
from .types import ZERO, AccountState, Bracket, MarginType, MarketRules, Position

USDT = "USDT"
Q8 = Decimal("0.00000001")


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    """Margin needed to hold `notional` at `leverage`: notional / leverage."""
    return notional / leverage


def maintenance_margin(brackets: tuple[Bracket, ...], notional: Decimal) -> Decimal:
    """notional * mmr - cum of the bracket containing `notional` (Binance's tiered rule)."""
    bracket = bracket_for(brackets, notional)
    return notional * bracket.mmr - bracket.cum


def unrealized_pnl(quantity: Decimal, entry_price: Decimal, mark_price: Decimal) -> Decimal:
    """(mark - entry) * signed quantity: positive when the position is in profit."""
    return (mark_price - entry_price) * quantity


def liquidation_price(
    *,
    quantity: Decimal,
    entry_price: Decimal,
    wallet_balance: Decimal,
    brackets: tuple[Bracket, ...],
    other_maintenance: Decimal = ZERO,
    other_unrealized: Decimal = ZERO,
) -> Decimal:
    """Binance's one-way-mode liquidation price, or 0 when the position cannot be liquidated.

    LP = (WB - TMM1 + UPNL1 + cumB - side * Q * EP) / (Q * MMR - side * Q), with WB the
    isolated wallet (isolated) or the cross wallet balance (cross), TMM1 / UPNL1 the
    maintenance margin and unrealized PnL of the OTHER cross positions (0 for isolated),
    side +1 long / -1 short, Q = |quantity|. As Binance does, the brackets are tried in
    turn and the answer is the first LP whose notional (LP * Q) lies in the bracket used
    to compute it. Rounded to 8 dp towards the position (up for a long, down for a short),
    so the position is liquidated no later than at the exact price.
    """
    if not quantity:
        return ZERO
    side = 1 if quantity > 0 else -1
    q = abs(quantity)
    base = wallet_balance - other_maintenance + other_unrealized - side * q * entry_price
    for bracket in brackets:
        denominator = q * bracket.mmr - side * q
        if not denominator:
            continue
        price = (base + bracket.cum) / denominator
        if price > 0 and bracket.floor <= price * q < bracket.cap:
            return price.quantize(Q8, ROUND_UP if side > 0 else ROUND_DOWN)
    if side < 0:
        # a short so large its LP lies beyond the last cap: the last tier still applies
        last = brackets[-1]
        price = (base + last.cum) / (q * last.mmr + q)
        if price > 0:
            return price.quantize(Q8, ROUND_DOWN)
    return ZERO


# --------------------------------------------------------------------------- account level


def _mark(
    state: AccountState, position: Position, symbol: str | None, mark: Decimal | None
) -> Decimal:
    if mark is not None and position.symbol == symbol:
        return mark
    return state.marks.get(position.symbol, position.entry_price)


def cross_wallet(state: AccountState) -> Decimal:
    """USDT balance minus the isolated wallets: what cross positions and spot buys share."""
    balance = state.balances.get(USDT, ZERO)
    for position in state.positions.values():
        if position.margin_type is MarginType.ISOLATED:
            balance -= position.isolated_wallet
    return balance


def available_usdt(
    state: AccountState, symbol: str | None = None, mark: Decimal | None = None
) -> Decimal:
    """USDT that a new order may use: spot buys, new futures margin, fees.

    = balance - isolated wallets - cross initial margin (at mark) - locked by open orders
    + unrealized PnL of cross positions when it is a loss. Unrealized profit is not
    spendable (conservative: on Binance it counts towards cross margin, but spending it
    here could push the shared balance below zero when the price comes back).
    """
    available = state.balances.get(USDT, ZERO) - state.locked.get(USDT, ZERO)
    if state.positions:
        unrealized = ZERO
        for position in state.positions.values():
            if position.margin_type is MarginType.ISOLATED:
                available -= position.isolated_wallet
                continue
            price = _mark(state, position, symbol, mark)
            available -= abs(position.quantity) * price / position.leverage
            unrealized += (price - position.entry_price) * position.quantity
        if unrealized < 0:
            available += unrealized
    return available


def cross_margin_status(
    state: AccountState,
    rules: Mapping[str, MarketRules],
    symbol: str | None = None,
    mark: Decimal | None = None,
) -> tuple[Decimal, Decimal]:
    """(cross margin balance, cross maintenance margin): liquidation when the first <= second."""
    balance = cross_wallet(state)
    maintenance = ZERO
    for position in state.positions.values():
        if position.margin_type is MarginType.ISOLATED:
            continue
        price = _mark(state, position, symbol, mark)
        balance += (price - position.entry_price) * position.quantity
        maintenance += maintenance_margin(
            rules[position.symbol].brackets, abs(position.quantity) * price
        )
    return balance, maintenance


def position_liquidation_price(
    state: AccountState,
    rules: Mapping[str, MarketRules],
    symbol: str,
) -> Decimal:
    """The liquidation price of `symbol`'s position now (0 when none or unliquidatable)."""
    position = state.positions.get(symbol)
    if position is None or not position.quantity:
        return ZERO
    brackets = rules[symbol].brackets
    if position.margin_type is MarginType.ISOLATED:
        return liquidation_price(
            quantity=position.quantity,
            entry_price=position.entry_price,
            wallet_balance=position.isolated_wallet,
            brackets=brackets,
        )
    other_mm = ZERO
    other_upnl = ZERO
    for other in state.positions.values():
        if other.symbol == symbol or other.margin_type is MarginType.ISOLATED:
            continue
        price = state.marks.get(other.symbol, other.entry_price)
        other_mm += maintenance_margin(rules[other.symbol].brackets, abs(other.quantity) * price)
        other_upnl += (price - other.entry_price) * other.quantity
    return liquidation_price(
        quantity=position.quantity,
        entry_price=position.entry_price,
        wallet_balance=cross_wallet(state),
        brackets=brackets,
        other_maintenance=other_mm,
        other_unrealized=other_upnl,
    )


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One position valued at its mark (Binance's positionRisk fields)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal  # signed like quantity
    unrealized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    isolated_wallet: Decimal
    leverage: int
    margin_type: MarginType
    liquidation_price: Decimal


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """The USDT side of the account (Binance's futures account totals)."""

    wallet_balance: Decimal  # the USDT balance, isolated wallets included
    cross_wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal  # equity: wallet + unrealized
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal  # USDT locked by open orders (spot and futures)
    maintenance_margin: Decimal
    available_balance: Decimal


def position_risk(
    state: AccountState, rules: Mapping[str, MarketRules], symbol: str
) -> PositionRisk | None:
    """The position of `symbol` valued at the last mark, or None when flat."""
    position = state.positions.get(symbol)
    if position is None:
        return None
    mark = state.marks.get(symbol, position.entry_price)
    notional = position.quantity * mark
    return PositionRisk(
        symbol=symbol,
        quantity=position.quantity,
        entry_price=position.entry_price,
        mark_price=mark,
        notional=notional.quantize(Q8),
        unrealized_pnl=unrealized_pnl(position.quantity, position.entry_price, mark).quantize(Q8),
        initial_margin=initial_margin(abs(notional), position.leverage).quantize(Q8),
        maintenance_margin=maintenance_margin(rules[symbol].brackets, abs(notional)).quantize(Q8),
        isolated_wallet=position.isolated_wallet,
        leverage=position.leverage,
        margin_type=position.margin_type,
        liquidation_price=position_liquidation_price(state, rules, symbol),
    )


def account_summary(state: AccountState, rules: Mapping[str, MarketRules]) -> AccountSummary:
    """Wallet, unrealized PnL, equity, margins and available USDT of the account."""
    unrealized = ZERO
    position_im = ZERO
    maintenance = ZERO
    for position in state.positions.values():
        mark = state.marks.get(position.symbol, position.entry_price)
        notional = abs(position.quantity) * mark
        unrealized += unrealized_pnl(position.quantity, position.entry_price, mark)
        position_im += initial_margin(notional, position.leverage)
        maintenance += maintenance_margin(rules[position.symbol].brackets, notional)
    wallet = state.balances.get(USDT, ZERO)
    return AccountSummary(
        wallet_balance=wallet,
        cross_wallet_balance=cross_wallet(state),
        unrealized_pnl=unrealized.quantize(Q8),
        margin_balance=(wallet + unrealized).quantize(Q8),
        position_initial_margin=position_im.quantize(Q8),
        open_order_initial_margin=state.locked.get(USDT, ZERO),
        maintenance_margin=maintenance.quantize(Q8),
        available_balance=max(available_usdt(state), ZERO).quantize(Q8, ROUND_DOWN),
    )
