from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        from cryptobot.health import register_probe
        from trading.services.prices import price_feed_status

        register_probe("price_feed", price_feed_status)
