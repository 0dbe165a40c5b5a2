"""The ORM shell of the paper engine: AccountState from rows, and back.

Callers hold the Account row lock (``select_for_update``) for the whole load → engine →
save cycle, inside one transaction, so concurrent requests on one account run one after
the other and never overdraw or double-fill. Only what the engine's Result lists is
written back (plus balances whose locks moved).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from trading import engine as core
from trading.models import (
    Account,
    Balance,
    Fill,
    LedgerEntry,
    Order,
    Position,
    SymbolSetting,
    Trade,
)
from trading.services.paper_sql import Writes

ZERO = Decimal("0")


def to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(moment: datetime | str | None) -> int | None:
    """Epoch ms of a datetime, or of an ISO-8601 string (rows read as JSON)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return int(moment.timestamp() * 1000)


@dataclass
class Loaded:
    """An account's state plus what was read, so saving can tell what changed.

    The fast PostgreSQL load also brings what the safety check needs (``risk`` and the
    latest closed trades' net PnL), so the check reads nothing more.
    """

    account: Account
    state: core.AccountState
    balances: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    risk: dict[str, Any] | None = None
    recent_net: list[tuple[Decimal, int]] | None = None


def state_load(account: Account, *, prices: dict[str, Decimal] | None = None) -> Loaded:
    """Build the engine's AccountState from the account's rows (open orders and trades only).

    ``prices``: last prices to seed marks with (the price cache), so cross-margin values are
    current even for symbols this call does not touch.
    """
    state = core.AccountState(
        next_order_id=account.next_order_id,
        next_trade_id=account.next_trade_id,
        next_fill_id=account.next_fill_id,
        funding_ms={k: int(v) for k, v in (account.funding_ms or {}).items()},
    )
    loaded = Loaded(account, state)
    _fill_state(
        loaded,
        balances=Balance.objects.filter(account=account).values("asset", "amount", "locked"),
        settings=SymbolSetting.objects.filter(account=account).values(
            "symbol", "leverage", "margin_type"
        ),
        positions=Position.objects.filter(account=account).values(),
        orders=Order.objects.filter(account=account, status__in=Order.OPEN_STATUSES).values(),
        trades=Trade.objects.filter(account=account, status=Trade.Status.OPEN).values(),
    )
    for symbol, price in (prices or {}).items():
        state.prices[symbol] = price
        state.marks[symbol] = price
    return loaded


def _fill_state(loaded: Loaded, *, balances, settings, positions, orders, trades) -> None:
    """Put rows (dicts, from the ORM or from JSON) into the engine's AccountState."""
    state = loaded.state
    for r in balances:
        amount, locked = _dec(r["amount"]), _dec(r["locked"])
        state.balances[r["asset"]] = amount
        if locked:
            state.locked[r["asset"]] = locked
        loaded.balances[r["asset"]] = (amount, locked)
    for r in settings:
        state.settings[r["symbol"]] = core.SymbolSettings(
            leverage=r["leverage"], margin_type=core.MarginType(r["margin_type"])
        )
    for r in positions:
        state.positions[r["symbol"]] = core.Position(
            symbol=r["symbol"],
            quantity=_dec(r["quantity"]),
            entry_price=_dec(r["entry_price"]),
            leverage=r["leverage"],
            margin_type=core.MarginType(r["margin_type"]),
            isolated_wallet=_dec(r["isolated_wallet"]),
            opened_ms=to_ms(r["opened_at"]),
            updated_ms=to_ms(r["updated_at"]),
            realized_pnl=_dec(r["realized_pnl"]),
            trade_id=r["trade_number"],
        )
    for r in orders:
        state.orders[r["number"]] = _order_from_row(r)
    for r in trades:
        state.trades[r["number"]] = _trade_from_row(r)


