"""Market-data routes (see docs/API.md)."""

from django.urls import path

from trading.api import paper_views as paper
from trading.api.views import CandleListApi, IndicatorListApi, PriceDetailApi, PriceListApi

urlpatterns = [
    path("price", PriceListApi.as_view(), name="price-list"),
    path("price/<path:symbol>", PriceDetailApi.as_view(), name="price-detail"),
    path("candles", CandleListApi.as_view(), name="candle-list"),
    path("features/indicators", IndicatorListApi.as_view(), name="indicator-list"),
    path("virtual_balance", paper.BalanceApi.as_view(), name="balance"),
    path("virtual_balance/reset", paper.BalanceResetApi.as_view(), name="balance-reset"),
    path("trade", paper.TradeOpenApi.as_view(), name="trade-open"),
    path("trades", paper.TradeListApi.as_view(), name="trade-list"),
    path("trades/analytics", paper.TradeAnalyticsApi.as_view(), name="trade-analytics"),
    path("trades/<int:number>", paper.TradeDetailApi.as_view(), name="trade-detail"),
    path("trades/<int:number>/close", paper.TradeCloseApi.as_view(), name="trade-close"),
    path("trades/<int:number>/update", paper.TradeUpdateApi.as_view(), name="trade-update"),
    path("risk_settings", paper.RiskSettingsApi.as_view(), name="risk-settings"),
    path("safety/check", paper.SafetyCheckApi.as_view(), name="safety-check"),
]
