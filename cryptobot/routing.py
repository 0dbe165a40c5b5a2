"""WebSocket routes; each app's consumers are listed here."""

from django.urls import path

from notifications.consumers import NotificationConsumer
from trading.consumers import PriceConsumer

websocket_urlpatterns = [
    path("ws/price", PriceConsumer.as_asgi()),
    path("ws/notifications", NotificationConsumer.as_asgi()),
]