def _order_from_row(row: dict[str, Any]) -> core.Order:
    protection = None
    if row["protection"]:
        protection = core.Protection(
            *(
                _dec(row["protection"].get(k))
                for k in ("stop_loss", "take_profit", "trailing_stop_pct")
            )
        )
    return core.Order(
        id=row["number"],
        symbol=row["symbol"],
        market=core.Market(row["market"]),
        side=core.Side(row["side"]),
        type=core.OrderType(row["type"]),
        quantity=row["quantity"],
        price=row["price"],
        stop_price=row["stop_price"],
        time_in_force=core.TimeInForce(row["time_in_force"]),
        reduce_only=row["reduce_only"],
        close_position=row["close_position"],
        client_order_id=row["client_order_id"],
        status=core.OrderStatus(row["status"]),
        created_ms=to_ms(row["created_at"]),
        updated_ms=to_ms(row["updated_at"]),
        quote_quantity=row["quote_quantity"],
        working_type=core.WorkingType(row["working_type"]),
        leverage=row["leverage"],
        source=core.Source(row["source"]),
        strategy=row["strategy"],
        opens_trade=row["opens_trade"],
        protection=protection,
        executed_qty=row["executed_qty"],
        cum_quote=row["cum_quote"],
        avg_price=row["avg_price"],
        reject_reason=row["reject_reason"],
        reject_message=row["reject_message"],
        reserved=row["reserved"],
        reserved_asset=row["reserved_asset"],
        trade_id=row["trade_number"],
        close_reason=core.CloseReason(row["close_reason"]) if row["close_reason"] else None,
    )


def _trade_from_row(row: dict[str, Any]) -> core.Trade:
    return core.Trade(
        id=row["number"],
        symbol=row["symbol"],
        market=core.Market(row["market"]),
        direction=core.Direction(row["direction"]),
        quantity=row["quantity"],
        entry_price=row["entry_price"],
        opened_ms=to_ms(row["opened_at"]),
        source=core.Source(row["source"]),
        strategy=row["strategy"],
        status=core.TradeStatus(row["status"]),
        entered_qty=row["entered_qty"],
        exited_qty=row["exited_qty"],
        exit_price=row["exit_price"] or ZERO,
        closed_ms=to_ms(row["closed_at"]),
        close_reason=core.CloseReason(row["close_reason"]) if row["close_reason"] else None,
        stop_loss=row["stop_loss"],
        take_profit=row["take_profit"],
        trailing_stop_pct=row["trailing_stop_pct"],
        watermark=row["watermark"],
        fees=row["fees"],
        realized_pnl=row["realized_pnl"],
        funding=row["funding"],
        leverage=row["leverage"],
        margin_type=core.MarginType(row["margin_type"]) if row["margin_type"] else None,
    )


