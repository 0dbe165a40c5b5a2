"""Paper trading: every write to a paper account goes through here.

Each operation is one transaction that locks the Account row, loads the AccountState
(paper_state), runs the pure engine (trading/engine) and saves what changed; notifications
go out after commit. Every order path (this, auto-trading, the Binance-compatible API)
calls ``order_safety_check`` first: a refusal names the rule and changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cryptobot.api.errors import ApiError, Conflict, NotFound
from cryptobot.lib.time import ms_iso
from trading import engine as core
from trading import risk
from trading.models import Account, Order, Position, RiskSettings, Trade
from trading.notify import trading_event
from trading.selectors.paper import balance_get, order_dict, risk_limits_of, trade_dict, trade_get
from trading.services.markets import symbol_resolve
from trading.services.paper_account import (
    account_get,
    cached_prices,
    equity_of,
    market_now,
    now_ms,
    paper_engine,
    snapshot,
)
from trading.services.paper_state import (
    Loaded,
    flow_today,
    locked_load,
    order_row,
    result_save,
    state_load,
    to_ms,
    trade_row,
)
from trading.services.prices import price_get

ZERO = Decimal("0")
HUNDRED = Decimal("100")


class RiskCheckFailed(ApiError):
    status_code = 422
    code = "risk_check_failed"


class OrderRefused(ApiError):
    status_code = 422
    code = "order_rejected"


@contextmanager
def account_locked(
    user: AbstractBaseUser, events: list, prices: dict[str, Decimal] | None = None
) -> Iterator[Loaded]:
    """Lock the account, load its state; notifications in ``events`` go out after commit."""
    prices = cached_prices() if prices is None else prices
    with transaction.atomic():
        loaded = _lock_and_load(user.pk, prices)
        if loaded is None:  # first use: create and fund it, then lock it
            account_get(user=user)
            loaded = _lock_and_load(user.pk, prices)
        yield loaded
        user_id = loaded.account.user_id
        pending = list(events)
        transaction.on_commit(lambda: notify_after(user_id, pending))


def _lock_and_load(user_id: int, prices: dict[str, Decimal]) -> Loaded | None:
    """Inside a transaction: lock the user's account and load its state (None: no account).
    PostgreSQL takes the two-statement path; other databases the ORM one."""
    loaded = locked_load(user_id, prices=prices)
    if loaded is None:
        locking = Account.objects.select_for_update(of=("self",)).select_related("risk")
        account = locking.filter(user_id=user_id).first()
        if account is not None:
            loaded = state_load(account, prices=prices)
    return loaded


def notify_after(user_id: int, events: list) -> None:
    for event in events:
        kind, data = _describe(event)
        if kind:
            trading_event(user_id, kind, data)


def _trade_data(t: core.Trade) -> dict[str, Any]:
    """What a notification about the trade shows (strings: Decimals keep every digit)."""
    return {
        "trade_id": t.id,
        "symbol": t.symbol,
        "market": str(t.market),
        "direction": str(t.direction),
        "quantity": str(t.entered_qty or t.quantity),
        "entry_price": str(t.entry_price),
        "leverage": t.leverage,
        "source": str(t.source),
        "opened_at": ms_iso(t.opened_ms),
    }


def _describe(event: Any) -> tuple[str | None, dict[str, Any]]:
    if isinstance(event, core.TradeOpened):
        return "trade_opened", _trade_data(event.trade)
    if isinstance(event, core.TradeClosed):
        t = event.trade
        kind = {
            core.CloseReason.STOP_LOSS: "stop_loss",
            core.CloseReason.TAKE_PROFIT: "take_profit",
            core.CloseReason.TRAILING_STOP: "stop_loss",
            core.CloseReason.LIQUIDATION: "liquidation",
        }.get(event.reason, "trade_closed")
        return kind, {
            **_trade_data(t),
            "reason": str(event.reason),
            "exit_price": str(t.exit_price),
            "closed_at": ms_iso(t.closed_ms),
            "fees": str(t.fees),
            "realized_pnl": str(t.net_pnl),
        }
    if isinstance(event, core.OrderRejected):
        return "order_rejected", {
            "symbol": event.order.symbol,
            "rule": str(event.rule),
            "message": event.message,
        }
    return None, {}


# ---------------------------------------------------------------------------- risk


@dataclass(frozen=True)
class TradeRequest:
    """A proposed trade as POST /trade and POST /safety/check take it (validated types)."""

    symbol: str
    direction: str
    market: str = "futures"
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    equity_pct: Decimal | None = None
    leverage: int | None = None
    margin_type: str | None = None
    order_type: str = "market"
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_pct: Decimal | None = None
    take_profit: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_stop_pct: Decimal | None = None
    source: str = "manual"
    strategy: str = ""


@dataclass(frozen=True)
class _Resolved:
    symbol: str
    quantity: Decimal
    price: Decimal
    leverage: int
    margin_type: core.MarginType | None
    stop_loss: Decimal | None
    take_profit: Decimal | None


def _resolve(
    request: TradeRequest, state: core.AccountState, snap: core.MarketSnapshot
) -> _Resolved:
    """Turn sizes and percentages into the engine's absolute numbers."""
    long = request.direction == "long"
    price = request.price if request.order_type == "limit" and request.price else snap.price
    if request.quantity is not None:
        quantity = request.quantity
    elif request.quote_amount is not None:
        quantity = request.quote_amount / price
    settings_ = state.settings.get(request.symbol, core.SymbolSettings())
    leverage = 1 if request.market == "spot" else (request.leverage or settings_.leverage)
    if request.quantity is None and request.quote_amount is None:
        # equity_pct: the share of equity committed as margin (spot: as cost).
        margin = equity_of(state) * (request.equity_pct or ZERO) / HUNDRED
        quantity = margin * leverage / price
    margin_type = None
    if request.market == "futures" and request.margin_type:
        margin_type = (
            core.MarginType.ISOLATED
            if request.margin_type == "isolated"
            else core.MarginType.CROSSED
        )
    stop_loss = request.stop_loss
    if stop_loss is None and request.stop_loss_pct is not None:
        sign = -1 if long else 1
        stop_loss = price * (1 + sign * request.stop_loss_pct / HUNDRED)
    take_profit = request.take_profit
    if take_profit is None and request.take_profit_pct is not None:
        sign = 1 if long else -1
        take_profit = price * (1 + sign * request.take_profit_pct / HUNDRED)
    rules = paper_engine().rules[request.symbol]
    return _Resolved(
        symbol=request.symbol,
        quantity=core.round_qty(quantity, rules),
        price=price,
        leverage=leverage,
        margin_type=margin_type,
        stop_loss=None if stop_loss is None else core.round_price(stop_loss, rules),
        take_profit=None if take_profit is None else core.round_price(take_profit, rules),
    )


