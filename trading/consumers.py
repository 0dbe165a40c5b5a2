"""WebSocket consumers of the trading app."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PriceConsumer(AsyncJsonWebsocketConsumer):
    """/ws/price: live prices for the symbols a client subscribes to."""