def _dec(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def result_save(loaded: Loaded, result: core.Result) -> None:
    """Write back what ``result`` changed; the caller's transaction and lock are still held.

    The statements are built directly from the engine's records (no ORM, no model
    instances; trading/services/paper_sql.py) and, on PostgreSQL, sent as one statement:
    one network round trip for all of an order's writes.
    """
    account, state = loaded.account, loaded.state
    writes = Writes(account.pk)
    balances = _changed_balances(loaded)
    if balances:
        writes.upsert(Balance, balances, ("account", "asset"), ("amount", "locked"))
    if result.ledger:
        writes.insert(LedgerEntry, [_ledger_values(e) for e in result.ledger])
    orders = [order_values(o) for o in result.orders.values() if o.id > 0]
    if orders:
        writes.upsert(Order, orders, ("account", "number"), _ORDER_UPDATE_FIELDS)
    if result.trades:
        trades = [trade_values(t) for t in result.trades.values()]
        writes.upsert(Trade, trades, ("account", "number"), _TRADE_UPDATE_FIELDS)
    if result.fills:
        writes.insert(Fill, [fill_values(f) for f in result.fills])
    gone = [s for s in result.positions if s not in state.positions]
    if gone:
        writes.add(
            f"DELETE FROM {Position._meta.db_table} WHERE account_id = %s AND symbol IN "
            f"({', '.join(['%s'] * len(gone))})",
            [account.pk, *gone],
        )
    present = [
        _position_values(state.positions[s]) for s in result.positions if s in state.positions
    ]
    if present:
        writes.upsert(Position, present, ("account", "symbol"), _POSITION_UPDATE_FIELDS)
    if result.settings:
        settings_rows = [
            {
                "symbol": symbol,
                "leverage": state.settings[symbol].leverage,
                "margin_type": str(state.settings[symbol].margin_type),
            }
            for symbol in result.settings
        ]
        writes.upsert(
            SymbolSetting, settings_rows, ("account", "symbol"), ("leverage", "margin_type")
        )
    account.next_order_id = state.next_order_id
    account.next_trade_id = state.next_trade_id
    account.next_fill_id = state.next_fill_id
    account.funding_ms = dict(state.funding_ms)
    _count_flow(account, result.ledger)
    writes.add(
        f"UPDATE {Account._meta.db_table} SET next_order_id = %s, next_trade_id = %s, "
        "next_fill_id = %s, funding_ms = %s, peak_equity = %s, flow_day = %s, flow_today = %s, "
        "updated_at = %s WHERE id = %s",
        [
            account.next_order_id,
            account.next_trade_id,
            account.next_fill_id,
            Account._meta.get_field("funding_ms").get_db_prep_save(account.funding_ms, connection),
            account.peak_equity,
            account.flow_day,
            account.flow_today,
            datetime.now(UTC),
            account.pk,
        ],
    )
    writes.flush()
    loaded.balances.update({b["asset"]: (b["amount"], b["locked"]) for b in balances})


NOT_FLOW = frozenset({str(core.LedgerKind.DEPOSIT), str(core.LedgerKind.RESET)})


def _count_flow(account: Account, entries: list[core.LedgerEntry]) -> None:
    """Add this write's USDT flow (fees, PnL, funding, spot cash) to today's running sum."""
    today = datetime.now(UTC).date()
    if account.flow_day != today:
        account.flow_day, account.flow_today = today, ZERO
    for entry in entries:
        if entry.asset == "USDT" and str(entry.kind) not in NOT_FLOW:
            account.flow_today += entry.amount


def flow_today(account: Account) -> Decimal:
    """Today's USDT flow apart from deposits and resets (the daily-loss rule's input)."""
    return account.flow_today if account.flow_day == datetime.now(UTC).date() else ZERO


def _changed_balances(loaded: Loaded) -> list[dict[str, Any]]:
    state = loaded.state
    changed = []
    for asset in set(state.balances) | set(state.locked) | set(loaded.balances):
        now = (state.balances.get(asset, ZERO), state.locked.get(asset, ZERO))
        if loaded.balances.get(asset) != now:
            changed.append({"asset": asset, "amount": now[0], "locked": now[1]})
    return changed


def _ledger_values(e: core.LedgerEntry) -> dict[str, Any]:
    return {
        "asset": e.asset,
        "amount": e.amount,
        "kind": str(e.kind),
        "symbol": e.symbol,
        "order_number": e.order_id,
        "trade_number": e.trade_id,
        "time": to_dt(e.time_ms),
    }


def _position_values(p: core.Position) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "quantity": p.quantity,
        "entry_price": p.entry_price,
        "leverage": p.leverage,
        "margin_type": str(p.margin_type),
        "isolated_wallet": p.isolated_wallet,
        "realized_pnl": p.realized_pnl,
        "trade_number": p.trade_id,
        "opened_at": to_dt(p.opened_ms),
        "updated_at": to_dt(p.updated_ms),
    }


_POSITION_UPDATE_FIELDS = (
    "quantity",
    "entry_price",
    "leverage",
    "margin_type",
    "isolated_wallet",
    "realized_pnl",
    "trade_number",
    "opened_at",
    "updated_at",
)


_ORDER_UPDATE_FIELDS = (
    "status",
    "executed_qty",
    "cum_quote",
    "avg_price",
    "reserved",
    "reserved_asset",
    "reject_reason",
    "reject_message",
    "trade_number",
    "close_reason",
    "updated_at",
    "quantity",
    "protection",
)
_TRADE_UPDATE_FIELDS = (
    "status",
    "quantity",
    "entered_qty",
    "exited_qty",
    "entry_price",
    "exit_price",
    "leverage",
    "margin_type",
    "stop_loss",
    "take_profit",
    "trailing_stop_pct",
    "watermark",
    "fees",
    "realized_pnl",
    "funding",
    "close_reason",
    "closed_at",
)


