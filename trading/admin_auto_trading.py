"""Admin for auto-trading (imported by trading/admin.py): configurations, editable through
the service's validation, and the run log, read-only (it is the bot's audit trail)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from cryptobot.api.errors import ApiError
from trading.models import AutoTradingConfig, AutoTradingRun
from trading.services.auto_trading import FIELDS as CONFIG_FIELDS
from trading.services.auto_trading import (
    AutoConfigInvalid,
    auto_config_validate,
    auto_trading_start,
    auto_trading_stop,
)


class AutoTradingConfigForm(forms.ModelForm):
    """Runs the same validation as POST /auto_trading/config; errors land on the field."""

    class Meta:
        model = AutoTradingConfig
        fields = ("user", "enabled", *CONFIG_FIELDS)

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned.get(name) for name in CONFIG_FIELDS}
        if any(values[name] is None for name in ("symbols", "strategy", "size", "leverage")):
            return cleaned
        try:
            cleaned.update(auto_config_validate(values))
        except AutoConfigInvalid as exc:
            field = exc.field.split(".")[0]
            message = exc.message.split(": ", 1)[-1]
            self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(AutoTradingConfig)
class AutoTradingConfigAdmin(admin.ModelAdmin):
    form = AutoTradingConfigForm
    list_display = (
        "user",
        "enabled",
        "strategy",
        "timeframe",
        "market",
        "symbol_list",
        "leverage",
        "max_open_trades",
        "updated_at",
    )
    list_filter = ("enabled", "strategy", "timeframe", "market")
    search_fields = ("user__username", "strategy")
    list_select_related = ("user",)
    readonly_fields = ("updated_at",)
    actions = ("start", "stop")

    @admin.display(description="symbols")
    def symbol_list(self, obj: AutoTradingConfig) -> str:
        return ", ".join(obj.symbols)

    @admin.action(description="Start auto-trading for the selected users")
    def start(self, request: HttpRequest, queryset) -> None:
        for config in queryset.select_related("user"):
            try:
                auto_trading_start(user=config.user)
            except ApiError as exc:
                self.message_user(request, f"{config.user}: {exc.message}", messages.ERROR)

    @admin.action(description="Stop auto-trading for the selected users")
    def stop(self, request: HttpRequest, queryset) -> None:
        for config in queryset.select_related("user"):
            auto_trading_stop(user=config.user)


@admin.register(AutoTradingRun)
class AutoTradingRunAdmin(admin.ModelAdmin):
    list_display = (
        "candle_time",
        "user",
        "symbol",
        "timeframe",
        "signal",
        "action",
        "trade_number",
        "short_error",
        "created_at",
    )
    list_filter = ("action", "signal", "timeframe", "symbol")
    search_fields = ("user__username", "symbol", "error")
    list_select_related = ("user",)
    date_hierarchy = "candle_time"

    @admin.display(description="error")
    def short_error(self, obj: AutoTradingRun) -> str:
        return obj.error[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
