"""Input shapes of the paper-trading routes (outputs are the services' dicts, documented in
docs/API.md and described for the schema here)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from cryptobot.api.serializers import InputSerializer
from trading.services.paper import TradeRequest

POSITIVE = Decimal("0.00000001")
MONEY = {"max_digits": 28, "decimal_places": 8}


def _amount(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, min_value=POSITIVE, required=False, **kwargs)


def _pct(low: str, high: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=3,
        min_value=Decimal(low),
        max_value=Decimal(high),
        required=False,
        allow_null=True,
    )


class TradeInSerializer(InputSerializer):
    """POST /trade and POST /safety/check."""

    symbol = serializers.CharField(max_length=30)
    direction = serializers.ChoiceField(["long", "short"])
    market = serializers.ChoiceField(["futures", "spot"], default="futures")
    quantity = _amount()
    quote_amount = _amount()
    equity_pct = _pct("0.01", "100")
    leverage = serializers.IntegerField(min_value=1, max_value=125, required=False)
    margin_type = serializers.ChoiceField(["cross", "isolated"], required=False)
    order_type = serializers.ChoiceField(["market", "limit"], default="market")
    price = _amount()
    stop_loss = _amount(allow_null=True)
    stop_loss_pct = _pct("0.01", "99")
    take_profit = _amount(allow_null=True)
    take_profit_pct = _pct("0.01", "1000")
    trailing_stop_pct = _pct("0.1", "50")

    def validate(self, attrs: dict) -> dict:
        sizes = [k for k in ("quantity", "quote_amount", "equity_pct") if attrs.get(k) is not None]
        if len(sizes) != 1:
            raise serializers.ValidationError(
                {
                    "quantity": "Give exactly one of quantity, quote_amount or equity_pct"
                    f" (got {', '.join(sizes) or 'none'})."
                }
            )
        if attrs["order_type"] == "limit" and attrs.get("price") is None:
            raise serializers.ValidationError({"price": "A limit order needs a price."})
        if attrs["order_type"] == "market" and attrs.get("price") is not None:
            raise serializers.ValidationError({"price": "A market order takes no price."})
        for name in ("stop_loss", "take_profit"):
            if attrs.get(name) is not None and attrs.get(f"{name}_pct") is not None:
                raise serializers.ValidationError({name: f"Give {name} or {name}_pct, not both."})
        if attrs["market"] == "spot":
            if attrs["direction"] == "short":
                raise serializers.ValidationError(
                    {"direction": "Spot cannot go short: sell what you hold, or use futures."}
                )
            if attrs.get("leverage", 1) != 1 or attrs.get("margin_type"):
                raise serializers.ValidationError(
                    {"leverage": "Spot trades take no leverage or margin type."}
                )
        return attrs

    def to_request(self, *, source: str = "manual") -> TradeRequest:
        data = dict(self.validated_data)
        return TradeRequest(source=source, **data)


class TradeCloseSerializer(InputSerializer):
    quantity = _amount()
    order_type = serializers.ChoiceField(["market", "limit"], default="market")
    price = _amount()

    def validate(self, attrs: dict) -> dict:
        if attrs["order_type"] == "limit" and attrs.get("price") is None:
            raise serializers.ValidationError({"price": "A limit close needs a price."})
        return attrs


class TradeUpdateSerializer(InputSerializer):
    stop_loss = _amount(allow_null=True)
    take_profit = _amount(allow_null=True)
    trailing_stop_pct = _pct("0.1", "50")

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                {"stop_loss": "Give stop_loss, take_profit and/or trailing_stop_pct."}
            )
        return attrs


class ResetSerializer(InputSerializer):
    confirm = serializers.BooleanField()
    initial_balance = serializers.DecimalField(
        **MONEY, min_value=Decimal("1"), max_value=Decimal("1000000000"), required=False
    )

    def validate_confirm(self, value: bool) -> bool:
        if value is not True:
            raise serializers.ValidationError('Send "confirm": true to reset the account.')
        return value


class TradeListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(["open", "closed", "liquidated"], required=False)
    symbol = serializers.CharField(max_length=30, required=False)
    direction = serializers.ChoiceField(["long", "short"], required=False)
    source = serializers.ChoiceField(["manual", "auto", "api"], required=False)
    market = serializers.ChoiceField(["futures", "spot"], required=False)
    since = serializers.CharField(required=False)
    until = serializers.CharField(required=False)
    ordering = serializers.ChoiceField(
        ["opened_at", "-opened_at", "realized_pnl", "-realized_pnl", "closed_at", "-closed_at"],
        default="-opened_at",
    )


class RiskSettingsSerializer(serializers.Serializer):
    """GET/POST /risk_settings; POST takes any subset."""

    max_position_pct = _pct("0.1", "5000")
    max_leverage = serializers.IntegerField(min_value=1, max_value=125, required=False)
    max_open_trades = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, allow_null=True
    )
    max_daily_loss_pct = _pct("0.1", "100")
    max_drawdown_pct = _pct("0.1", "100")
    stop_loss_required = serializers.BooleanField(required=False)
    max_risk_per_trade_pct = _pct("0.01", "100")
    min_free_balance = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0"),
        max_value=Decimal("1000000000"),
        required=False,
        allow_null=True,
    )
    cooldown_after_losses = serializers.IntegerField(
        min_value=1, max_value=100, required=False, allow_null=True
    )
    cooldown_minutes = serializers.IntegerField(min_value=0, max_value=10080, required=False)
    allowed_symbols = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False, max_length=100
    )
