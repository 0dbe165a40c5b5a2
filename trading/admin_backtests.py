"""Admin for backtests and sweeps (imported by trading/admin.py).

Runs are read-only here: they are made by the API, the dashboard or the "re-run" action,
which calls the service (the inputs are validated again and the run goes to Celery).
Results (trades, equity curve) are JSON too large for a form and are not shown.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from cryptobot.api.errors import ApiError
from trading.models import Backtest, BacktestSweep
from trading.services.backtests import backtest_rerun


@admin.register(Backtest)
class BacktestAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "strategy",
        "symbol",
        "timeframe",
        "status",
        "progress",
        "candles",
        "sweep",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "strategy", "timeframe", "symbol")
    search_fields = ("user__username", "strategy", "symbol", "error")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    actions = ("rerun",)
    exclude = ("trades", "equity_curve")
    readonly_fields = (
        "user",
        "sweep",
        "status",
        "progress",
        "symbol",
        "timeframe",
        "strategy",
        "params",
        "metrics",
        "error",
        "candles",
        "created_at",
        "started_at",
        "finished_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Re-run the selected backtests (same inputs, new runs)")
    def rerun(self, request: HttpRequest, queryset) -> None:
        made, refused = 0, []
        for backtest in queryset:
            try:
                backtest_rerun(backtest=backtest)
                made += 1
            except ApiError as exc:
                refused.append(f"#{backtest.pk}: {exc.message}")
        if made:
            self.message_user(request, f"{made} backtest(s) queued again.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)


class BacktestInline(admin.TabularInline):
    model = Backtest
    fields = ("id", "status", "progress", "params", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BacktestSweep)
class BacktestSweepAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "strategy", "metric", "status", "total", "created_at")
    list_filter = ("status", "metric")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "user",
        "status",
        "params",
        "grid",
        "metric",
        "total",
        "created_at",
        "finished_at",
    )
    inlines = (BacktestInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="strategy")
    def strategy(self, obj: BacktestSweep) -> str:
        return (obj.params or {}).get("strategy", "")
