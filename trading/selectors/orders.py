"""Reads of orders, fills and futures positions for the exchange-style APIs (the
Binance-compatible routes and /futures/*): rows and engine figures, not rendered JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from trading import engine as core
from trading.models import Account, Fill, Order
from trading.services.paper_account import account_get, cached_prices, paper_engine
from trading.services.paper_state import state_load

# Conditional orders (Binance's USD-M algo orders) are listed apart from plain ones.
CONDITIONAL_TYPES = (
    "STOP_MARKET",
    "TAKE_PROFIT_MARKET",
    "STOP",
    "TAKE_PROFIT",
    "TRAILING_STOP_MARKET",
)


def _ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def order_get(
    *,
    user: AbstractBaseUser,
    market: str,
    number: int | None = None,
    client_order_id: str | None = None,
    symbol: str | None = None,
    conditional: bool | None = None,
) -> Order | None:
    """One of the user's orders by number or client id (the newest with that id)."""
    orders = _orders(user, market, symbol, conditional)
    if number is not None:
        return orders.filter(number=number).first()
    if client_order_id:
        return orders.filter(client_order_id=client_order_id).order_by("-number").first()
    return None


def order_list(
    *,
    user: AbstractBaseUser,
    market: str,
    symbol: str | None = None,
    open_only: bool = False,
    conditional: bool | None = None,
    from_number: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 500,
) -> list[Order]:
    """The user's orders, oldest first (Binance's order), at most ``limit``."""
    orders = _orders(user, market, symbol, conditional)
    if open_only:
        orders = orders.filter(status__in=Order.OPEN_STATUSES)
    if from_number is not None:
        orders = orders.filter(number__gte=from_number)
    if start_ms is not None:
        orders = orders.filter(created_at__gte=_ms(start_ms))
    if end_ms is not None:
        orders = orders.filter(created_at__lte=_ms(end_ms))
    if from_number is None and start_ms is None:  # the latest ``limit``, oldest first
        return list(reversed(orders.order_by("-number")[:limit]))
    return list(orders.order_by("number")[:limit])


def _orders(
    user: AbstractBaseUser, market: str, symbol: str | None, conditional: bool | None
) -> QuerySet[Order]:
    orders = Order.objects.filter(account__user=user, market=market)
    if symbol:
        orders = orders.filter(symbol=symbol)
    if conditional is True:
        orders = orders.filter(type__in=CONDITIONAL_TYPES)
    elif conditional is False:
        orders = orders.exclude(type__in=CONDITIONAL_TYPES)
    return orders


def fill_list(
    *,
    user: AbstractBaseUser,
    market: str,
    symbol: str | None = None,
    order_number: int | None = None,
    from_number: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 500,
) -> list[Fill]:
    """The user's fills (Binance's account trades), oldest first, at most ``limit``."""
    fills = Fill.objects.filter(account__user=user, market=market)
    if symbol:
        fills = fills.filter(symbol=symbol)
    if order_number is not None:
        fills = fills.filter(order_number=order_number)
    if from_number is not None:
        fills = fills.filter(number__gte=from_number)
    if start_ms is not None:
        fills = fills.filter(time__gte=_ms(start_ms))
    if end_ms is not None:
        fills = fills.filter(time__lte=_ms(end_ms))
    if from_number is None and start_ms is None:
        return list(reversed(fills.order_by("-number")[:limit]))
    return list(fills.order_by("number")[:limit])


@dataclass(frozen=True)
class FuturesAccount:
    """The account's futures figures at the last prices, as Binance's account endpoints
    and /futures/* show them."""

    account: Account
    state: core.AccountState
    summary: core.AccountSummary
    positions: list[core.PositionRisk]
    updated_ms: int

    @property
    def usdt_free(self) -> Decimal:
        return self.state.balances.get("USDT", Decimal("0")) - self.state.locked.get(
            "USDT", Decimal("0")
        )


def futures_account_get(*, user: AbstractBaseUser) -> FuturesAccount:
    """Balances, margins and every open position with its liquidation price (no lock: a
    consistent read of committed rows)."""
    account = account_get(user=user)
    state = state_load(account, prices=cached_prices()).state
    rules = paper_engine().rules
    positions = [
        risk
        for symbol in sorted(state.positions)
        if (risk := core.position_risk(state, rules, symbol))
    ]
    return FuturesAccount(
        account=account,
        state=state,
        summary=core.account_summary(state, rules),
        positions=positions,
        updated_ms=int(account.updated_at.timestamp() * 1000) or 1,
    )


def symbol_settings(state: core.AccountState, symbol: str) -> core.SymbolSettings:
    """The symbol's leverage and margin type (Binance's defaults when never set)."""
    return state.settings.get(symbol, core.SymbolSettings())