def order_values(o: core.Order) -> dict[str, Any]:
    """An Order row's column values (by attname), apart from the account."""
    protection = None
    if o.protection is not None:
        protection = {
            k: (None if v is None else str(v))
            for k, v in (
                ("stop_loss", o.protection.stop_loss),
                ("take_profit", o.protection.take_profit),
                ("trailing_stop_pct", o.protection.trailing_stop_pct),
            )
        }
    return {
        "number": o.id,
        "symbol": o.symbol,
        "market": str(o.market),
        "side": str(o.side),
        "type": str(o.type),
        "status": str(o.status),
        "quantity": o.quantity,
        "quote_quantity": o.quote_quantity,
        "price": o.price,
        "stop_price": o.stop_price,
        "time_in_force": str(o.time_in_force),
        "reduce_only": o.reduce_only,
        "close_position": o.close_position,
        "working_type": str(o.working_type),
        "client_order_id": o.client_order_id,
        "leverage": o.leverage,
        "source": str(o.source),
        "strategy": o.strategy,
        "opens_trade": o.opens_trade,
        "protection": protection,
        "executed_qty": o.executed_qty,
        "cum_quote": o.cum_quote,
        "avg_price": o.avg_price,
        "reserved": o.reserved,
        "reserved_asset": o.reserved_asset,
        "reject_reason": o.reject_reason,
        "reject_message": o.reject_message[:300],
        "trade_number": o.trade_id,
        "close_reason": str(o.close_reason) if o.close_reason else "",
        "created_at": to_dt(o.created_ms),
        "updated_at": to_dt(o.updated_ms),
    }


def order_row(account: Account, o: core.Order) -> Order:
    """The order as an (unsaved) model instance, for rendering."""
    return Order(account=account, **order_values(o))


def trade_values(t: core.Trade) -> dict[str, Any]:
    """A Trade row's column values (by attname), apart from the account."""
    return {
        "number": t.id,
        "symbol": t.symbol,
        "market": str(t.market),
        "direction": str(t.direction),
        "status": str(t.status),
        "quantity": t.quantity,
        "entered_qty": t.entered_qty,
        "exited_qty": t.exited_qty,
        "entry_price": t.entry_price,
        "exit_price": t.exit_price or None,
        "leverage": t.leverage,
        "margin_type": str(t.margin_type) if t.margin_type else "",
        "stop_loss": t.stop_loss,
        "take_profit": t.take_profit,
        "trailing_stop_pct": t.trailing_stop_pct,
        "watermark": t.watermark,
        "fees": t.fees,
        "realized_pnl": t.realized_pnl,
        "funding": t.funding,
        "close_reason": str(t.close_reason) if t.close_reason else "",
        "source": str(t.source),
        "strategy": t.strategy,
        "opened_at": to_dt(t.opened_ms),
        "closed_at": to_dt(t.closed_ms),
    }


def trade_row(account: Account, t: core.Trade) -> Trade:
    """The trade as an (unsaved) model instance, for rendering."""
    return Trade(account=account, **trade_values(t))


def fill_values(f: core.Fill) -> dict[str, Any]:
    """A Fill row's column values (by attname), apart from the account."""
    return {
        "number": f.id,
        "order_number": f.order_id,
        "trade_number": f.trade_id,
        "symbol": f.symbol,
        "market": str(f.market),
        "side": str(f.side),
        "price": f.price,
        "qty": f.qty,
        "quote_qty": f.quote_qty,
        "fee": f.fee,
        "fee_asset": f.fee_asset,
        "maker": f.maker,
        "realized_pnl": f.realized_pnl,
        "time": to_dt(f.time_ms),
    }


def fill_row(account: Account, f: core.Fill) -> Fill:
    """The fill as an (unsaved) model instance, for rendering."""
    return Fill(account=account, **fill_values(f))


