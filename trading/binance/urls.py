"""The Binance-compatible routes: exact paths, no trailing slash (docs/API.md)."""

from trading.binance.views import futures, market, spot

urlpatterns = [*market.urlpatterns, *spot.urlpatterns, *futures.urlpatterns]
