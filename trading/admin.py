"""Admin for the market catalogue and candles."""

from django.contrib import admin, messages

from cryptobot.api.errors import ApiError
from trading.models import (
    Account,
    Balance,
    Candle,
    Fill,
    LedgerEntry,
    Order,
    Position,
    ReplayClock,
    RiskSettings,
    Symbol,
    SymbolSetting,
    Trade,
)
from trading.services import paper
from trading.services.markets import watched_symbols_changed


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "base",
        "quote",
        "tick_size",
        "step_size",
        "min_notional",
        "max_leverage",
        "status",
        "spot",
        "futures",
        "watched",
    )
    list_editable = ("watched",)
    list_filter = ("status", "spot", "futures", "watched", "quote")
    search_fields = ("symbol", "base", "quote")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        watched_symbols_changed()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        watched_symbols_changed()


@admin.register(Candle)
class CandleAdmin(admin.ModelAdmin):
    list_display = ("symbol", "timeframe", "open_time", "open", "high", "low", "close", "volume")
    list_filter = ("timeframe", "symbol")
    search_fields = ("symbol__symbol",)
    date_hierarchy = "open_time"
    list_select_related = ("symbol",)
    show_full_result_count = False


@admin.register(ReplayClock)
class ReplayClockAdmin(admin.ModelAdmin):
    list_display = ("name", "origin", "wall_anchor", "replay_anchor", "speed")
    readonly_fields = ("origin",)


# --- paper trading ------------------------------------------------------------------


class _ReadOnlyMoney(admin.ModelAdmin):
    """Balances, orders, fills, positions and ledger change only through the engine: admin
    shows them, and its actions call the services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class BalanceInline(admin.TabularInline):
    model = Balance
    extra = 0
    can_delete = False
    readonly_fields = ("asset", "amount", "locked")


@admin.register(Balance)
class BalanceAdmin(_ReadOnlyMoney):
    list_display = ("account", "asset", "amount", "locked")
    list_filter = ("asset",)
    search_fields = ("account__user__username",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("user", "currency", "initial_balance", "peak_equity", "created_at")
    search_fields = ("user__username", "user__email")
    readonly_fields = (
        "user",
        "initial_balance",
        "peak_equity",
        "next_order_id",
        "next_trade_id",
        "next_fill_id",
        "funding_ms",
        "created_at",
        "updated_at",
    )
    inlines = [BalanceInline]
    actions = ["reset_accounts"]

    @admin.action(description="Reset the selected accounts to their initial balance")
    def reset_accounts(self, request, queryset) -> None:
        for account in queryset.select_related("user"):
            paper.balance_reset(user=account.user)
        self.message_user(request, f"Reset {queryset.count()} account(s).", messages.SUCCESS)


@admin.register(Trade)
class TradeAdmin(_ReadOnlyMoney):
    list_display = (
        "number",
        "account",
        "symbol",
        "market",
        "direction",
        "status",
        "quantity",
        "entry_price",
        "exit_price",
        "realized_pnl",
        "fees",
        "source",
        "opened_at",
        "closed_at",
    )
    list_filter = ("status", "market", "direction", "source", "symbol", "close_reason")
    search_fields = ("account__user__username", "symbol", "strategy")
    date_hierarchy = "opened_at"
    list_select_related = ("account__user",)
    actions = ["close_trades"]

    @admin.action(description="Close the selected open trades at market")
    def close_trades(self, request, queryset) -> None:
        closed = 0
        for trade in queryset.filter(status=Trade.Status.OPEN).select_related("account__user"):
            try:
                paper.trade_close(user=trade.account.user, number=trade.number)
                closed += 1
            except ApiError as exc:
                self.message_user(request, f"Trade {trade.number}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Closed {closed} trade(s).", messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(_ReadOnlyMoney):
    list_display = (
        "number",
        "account",
        "symbol",
        "market",
        "side",
        "type",
        "status",
        "quantity",
        "price",
        "executed_qty",
        "avg_price",
        "client_order_id",
        "created_at",
    )
    list_filter = ("status", "market", "type", "side", "symbol")
    search_fields = ("account__user__username", "client_order_id", "symbol")
    list_select_related = ("account__user",)


@admin.register(Fill)
class FillAdmin(_ReadOnlyMoney):
    list_display = (
        "number",
        "account",
        "symbol",
        "side",
        "price",
        "qty",
        "fee",
        "fee_asset",
        "maker",
        "realized_pnl",
        "time",
    )
    list_filter = ("market", "maker", "symbol")
    search_fields = ("account__user__username", "symbol")
    list_select_related = ("account__user",)


@admin.register(Position)
class PositionAdmin(_ReadOnlyMoney):
    list_display = (
        "account",
        "symbol",
        "quantity",
        "entry_price",
        "leverage",
        "margin_type",
        "isolated_wallet",
        "updated_at",
    )
    list_filter = ("margin_type", "symbol")
    search_fields = ("account__user__username", "symbol")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnlyMoney):
    list_display = (
        "account",
        "time",
        "asset",
        "amount",
        "kind",
        "symbol",
        "order_number",
        "trade_number",
    )
    list_filter = ("kind", "asset")
    search_fields = ("account__user__username", "symbol")
    date_hierarchy = "time"


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "max_leverage",
        "max_position_pct",
        "max_open_trades",
        "max_daily_loss_pct",
        "stop_loss_required",
        "updated_at",
    )
    search_fields = ("account__user__username",)


@admin.register(SymbolSetting)
class SymbolSettingAdmin(_ReadOnlyMoney):
    list_display = ("account", "symbol", "leverage", "margin_type")
    list_filter = ("margin_type", "symbol")


# API keys (whose secret must never reach a page), auto-trading and backtests have their
# own admin modules.
from trading import admin_api_keys, admin_auto_trading, admin_backtests  # noqa: E402, F401
