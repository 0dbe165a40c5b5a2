"""Input shapes of the backtest routes (outputs are the selectors' dicts, documented in
docs/API.md). Types and ranges only; trading/services/backtests.py checks the rest (symbol,
strategy and its parameters, the candle range) and names the field it refuses."""

from __future__ import annotations

from rest_framework import serializers

from cryptobot.api.serializers import InputSerializer
from trading.api.serializers import EpochOrIsoField
from trading.exchange.base import TIMEFRAMES
from trading.models import RunStatus
from trading.services.backtests import LIMITS, MAX_LEVERAGE, SWEEP_METRICS


def _dec(name: str, help_text: str) -> serializers.DecimalField:
    low, high = LIMITS[name]
    return serializers.DecimalField(
        max_digits=20,
        decimal_places=8,
        min_value=low,
        max_value=high,
        required=False,
        allow_null=True,
        help_text=f"{help_text} ({low} to {high})",
    )


class BacktestRunSerializer(InputSerializer):
    """POST /backtest/run."""

    symbol = serializers.CharField(max_length=30)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), default="1h")
    start = EpochOrIsoField(required=False, help_text="default: the first stored candle")
    end = EpochOrIsoField(required=False, help_text="default: the last stored candle")
    strategy = serializers.CharField(max_length=40, help_text="GET /backtest/strategies")
    params = serializers.JSONField(
        required=False, help_text="the strategy's parameters; defaults fill the rest"
    )
    market = serializers.ChoiceField(["futures", "spot"], default="futures")
    initial_balance = _dec("initial_balance", "USDT, default 10000")
    position_pct = _dec(
        "position_pct", "percent of equity committed as margin per entry, default 95"
    )
    leverage = serializers.IntegerField(min_value=1, max_value=MAX_LEVERAGE, required=False)
    fee_rate = _dec("fee_rate", "taker fee rate, e.g. 0.0005; default the paper engine's")
    slippage_bps = _dec("slippage_bps", "basis points against each market fill, default 0")
    stop_loss_pct = _dec("stop_loss_pct", "percent from the entry")
    take_profit_pct = _dec("take_profit_pct", "percent from the entry")
    trailing_stop_pct = _dec("trailing_stop_pct", "percent from the best price")
    allow_short = serializers.BooleanField(required=False, help_text="default true on futures")
    funding = serializers.BooleanField(default=True)

    def validate_params(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError('Give an object, e.g. {"fast": 10, "slow": 30}.')
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "end must be after start."})
        return attrs


class BacktestSweepSerializer(BacktestRunSerializer):
    """POST /backtest/sweep: a backtest's inputs plus the grid and the ranking metric."""

    grid = serializers.JSONField(
        help_text='parameter → list of values, e.g. {"fast": [5, 10], "slow": [30, 50]}'
    )
    metric = serializers.ChoiceField(list(SWEEP_METRICS), default="sharpe")

    def validate_grid(self, value):
        if not isinstance(value, dict) or not value:
            raise serializers.ValidationError(
                'Give parameter → list of values, e.g. {"fast": [5, 10], "slow": [30, 50]}.'
            )
        return value


class BacktestListQuerySerializer(serializers.Serializer):
    strategy = serializers.CharField(max_length=40, required=False)
    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False)
    status = serializers.ChoiceField(choices=RunStatus.values, required=False)
    sweep = serializers.IntegerField(min_value=1, required=False)
