"""Admin for the market catalogue and candles."""

from django.contrib import admin

from trading.models import Candle, ReplayClock, Symbol
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