# Two statements instead of nine: on PostgreSQL the account row is locked first, then
# everything the engine and the safety check need comes back as JSON in one statement.
# They must stay two: under READ COMMITTED a statement reads from the snapshot taken when it
# started, so a load that waited for the lock inside the same statement would see the
# balances from before the previous holder's commit and spend them twice.
_LOCK_SQL = "SELECT id FROM trading_account WHERE user_id = %s FOR UPDATE"
_LOAD_SQL = """
SELECT row_to_json(a)::text,
  (SELECT coalesce(json_agg(b), '[]') FROM trading_balance b WHERE b.account_id = a.id)::text,
  (SELECT coalesce(json_agg(s), '[]') FROM trading_symbolsetting s
     WHERE s.account_id = a.id)::text,
  (SELECT coalesce(json_agg(p), '[]') FROM trading_position p WHERE p.account_id = a.id)::text,
  (SELECT coalesce(json_agg(o), '[]') FROM trading_order o
     WHERE o.account_id = a.id AND o.status IN ('NEW', 'PARTIALLY_FILLED'))::text,
  (SELECT coalesce(json_agg(t), '[]') FROM trading_trade t
     WHERE t.account_id = a.id AND t.status = 'open')::text,
  (SELECT row_to_json(r) FROM trading_risksettings r WHERE r.account_id = a.id)::text,
  (SELECT coalesce(json_agg(json_build_object(
       'net', (c.realized_pnl - c.fees + c.funding)::text, 'closed', c.closed_at)), '[]')
     FROM (SELECT * FROM trading_trade t2
           WHERE t2.account_id = a.id AND t2.status IN ('closed', 'liquidated')
           ORDER BY t2.closed_at DESC LIMIT 50) c)::text
FROM trading_account a
WHERE a.id = %s
"""


# One decoder for every load: json.loads with arguments builds a new decoder per call.
_decode = json.JSONDecoder(parse_float=Decimal).decode


def _json(text: str | None) -> Any:
    return None if text is None else _decode(text)


def locked_load(user_id: int, *, prices: dict[str, Decimal] | None = None) -> Loaded | None:
    """PostgreSQL: lock the user's account, then load its state in one more statement.

    None when the user has no account yet, or on other databases (callers then use the
    ORM path: ``select_for_update`` + ``state_load``, which gives the same state).
    """
    if connection.vendor != "postgresql":
        return None
    # psycopg's own cursor (Django's error types kept): Django's cursor wrapper is pure
    # overhead on a path this hot.
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [user_id])
        locked = cursor.fetchone()
        if locked is None:
            return None
        cursor.execute(_LOAD_SQL, [locked[0]])
        row = cursor.fetchone()
    account_row = _json(row[0])
    account = Account(
        id=account_row["id"],
        user_id=account_row["user_id"],
        currency=account_row["currency"],
        initial_balance=account_row["initial_balance"],
        next_order_id=account_row["next_order_id"],
        next_trade_id=account_row["next_trade_id"],
        next_fill_id=account_row["next_fill_id"],
        funding_ms=account_row["funding_ms"] or {},
        peak_equity=account_row["peak_equity"],
        flow_day=account_row["flow_day"] and date.fromisoformat(account_row["flow_day"]),
        flow_today=account_row["flow_today"],
    )
    account._state.adding = False
    state = core.AccountState(
        next_order_id=account.next_order_id,
        next_trade_id=account.next_trade_id,
        next_fill_id=account.next_fill_id,
        funding_ms={k: int(v) for k, v in account.funding_ms.items()},
    )
    loaded = Loaded(
        account,
        state,
        risk=_json(row[6]),
        recent_net=[(Decimal(r["net"]), to_ms(r["closed"])) for r in _json(row[7])],
    )
    _fill_state(
        loaded,
        balances=_json(row[1]),
        settings=_json(row[2]),
        positions=_json(row[3]),
        orders=_json(row[4]),
        trades=_json(row[5]),
    )
    for symbol, price in (prices or {}).items():
        state.prices[symbol] = price
        state.marks[symbol] = price
    return loaded
