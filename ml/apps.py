from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "ml"

    def ready(self) -> None:
        # ml_signal (trading/strategies) reads the models through this provider: trading
        # does not import ml.
        from ml.signals import shared_p_up
        from trading.strategies.builtin import ml_provider_set

        ml_provider_set(shared_p_up)
