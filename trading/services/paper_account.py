"""The paper engine as configured, market snapshots for it, and the accounts it runs on."""

from __future__ import annotations

import time
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from trading import engine as core
from trading.models import Account, RiskSettings, Symbol
from trading.services.paper_state import result_save, state_load
from trading.services.prices import market_read, price_list

ZERO = Decimal("0")


def _rules_of(symbols) -> dict[str, core.MarketRules]:
    return {
        s.symbol: core.MarketRules(
            symbol=s.symbol,
            base=s.base,
            quote=s.quote,
            # normalize(): the database returns 0.0100000000; rounding quantizes to the
            # step's exponent, so trailing zeros would round to 10 places instead of 2.
            tick_size=s.tick_size.normalize(),
            step_size=s.step_size.normalize(),
            min_notional=s.min_notional,
            max_leverage=s.max_leverage,
            brackets=core.brackets_for(s.symbol, s.max_leverage),
        )
        for s in symbols
    }


class CatalogueRules(dict):
    """Market rules by symbol, from the catalogue. A symbol this process has not loaded
    is read on first use: a web worker that built its engine before the catalogue was
    seeded, or before a symbol was added in another process, must not fail on it."""

    def __missing__(self, symbol: str) -> core.MarketRules:
        loaded = _rules_of(Symbol.objects.filter(symbol=symbol))
        if symbol not in loaded:
            raise KeyError(symbol)
        self.update(loaded)
        return loaded[symbol]

    def __contains__(self, symbol: object) -> bool:
        try:
            self[symbol]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def get(self, symbol: str, default=None):  # type: ignore[override]
        try:
            return self[symbol]
        except KeyError:
            return default


@cache
def paper_engine() -> core.Engine:
    """The engine with the configured fees and slippage and the catalogue's market rules."""
    fees = core.FeeSchedule(
        spot_maker=Decimal(settings.FEE_SPOT_MAKER),
        spot_taker=Decimal(settings.FEE_SPOT_TAKER),
        futures_maker=Decimal(settings.FEE_FUTURES_MAKER),
        futures_taker=Decimal(settings.FEE_FUTURES_TAKER),
        liquidation_fee_rate=Decimal(settings.LIQUIDATION_FEE_RATE),
    )
    slippage = core.SlippageModel(mode=settings.SLIPPAGE_MODE, bps=Decimal(settings.SLIPPAGE_BPS))
    engine = core.Engine(fees=fees, slippage=slippage, rules={})
    engine.rules = CatalogueRules(_rules_of(Symbol.objects.all()))
    return engine


def snapshot(symbol: str) -> core.MarketSnapshot:
    """The market as the last poll saw it: price (also the mark) and the order book."""
    return market_now(symbol)[0]


def market_now(symbol: str) -> tuple[core.MarketSnapshot, dict[str, Decimal]]:
    """The snapshot of ``symbol`` and the last price of every watched symbol, read in one
    Redis round trip (the order path's only market read)."""
    payload, book, payloads = market_read(symbol)
    snap = core.MarketSnapshot(
        symbol=symbol,
        price=Decimal(payload["price"]),
        time_ms=int(payload["timestamp"]),
        book=book,
    )
    return snap, {s: Decimal(p["price"]) for s, p in payloads.items()}


def cached_prices() -> dict[str, Decimal]:
    return {p["symbol"]: Decimal(p["price"]) for p in price_list()}


# ---------------------------------------------------------------------------- accounts


def account_get(*, user: AbstractBaseUser) -> Account:
    """The user's paper account, created (and funded) on first use."""
    account = Account.objects.filter(user=user).first()
    if account is not None:
        return account
    initial = Decimal(settings.PAPER_INITIAL_BALANCE)
    try:
        with transaction.atomic():
            account = Account.objects.create(
                user=user, initial_balance=initial, peak_equity=initial
            )
            RiskSettings.objects.create(account=account)
            loaded = state_load(account)
            result = paper_engine().deposit(loaded.state, "USDT", initial, now_ms())
            result_save(loaded, result)
    except IntegrityError:  # created by a concurrent request
        account = Account.objects.get(user=user)
    return account


def now_ms() -> int:
    return int(time.time() * 1000)


def equity_of(state: core.AccountState) -> Decimal:
    summary = core.account_summary(state, paper_engine().rules)
    spot = sum(
        (
            amount * state.prices[f"{asset}USDT"]
            for asset, amount in state.balances.items()
            if asset != "USDT" and f"{asset}USDT" in state.prices
        ),
        ZERO,
    )
    return summary.margin_balance + spot
