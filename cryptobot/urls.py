"""The route table: pages, admin, the REST API and its schema, all at the root.

Each app owns its routes in <app>/api/urls.py (API) or dashboard/urls.py (pages).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cryptobot.api.views import ApiTokenApi, HealthApi

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("api/token", ApiTokenApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
    path("", include("trading.api.urls")),
    path("", include("trading.binance.urls")),
    path("", include("ml.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("dashboard.urls")),
]

handler400 = "cryptobot.api.errors.json_400"
handler403 = "cryptobot.api.errors.json_403"
handler404 = "cryptobot.api.errors.json_404"
handler500 = "cryptobot.api.errors.json_500"
