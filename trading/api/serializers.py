"""Input and output shapes of the market-data routes (inputs and outputs kept apart)."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trading.exchange.base import TIMEFRAMES

MAX_CANDLES = 1000


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "epoch ms"},
            {"type": "string", "format": "date-time"},
        ]
    }
)
class EpochOrIsoField(serializers.Field):
    """A time given as epoch milliseconds or ISO-8601 (UTC when no offset is given)."""

    default_error_messages = {
        "invalid": "Use epoch milliseconds (e.g. 1750000000000) or ISO-8601 "
        "(e.g. 2025-06-01T00:00:00Z).",
    }

    def to_internal_value(self, data: str) -> datetime:
        text = str(data).strip()
        try:
            if text.lstrip("-").isdigit():
                return datetime.fromtimestamp(int(text) / 1000, UTC)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError, OSError):
            self.fail("invalid")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def to_representation(self, value: datetime) -> int:
        return int(value.timestamp() * 1000)


class MarketQuerySerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=30)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), default="1h")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_CANDLES, default=500)


class CandleQuerySerializer(MarketQuerySerializer):
    start = EpochOrIsoField(required=False)
    end = EpochOrIsoField(required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": "start must not be after end."})
        return attrs


class PriceQuerySerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=30, required=False)


class PriceSerializer(serializers.Serializer):
    """Documentation of the price shape; views return the cached dict directly."""

    symbol = serializers.CharField()
    price = serializers.DecimalField(max_digits=30, decimal_places=10)
    bid = serializers.DecimalField(max_digits=30, decimal_places=10)
    ask = serializers.DecimalField(max_digits=30, decimal_places=10)
    change_24h_pct = serializers.DecimalField(max_digits=12, decimal_places=3)
    high_24h = serializers.DecimalField(max_digits=30, decimal_places=10)
    low_24h = serializers.DecimalField(max_digits=30, decimal_places=10)
    volume_24h = serializers.DecimalField(max_digits=30, decimal_places=10)
    timestamp = serializers.IntegerField(help_text="epoch milliseconds (exchange time)")
    time = serializers.CharField(help_text="ISO-8601 UTC")
    source = serializers.CharField()
    age_ms = serializers.IntegerField(help_text="ms since the price was fetched")
    stale = serializers.BooleanField()


class PriceListSerializer(serializers.Serializer):
    prices = PriceSerializer(many=True)


class CandleOutSerializer(serializers.Serializer):
    open_time = serializers.IntegerField()
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.FloatField()


class CandleListSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    candles = CandleOutSerializer(many=True)


class IndicatorRowsSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    rows = serializers.ListField(child=serializers.DictField())
