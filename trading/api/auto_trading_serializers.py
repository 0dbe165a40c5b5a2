"""Input shapes of the auto-trading routes. Types only: the ranges, the strategy and its
parameters are checked by the service (trading/services/auto_trading.py), which the admin
shares, so the rules live once."""

from __future__ import annotations

from rest_framework import serializers

from cryptobot.api.serializers import InputSerializer
from trading.exchange.base import TIMEFRAMES
from trading.models import AutoTradingConfig


def _pct() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=7, decimal_places=3, required=False, allow_null=True)


class AutoConfigInSerializer(InputSerializer):
    """POST /auto_trading/config: any subset of the settings; the rest stay as they are."""

    enabled = serializers.BooleanField(required=False)
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False, allow_empty=True
    )
    strategy = serializers.CharField(max_length=40, required=False)
    strategy_params = serializers.DictField(required=False)
    timeframe = serializers.ChoiceField(list(TIMEFRAMES), required=False)
    market = serializers.ChoiceField(["futures", "spot"], required=False)
    sizing = serializers.ChoiceField(AutoTradingConfig.Sizing.values, required=False)
    size = serializers.DecimalField(max_digits=20, decimal_places=8, required=False)
    leverage = serializers.IntegerField(required=False)
    stop_loss_pct = _pct()
    take_profit_pct = _pct()
    trailing_stop_pct = _pct()
    max_open_trades = serializers.IntegerField(required=False)

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: f"Unknown setting; use {', '.join(self.fields)}."}
            )
        return attrs


class AutoConfigOutSerializer(serializers.Serializer):
    """The stored configuration (decimals as strings) and every strategy's schema."""

    enabled = serializers.BooleanField()
    symbols = serializers.ListField(child=serializers.CharField())
    strategy = serializers.CharField()
    strategy_params = serializers.DictField()
    timeframe = serializers.CharField()
    market = serializers.CharField()
    sizing = serializers.CharField()
    size = serializers.CharField()
    leverage = serializers.IntegerField()
    stop_loss_pct = serializers.CharField(allow_null=True)
    take_profit_pct = serializers.CharField(allow_null=True)
    trailing_stop_pct = serializers.CharField(allow_null=True)
    max_open_trades = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    strategies = serializers.ListField(child=serializers.DictField(), required=False)


class AutoRunOutSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    candle_time = serializers.DateTimeField()
    candle_time_ms = serializers.IntegerField()
    signal = serializers.IntegerField()
    action = serializers.CharField()
    trade_id = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class AutoSymbolStatusSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    last_run = AutoRunOutSerializer(allow_null=True)
    last_signal = serializers.IntegerField(allow_null=True)
    last_signal_at = serializers.DateTimeField(allow_null=True)


class AutoPnlSerializer(serializers.Serializer):
    realized = serializers.CharField()
    unrealized = serializers.CharField()
    total = serializers.CharField()
    trades = serializers.IntegerField()
    closed_trades = serializers.IntegerField()


class AutoErrorSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    candle_time = serializers.DateTimeField()
    action = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField()


class AutoStatusOutSerializer(serializers.Serializer):
    """GET /auto_trading/status (open_trades have the shape of GET /trades' items)."""

    enabled = serializers.BooleanField()
    config = AutoConfigOutSerializer()
    symbols = AutoSymbolStatusSerializer(many=True)
    open_trades = serializers.ListField(child=serializers.DictField())
    pnl = AutoPnlSerializer()
    last_error = AutoErrorSerializer(allow_null=True)
    recent_runs = AutoRunOutSerializer(many=True)
