"""Consistency checks of an AccountState, for tests, the backtester and debugging shells.

The core keeps these true after every call; `problems()` lists any that do not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from .margin import USDT
from .types import ZERO, AccountState, LedgerEntry, MarginType, Result


def ledger_totals(
    entries: Iterable[LedgerEntry], into: dict[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """Sum of ledger amounts per asset (added to `into` when given)."""
    totals = {} if into is None else into
    for entry in entries:
        totals[entry.asset] = totals.get(entry.asset, ZERO) + entry.amount
    return totals


def problems(state: AccountState, ledger: dict[str, Decimal] | None = None) -> list[str]:
    """What is wrong with `state` (empty when all is well).

    - every balance >= 0, and equals its ledger total when `ledger` is given;
    - the USDT balance covers the isolated wallets (cross wallet >= 0), each >= 0;
    - locked[asset] == sum of open orders' reservations, and only open orders are held;
    - every position is non-zero and its trade is open and matches its size.
    """
    found: list[str] = []
    for asset, balance in state.balances.items():
        if balance < 0:
            found.append(f"{asset} balance {balance} < 0")
    if ledger is not None:
        for asset in set(ledger) | set(state.balances):
            total = ledger.get(asset, ZERO)
            balance = state.balances.get(asset, ZERO)
            if total != balance:
                found.append(f"{asset}: ledger {total} != balance {balance}")
    isolated = ZERO
    for symbol, position in state.positions.items():
        if not position.quantity:
            found.append(f"{symbol}: empty position kept")
        if position.isolated_wallet < 0:
            found.append(f"{symbol}: isolated wallet {position.isolated_wallet} < 0")
        if position.margin_type == MarginType.ISOLATED:
            isolated += position.isolated_wallet
        trade = state.trades.get(position.trade_id) if position.trade_id else None
        if trade is None:
            found.append(f"{symbol}: position without an open trade")
        elif trade.quantity != abs(position.quantity):
            found.append(f"{symbol}: trade {trade.id} size {trade.quantity} != position")
    if state.balances.get(USDT, ZERO) < isolated:
        found.append(f"USDT balance below the isolated wallets ({isolated})")
    reserved: dict[str, Decimal] = {}
    for order in state.orders.values():
        if not order.is_open:
            found.append(f"order {order.id} is {order.status} but held as open")
        if order.reserved:
            reserved[order.reserved_asset] = reserved.get(order.reserved_asset, ZERO) + (
                order.reserved
            )
    for asset in set(reserved) | set(state.locked):
        if reserved.get(asset, ZERO) != state.locked.get(asset, ZERO):
            found.append(
                f"{asset}: locked {state.locked.get(asset, ZERO)} != reserved "
                f"{reserved.get(asset, ZERO)}"
            )
    return found


def apply_ledger(result: Result, totals: dict[str, Decimal]) -> dict[str, Decimal]:
    """Add a Result's ledger entries to running per-asset totals; returns the totals."""
    return ledger_totals(result.ledger, totals)