def risk_limits(loaded: Loaded) -> risk.RiskLimits:
    if loaded.risk is not None:  # read with the account lock (PostgreSQL)
        values = {name: loaded.risk[name] for name in risk.FIELDS}
        values["allowed_symbols"] = tuple(values["allowed_symbols"] or ())
        return risk.RiskLimits(**values)
    row, _ = RiskSettings.objects.get_or_create(account=loaded.account)
    return risk_limits_of(row)


def account_view(loaded: Loaded, now_ms: int) -> risk.AccountView:
    account, state = loaded.account, loaded.state
    equity = equity_of(state)
    recent = loaded.recent_net
    if recent is None:  # the ORM path reads them here
        recent = [
            (pnl - fees + funding, to_ms(closed))
            for pnl, fees, funding, closed in Trade.objects.filter(
                account=account, status__in=[Trade.Status.CLOSED, Trade.Status.LIQUIDATED]
            )
            .order_by("-closed_at")
            .values_list("realized_pnl", "fees", "funding", "closed_at")[:50]
        ]
    summary = core.account_summary(state, paper_engine().rules)
    day_start_equity = summary.wallet_balance - flow_today(account)
    losses = 0
    for net, _closed in recent:
        if net >= 0:
            break
        losses += 1
    last_loss_ms = recent[0][1] if losses else None
    return risk.AccountView(
        equity=equity,
        available=summary.available_balance,
        open_trades=len(state.trades),
        day_start_equity=max(day_start_equity, ZERO),
        peak_equity=max(account.peak_equity, equity),
        consecutive_losses=losses,
        last_loss_ms=last_loss_ms,
        now_ms=now_ms,
    )


def _checks(
    loaded: Loaded,
    request: TradeRequest,
    snap: core.MarketSnapshot,
    *,
    dry_run: bool = True,
):
    """The rule-by-rule safety check, ending with the engine's own margin/balance check
    (a dry run on a copy of the state). An order path skips the dry run: the real engine
    call refuses the same way and, refusing, changes nothing."""
    resolved = _resolve(request, loaded.state, snap)
    proposal = risk.Proposal(
        symbol=request.symbol,
        market=request.market,
        direction=request.direction,
        quantity=resolved.quantity,
        price=resolved.price,
        leverage=resolved.leverage,
        stop_loss=resolved.stop_loss,
    )
    checks = risk.evaluate(risk_limits(loaded), proposal, account_view(loaded, snap.time_ms))
    if not dry_run:
        return resolved, checks
    dry = _open(copy.deepcopy(loaded.state), request, resolved, snap)
    rejected = dry.order is not None and dry.order.status == core.OrderStatus.REJECTED
    checks.append(
        risk.Check(
            rule="balance",
            passed=not rejected,
            value=str(resolved.quantity),
            limit="",
            message=(dry.order.reject_message if rejected else "The account can fund this order."),
        )
    )
    return resolved, checks


