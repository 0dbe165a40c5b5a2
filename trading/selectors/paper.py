"""Reads of paper accounts: balances, trades, analytics and risk settings, as the API
shows them (money and quantities as decimal strings, times as ISO-8601)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from cryptobot.api.errors import NotFound
from cryptobot.lib.decimal import dec_str, dec_str_or_none
from trading import analytics, risk
from trading import engine as core
from trading.models import Account, Order, RiskSettings, Trade
from trading.selectors import parse_time
from trading.services.markets import symbol_resolve
from trading.services.paper_account import (
    account_get,
    cached_prices,
    equity_of,
    now_ms,
    paper_engine,
)
from trading.services.paper_state import state_load

ZERO = Decimal("0")


def balance_get(*, user: AbstractBaseUser) -> dict[str, Any]:
    """What GET /virtual_balance shows (no lock: a consistent read of committed rows)."""
    account = account_get(user=user)
    loaded = state_load(account, prices=cached_prices())
    return _balance_view(account, loaded.state)


def _balance_view(account: Account, state: core.AccountState) -> dict[str, Any]:
    summary = core.account_summary(state, paper_engine().rules)
    assets, spot_value = [], ZERO
    for asset, amount in sorted(state.balances.items()):
        if asset == "USDT" or (amount == 0 and not state.locked.get(asset)):
            continue
        price = state.prices.get(f"{asset}USDT")
        value = (amount * price).quantize(Decimal("0.01")) if price is not None else None
        spot_value += value or ZERO
        assets.append(
            {
                "asset": asset,
                "free": dec_str(amount - state.locked.get(asset, ZERO)),
                "locked": dec_str(state.locked.get(asset, ZERO)),
                "value_usdt": dec_str_or_none(value),
            }
        )
    equity = summary.margin_balance + spot_value
    return {
        "currency": account.currency,
        "balance": _money(summary.wallet_balance),
        "equity": _money(equity),
        "available": _money(summary.available_balance),
        "margin_used": _money(summary.position_initial_margin + summary.open_order_initial_margin),
        "unrealized_pnl": _money(summary.unrealized_pnl),
        "initial_balance": _money(account.initial_balance),
        "assets": assets,
    }


def _money(value: Decimal) -> str:
    return dec_str(value)


def trade_get(*, user: AbstractBaseUser, number: int, detail: bool = False) -> dict[str, Any]:
    """One trade as the API shows it, with live unrealized PnL and liquidation price."""
    row = Trade.objects.filter(account__user=user, number=number).first()
    if row is None:
        raise NotFound(f"You have no trade {number}.")
    out = trade_dict(row, cached_prices(), liquidation_prices(row.account_id))
    if detail:
        fills = list(row.account.fills.filter(trade_number=number).order_by("number"))
        orders = Order.objects.filter(account_id=row.account_id).filter(
            Q(trade_number=number) | Q(number__in=[f.order_number for f in fills])
        )
        out["orders"] = [order_dict(o) for o in orders.order_by("number")]
        out["fills"] = [
            {
                "id": f.number,
                "order_id": f.order_number,
                "side": f.side,
                "price": dec_str(f.price),
                "qty": dec_str(f.qty),
                "quote_qty": dec_str(f.quote_qty),
                "fee": dec_str(f.fee),
                "fee_asset": f.fee_asset,
                "maker": f.maker,
                "realized_pnl": dec_str(f.realized_pnl),
                "time": _iso(f.time),
            }
            for f in fills
        ]
    return out


def liquidation_prices(account_id: int) -> dict[str, Decimal]:
    account = Account.objects.get(pk=account_id)
    loaded = state_load(account, prices=cached_prices())
    out = {}
    for symbol in loaded.state.positions:
        risk_ = core.position_risk(loaded.state, paper_engine().rules, symbol)
        if risk_ is not None and risk_.liquidation_price > 0:
            out[symbol] = risk_.liquidation_price
    return out


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _opt(value: Decimal | None) -> str | None:
    return dec_str_or_none(value)


def trade_dict(
    row: Trade, prices: dict[str, Decimal], liquidation: dict[str, Decimal]
) -> dict[str, Any]:
    """The API shape of a trade (docs/API.md)."""
    unrealized = None
    if row.status == Trade.Status.OPEN and row.symbol in prices:
        side = 1 if row.direction == Trade.Direction.LONG else -1
        unrealized = ((prices[row.symbol] - row.entry_price) * row.quantity * side).quantize(
            Decimal("0.00000001")
        )
    return {
        "id": row.number,
        "symbol": row.symbol,
        "market": row.market,
        "direction": row.direction,
        "status": row.status,
        # Open: what is held now; closed: what was held (a closed trade holds nothing).
        "quantity": dec_str(row.quantity if row.status == Trade.Status.OPEN else row.entered_qty),
        "entered_qty": dec_str(row.entered_qty),
        "exited_qty": dec_str(row.exited_qty),
        "entry_price": dec_str(row.entry_price),
        "exit_price": _opt(row.exit_price),
        "leverage": row.leverage,
        "margin_type": {"CROSSED": "cross", "ISOLATED": "isolated"}.get(row.margin_type),
        "stop_loss": _opt(row.stop_loss),
        "take_profit": _opt(row.take_profit),
        "trailing_stop_pct": _opt(row.trailing_stop_pct),
        "liquidation_price": _opt(liquidation.get(row.symbol))
        if row.status == Trade.Status.OPEN and row.market == "futures"
        else None,
        "fees": dec_str(row.fees),
        "funding": dec_str(row.funding),
        "realized_pnl": dec_str(row.realized_pnl),
        "net_pnl": dec_str(row.realized_pnl - row.fees + row.funding),
        "unrealized_pnl": _opt(unrealized),
        "opened_at": _iso(row.opened_at),
        "closed_at": _iso(row.closed_at),
        "close_reason": row.close_reason or None,
        "source": row.source,
        "strategy": row.strategy,
    }


def order_dict(row: Order) -> dict[str, Any]:
    return {
        "id": row.number,
        "symbol": row.symbol,
        "market": row.market,
        "side": row.side,
        "type": row.type,
        "status": row.status,
        "quantity": dec_str(row.quantity),
        "price": _opt(row.price),
        "stop_price": _opt(row.stop_price),
        "executed_qty": dec_str(row.executed_qty),
        "avg_price": dec_str(row.avg_price),
        "client_order_id": row.client_order_id,
        "trade_id": row.trade_number,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def trade_list(*, user: AbstractBaseUser, filters: dict[str, Any]):
    """The user's trades matching the filters (a queryset to paginate) and a function that
    renders a page of them."""
    rows = Trade.objects.filter(account__user=user)
    for name in ("status", "direction", "source", "market"):
        if filters.get(name):
            rows = rows.filter(**{name: filters[name]})
    if filters.get("symbol"):
        rows = rows.filter(symbol=symbol_resolve(filters["symbol"]))
    if filters.get("since"):
        rows = rows.filter(opened_at__gte=parse_time("since", filters["since"]))
    if filters.get("until"):
        rows = rows.filter(opened_at__lte=parse_time("until", filters["until"]))
    rows = rows.order_by(filters.get("ordering", "-opened_at"), "-number")

    def render(page: list[Trade]) -> list[dict[str, Any]]:
        prices = cached_prices()
        liquidation = liquidation_prices(account_get(user=user).pk)
        return [trade_dict(row, prices, liquidation) for row in page]

    return rows, render


def risk_settings_get(*, user: AbstractBaseUser) -> dict[str, Any]:
    """The user's risk limits (decimals as strings)."""
    row, _ = RiskSettings.objects.get_or_create(account=account_get(user=user))
    return risk_limits_of(row).as_dict()


