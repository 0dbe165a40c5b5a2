"""Market-data routes (see docs/API.md)."""

from django.urls import path

from trading.api.views import CandleListApi, IndicatorListApi, PriceDetailApi, PriceListApi

urlpatterns = [
    path("price", PriceListApi.as_view(), name="price-list"),
    path("price/<path:symbol>", PriceDetailApi.as_view(), name="price-detail"),
    path("candles", CandleListApi.as_view(), name="candle-list"),
    path("features/indicators", IndicatorListApi.as_view(), name="indicator-list"),
]