def _open(
    state: core.AccountState, request: TradeRequest, resolved: _Resolved, snap: core.MarketSnapshot
) -> core.Result:
    return paper_engine().open_trade(
        state,
        symbol=request.symbol,
        market=core.Market(request.market),
        direction=core.Direction(request.direction),
        snapshot=snap,
        quantity=resolved.quantity,
        order_type=core.OrderType.LIMIT if request.order_type == "limit" else core.OrderType.MARKET,
        price=resolved.price if request.order_type == "limit" else None,
        leverage=resolved.leverage if request.market == "futures" else None,
        margin_type=resolved.margin_type,
        stop_loss=resolved.stop_loss,
        take_profit=resolved.take_profit,
        trailing_stop_pct=request.trailing_stop_pct,
        source=core.Source(request.source),
        strategy=request.strategy,
    )


def order_safety_check(*, user: AbstractBaseUser, request: TradeRequest) -> dict[str, Any]:
    """POST /safety/check: every rule's verdict for a proposed trade; changes nothing."""
    request = _canonical(request)
    account = account_get(user=user)
    loaded = state_load(account, prices=cached_prices())
    _, checks = _checks(loaded, request, snapshot(request.symbol))
    return {"allowed": risk.allowed(checks), "checks": [c.as_dict() for c in checks]}


def _canonical(request: TradeRequest) -> TradeRequest:
    return replace(request, symbol=symbol_resolve(request.symbol))


# ---------------------------------------------------------------------------- trades


def trade_open(*, user: AbstractBaseUser, request: TradeRequest) -> dict[str, Any]:
    """Open a trade after the safety check; returns the trade (or the pending entry order).

    Raises RiskCheckFailed / OrderRefused (422) or Conflict (409); nothing changes then.
    """
    request = _canonical(request)
    snap, prices = market_now(request.symbol)
    events: list = []
    rejected: list = []
    try:
        with account_locked(user, events, prices) as loaded:
            state = loaded.state
            opposite = [
                t
                for t in state.trades.values()
                if t.symbol == request.symbol
                and str(t.market) == request.market
                and str(t.direction) != request.direction
            ]
            if opposite and request.market == "futures":
                raise Conflict(
                    f"Trade {opposite[0].id} is an open {opposite[0].direction} on "
                    f"{request.symbol}; close it before opening a {request.direction}.",
                    code="open_trade_exists",
                    details={"trade_id": opposite[0].id},
                )
            resolved, checks = _checks(loaded, request, snap, dry_run=False)
            failed = [c for c in checks if not c.passed]
            if failed:
                raise RiskCheckFailed(
                    f"Refused by your risk settings: {failed[0].message}",
                    details={"rule": failed[0].rule, "checks": [c.as_dict() for c in checks]},
                )
            result = _open(state, request, resolved, snap)
            order = result.order
            if order is not None and order.status == core.OrderStatus.REJECTED:
                rejected.extend(result.events)
                raise OrderRefused(
                    order.reject_message or "The order was rejected.",
                    details={"rule": order.reject_reason},
                )
            result_write(loaded, result)
            events.extend(result.events)
    finally:
        if rejected:
            notify_after(user.pk, rejected)
    if result.trades:
        return _rendered(loaded, result.trades[max(result.trades)])
    return {"status": "pending", "order": order_dict(order_row(loaded.account, order))}


def _rendered(loaded: Loaded, trade: core.Trade) -> dict[str, Any]:
    """The API shape of a trade straight from the engine's state (no second load)."""
    liquidation = {}
    position = core.position_risk(loaded.state, paper_engine().rules, trade.symbol)
    if position is not None and position.liquidation_price > 0:
        liquidation[trade.symbol] = position.liquidation_price
    return trade_dict(trade_row(loaded.account, trade), loaded.state.prices, liquidation)


def result_write(loaded: Loaded, result: core.Result) -> None:
    """Write ``result`` back; the equity peak the drawdown rule measures from rides along."""
    loaded.account.peak_equity = max(loaded.account.peak_equity, equity_of(loaded.state))
    result_save(loaded, result)