def risk_limits_of(row: RiskSettings) -> risk.RiskLimits:
    """The stored settings as the pure risk module's limits."""
    values = {name: getattr(row, name) for name in risk.FIELDS}
    values["allowed_symbols"] = tuple(values["allowed_symbols"] or ())
    return risk.RiskLimits(**values)


def trade_analytics(*, user: AbstractBaseUser) -> dict[str, Any]:
    """GET /trades/analytics: statistics of closed trades, ratios of the equity curve."""
    account = account_get(user=user)
    loaded = state_load(account, prices=cached_prices())
    closed = [
        analytics.ClosedTrade(
            symbol=t.symbol,
            direction=t.direction,
            realized_pnl=t.realized_pnl - t.fees + t.funding,
            fees=t.fees,
            opened_ms=int(t.opened_at.timestamp() * 1000),
            closed_ms=int(t.closed_at.timestamp() * 1000),
        )
        for t in Trade.objects.filter(
            account=account, status__in=[Trade.Status.CLOSED, Trade.Status.LIQUIDATED]
        )
        .exclude(close_reason="reset")
        .order_by("closed_at")
        if t.closed_at is not None
    ]
    summary = core.account_summary(loaded.state, paper_engine().rules)
    # The curve starts at the last reset (or the opening deposit) at the initial balance.
    entries = account.ledger.filter(asset="USDT").order_by("id")
    last_start = entries.filter(kind__in=["deposit", "reset"]).order_by("-id").first()
    if last_start is not None:
        entries = entries.filter(id__gt=last_start.id)
    ledger = [(int(e.time.timestamp() * 1000), e.amount) for e in entries]
    args = (account.initial_balance, ledger, summary.unrealized_pnl, now_ms())
    curve = analytics.equity_curve(*args)
    stats = analytics.trade_stats(closed)
    ratios = analytics.equity_stats(analytics.equity_points(*args))
    return _jsonable(
        {
            **stats,
            "total_pnl": stats["realized_pnl"] + summary.unrealized_pnl,
            "unrealized_pnl": summary.unrealized_pnl,
            "max_drawdown_pct": ratios.get("max_drawdown_pct"),
            "sharpe": ratios.get("sharpe"),
            "sortino": ratios.get("sortino"),
            "equity_curve": curve,
            "equity": equity_of(loaded.state),
        }
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return dec_str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