def trade_close(
    *,
    user: AbstractBaseUser,
    number: int,
    quantity: Decimal | None = None,
    order_type: str = "market",
    price: Decimal | None = None,
) -> dict[str, Any]:
    """Close all or ``quantity`` of an open trade, at market or with a limit order."""
    row = _owned_trade(user, number)
    if row.status != Trade.Status.OPEN:
        raise Conflict(
            f"Trade {number} is {row.status}; only open trades can be closed.",
            code="trade_not_open",
        )
    snap = snapshot(row.symbol)
    events: list = []
    with account_locked(user, events) as loaded:
        try:
            result = paper_engine().close_trade(
                loaded.state,
                number,
                snap,
                quantity=quantity,
                order_type=core.OrderType.LIMIT if order_type == "limit" else core.OrderType.MARKET,
                price=price,
            )
        except core.EngineRefusal as exc:
            raise OrderRefused(exc.message, details={"rule": str(exc.rule)}) from exc
        if result.order is not None and result.order.status == core.OrderStatus.REJECTED:
            raise OrderRefused(
                result.order.reject_message, details={"rule": result.order.reject_reason}
            )
        result_write(loaded, result)
        events.extend(result.events)
    return trade_get(user=user, number=number)


def trade_update(
    *, user: AbstractBaseUser, number: int, changes: dict[str, Decimal | None]
) -> dict[str, Any]:
    """Change a trade's stop-loss / take-profit / trailing stop (None removes one)."""
    row = _owned_trade(user, number)
    if row.status != Trade.Status.OPEN:
        raise Conflict(
            f"Trade {number} is {row.status}; only open trades can be changed.",
            code="trade_not_open",
        )
    price = Decimal(price_get(row.symbol)["price"])
    events: list = []
    with account_locked(user, events) as loaded:
        kwargs = {
            k: changes.get(k, core.KEEP) for k in ("stop_loss", "take_profit", "trailing_stop_pct")
        }
        try:
            result = paper_engine().update_trade_protection(
                loaded.state, number, price=price, **kwargs
            )
        except core.EngineRefusal as exc:
            field_ = next((k for k in changes), "stop_loss")
            raise ApiError(exc.message, code="invalid", details={field_: [exc.message]}) from exc
        result_write(loaded, result)
    return trade_get(user=user, number=number)


def _owned_trade(user: AbstractBaseUser, number: int) -> Trade:
    row = Trade.objects.filter(account__user=user, number=number).first()
    if row is None:
        raise NotFound(f"You have no trade {number}.")
    return row


# ---------------------------------------------------------------------------- reset


def balance_reset(
    *, user: AbstractBaseUser, initial_balance: Decimal | None = None
) -> dict[str, Any]:
    """Close every position and order, and start over at ``initial_balance``."""
    events: list = []
    with account_locked(user, events) as loaded:
        amount = initial_balance if initial_balance is not None else loaded.account.initial_balance
        result = paper_engine().reset(loaded.state, amount, now_ms())
        result_write(loaded, result)
        Order.objects.filter(account=loaded.account, status__in=Order.OPEN_STATUSES).update(
            status=Order.Status.CANCELED
        )
        Account.objects.filter(pk=loaded.account.pk).update(
            initial_balance=amount, peak_equity=amount
        )
        loaded.account.initial_balance = amount
        events.extend(result.events)
    return balance_get(user=user)


# ---------------------------------------------------------------------------- ticks


def ticks_process(*, symbols: list[str]) -> int:
    """Run resting orders, stops, trailing stops, liquidation and funding for every account
    with something open in ``symbols``, at the last polled price. Idempotent: the engine
    ignores a snapshot it has already processed. Returns how many accounts were touched."""
    snaps = {}
    for symbol in symbols:
        try:
            snaps[symbol] = snapshot(symbol)
        except ApiError:
            continue
    if not snaps:
        return 0
    names = list(snaps)
    account_ids = (
        set(
            Order.objects.filter(symbol__in=names, status__in=Order.OPEN_STATUSES).values_list(
                "account_id", flat=True
            )
        )
        | set(Position.objects.filter(symbol__in=names).values_list("account_id", flat=True))
        | set(
            Trade.objects.filter(symbol__in=names, status=Trade.Status.OPEN).values_list(
                "account_id", flat=True
            )
        )
    )
    rate = Decimal(settings.FUNDING_RATE)
    prices = cached_prices()
    owners = Account.objects.filter(pk__in=account_ids).order_by("pk")  # one lock order
    for user_id in owners.values_list("user_id", flat=True):
        events: list = []
        with transaction.atomic():
            loaded = _lock_and_load(user_id, prices)
            if loaded is None:  # deleted meanwhile
                continue
            for symbol, snap in snaps.items():
                result = paper_engine().on_price(loaded.state, snap)
                position = loaded.state.positions.get(symbol)
                if position is not None:
                    # From this position's opening on, never an earlier position's instants.
                    last = max(loaded.state.funding_ms.get(symbol) or 0, position.opened_ms)
                    for instant in core.funding_due(last, snap.time_ms):
                        funded = paper_engine().apply_funding(
                            loaded.state, symbol, rate, snap.price, instant
                        )
                        result_write(loaded, funded)
                if result.changed:
                    result_write(loaded, result)
                    events.extend(result.events)
            transaction.on_commit(lambda uid=user_id, ev=list(events): notify_after(uid, ev))
    return len(account_ids)
