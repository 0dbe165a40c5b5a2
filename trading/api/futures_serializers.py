"""Input and output shapes of the friendly USD-M futures routes (/futures/*).

Inputs are validated here and turned into the engine's request types; outputs render the
selectors' rows and engine figures (money, prices and quantities as 8-place decimal
strings, margin types as ``cross`` / ``isolated``, times as ISO-8601 UTC). The output
serializers are also what the OpenAPI schema shows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from cryptobot.api.serializers import InputSerializer
from trading import engine as core
from trading.errors import UnknownSymbol
from trading.selectors.orders import FuturesAccount, symbol_settings
from trading.services.markets import symbol_resolve

POSITIVE = Decimal("0.00000001")
MAX_QUANTITY = Decimal("1000000000")  # base units; far above any real order
MAX_PRICE = Decimal("1000000000000")
ORDER_TYPES = [str(t) for t in core.OrderType]
STOP_TYPES = (str(core.OrderType.STOP_MARKET), str(core.OrderType.TAKE_PROFIT_MARKET))
MARGIN_TYPES = {"isolated": core.MarginType.ISOLATED, "cross": core.MarginType.CROSSED}
FRIENDLY_MARGIN = {core.MarginType.ISOLATED: "isolated", core.MarginType.CROSSED: "cross"}


# --------------------------------------------------------------------------- input fields


class SymbolField(serializers.CharField):
    """A known symbol in any accepted spelling (BTCUSDT, BTC/USDT, btcusdt), made canonical;
    an unknown one is a 400 naming the valid symbols."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        raw = super().to_internal_value(data)
        try:
            return symbol_resolve(raw)
        except UnknownSymbol as exc:  # bad input, not a missing resource: a 400 here
            raise serializers.ValidationError(exc.message) from exc


class CaseChoiceField(serializers.ChoiceField):
    """A choice matched without regard to case (``buy`` is ``BUY``); ``aliases`` map other
    accepted spellings onto a choice."""

    def __init__(
        self, choices: list[str], *, upper: bool, aliases: dict[str, str] | None = None, **kw
    ) -> None:
        self.upper = upper
        self.aliases = aliases or {}
        super().__init__(choices, **kw)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            data = data.strip().upper() if self.upper else data.strip().lower()
            data = self.aliases.get(data, data)
        return super().to_internal_value(data)


def _decimal(max_value: Decimal, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=28 if max_value == MAX_QUANTITY else 24,
        decimal_places=8,
        min_value=POSITIVE,
        max_value=max_value,
        required=False,
        error_messages={
            "min_value": "Must be greater than 0.",
            "max_value": f"Must be at most {max_value:,}.",
        },
        **kwargs,
    )


# --------------------------------------------------------------------------- inputs


class FuturesOrderInSerializer(InputSerializer):
    """POST /futures/order: one USD-M order, Binance's newOrder semantics in friendly names."""

    symbol = SymbolField()
    side = CaseChoiceField(["BUY", "SELL"], upper=True, required=False)
    direction = CaseChoiceField(["long", "short"], upper=False, required=False)
    type = CaseChoiceField(ORDER_TYPES, upper=True, default="MARKET")
    quantity = _decimal(MAX_QUANTITY, help_text="base units (e.g. BTC)")
    price = _decimal(MAX_PRICE, help_text="LIMIT only")
    stop_price = _decimal(MAX_PRICE, help_text="STOP_MARKET / TAKE_PROFIT_MARKET only")
    time_in_force = CaseChoiceField(
        [str(t) for t in core.TimeInForce], upper=True, required=False, help_text="LIMIT only"
    )
    reduce_only = serializers.BooleanField(default=False)
    close_position = serializers.BooleanField(default=False)
    client_order_id = serializers.RegexField(
        r"^[.A-Za-z0-9:/_-]{1,36}$",
        required=False,
        error_messages={"invalid": "1-36 characters: letters, digits and . : / _ -"},
    )
    leverage = serializers.IntegerField(min_value=1, max_value=125, required=False)
    margin_type = CaseChoiceField(
        list(MARGIN_TYPES), upper=False, aliases={"crossed": "cross"}, required=False
    )
    working_type = CaseChoiceField(
        [str(t) for t in core.WorkingType], upper=True, default="CONTRACT_PRICE"
    )

    def validate(self, attrs: dict) -> dict:
        side = attrs.get("side")
        direction = {"long": "BUY", "short": "SELL"}.get(attrs.pop("direction", ""))
        if side is None and direction is None:
            raise serializers.ValidationError(
                {"side": "Give side (BUY or SELL) or direction (long or short)."}
            )
        if side and direction and side != direction:
            raise serializers.ValidationError({"side": "side and direction disagree."})
        attrs["side"] = side or direction
        kind = attrs["type"]
        if kind == "LIMIT" and attrs.get("price") is None:
            raise serializers.ValidationError({"price": "A LIMIT order needs a price."})
        if kind != "LIMIT":
            for name in ("price", "time_in_force"):
                if attrs.get(name) is not None:
                    raise serializers.ValidationError({name: f"Only a LIMIT order takes {name}."})
        if kind in STOP_TYPES and attrs.get("stop_price") is None:
            raise serializers.ValidationError({"stop_price": f"A {kind} order needs stop_price."})
        if kind not in STOP_TYPES and attrs.get("stop_price") is not None:
            raise serializers.ValidationError(
                {"stop_price": "Only STOP_MARKET and TAKE_PROFIT_MARKET orders take stop_price."}
            )
        if attrs["close_position"]:
            if kind not in STOP_TYPES:
                raise serializers.ValidationError(
                    {"close_position": "Only STOP_MARKET and TAKE_PROFIT_MARKET close a position."}
                )
            if attrs.get("quantity") is not None or attrs["reduce_only"]:
                raise serializers.ValidationError(
                    {
                        "close_position": "close_position closes the whole position: give no "
                        "quantity and no reduce_only."
                    }
                )
        elif attrs.get("quantity") is None:
            raise serializers.ValidationError({"quantity": "Give the quantity in base units."})
        return attrs

    def to_request(self, *, source: core.Source) -> core.OrderRequest:
        data = self.validated_data
        margin_type = data.get("margin_type")
        return core.OrderRequest(
            symbol=data["symbol"],
            market=core.Market.FUTURES,
            side=core.Side(data["side"]),
            type=core.OrderType(data["type"]),
            quantity=data.get("quantity"),
            price=data.get("price"),
            stop_price=data.get("stop_price"),
            time_in_force=core.TimeInForce(data.get("time_in_force") or "GTC"),
            reduce_only=data["reduce_only"],
            close_position=data["close_position"],
            client_order_id=data.get("client_order_id", ""),
            leverage=data.get("leverage"),
            margin_type=MARGIN_TYPES[margin_type] if margin_type else None,
            working_type=core.WorkingType(data["working_type"]),
            source=source,
        )


class FuturesOrderQuerySerializer(serializers.Serializer):
    """GET /futures/orders."""

    status = serializers.ChoiceField(
        ["open", "all"], default="open", help_text="open (default) or all: history too"
    )
    symbol = SymbolField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)


class LeverageInSerializer(InputSerializer):
    """POST /futures/leverage."""

    symbol = SymbolField()
    leverage = serializers.IntegerField(min_value=1, max_value=125)


class MarginTypeInSerializer(InputSerializer):
    """POST /futures/margin_type."""

    symbol = SymbolField()
    margin_type = CaseChoiceField(list(MARGIN_TYPES), upper=False, aliases={"crossed": "cross"})


# --------------------------------------------------------------------------- outputs


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=None, decimal_places=8, **kwargs)


class FriendlyMarginField(serializers.CharField):
    """The engine's ISOLATED / CROSSED as ``isolated`` / ``cross``."""

    def to_representation(self, value: Any) -> str:
        return FRIENDLY_MARGIN.get(value, str(value).lower())


class FuturesOrderOutSerializer(serializers.Serializer):
    """An order as the /futures routes show it (an ``Order`` row)."""

    id = serializers.IntegerField(source="number")
    symbol = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField(
        help_text="NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED or EXPIRED"
    )
    quantity = _money(help_text="ordered, base units (0 for a close_position stop)")
    executed_qty = _money()
    avg_price = _money()
    price = _money(allow_null=True)
    stop_price = _money(allow_null=True)
    time_in_force = serializers.CharField()
    reduce_only = serializers.BooleanField()
    close_position = serializers.BooleanField()
    working_type = serializers.CharField()
    leverage = serializers.IntegerField()
    client_order_id = serializers.CharField()
    reserved = _money(help_text="USDT margin the open order holds back")
    end_reason = serializers.CharField(source="reject_reason", help_text="why it expired")
    trade_id = serializers.IntegerField(source="trade_number", allow_null=True)
    source = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FuturesFillOutSerializer(serializers.Serializer):
    """One execution (a ``Fill`` row)."""

    id = serializers.IntegerField(source="number")
    order_id = serializers.IntegerField(source="order_number")
    trade_id = serializers.IntegerField(source="trade_number", allow_null=True)
    side = serializers.CharField()
    price = _money()
    qty = _money()
    quote_qty = _money()
    fee = _money()
    fee_asset = serializers.CharField()
    maker = serializers.BooleanField()
    realized_pnl = _money()
    time = serializers.DateTimeField()


class FuturesOrderPlacedSerializer(serializers.Serializer):
    order = FuturesOrderOutSerializer()
    fills = FuturesFillOutSerializer(many=True)


class FuturesOrderListSerializer(serializers.Serializer):
    orders = FuturesOrderOutSerializer(many=True)


class PositionOutSerializer(serializers.Serializer):
    """One open position valued at the last mark price (a ``PositionRisk``)."""

    symbol = serializers.CharField()
    direction = serializers.SerializerMethodField()
    quantity = serializers.SerializerMethodField(help_text="absolute, base units")
    entry_price = _money()
    mark_price = _money()
    notional = serializers.SerializerMethodField(help_text="absolute, USDT at the mark")
    unrealized_pnl = _money()
    initial_margin = _money()
    maintenance_margin = _money()
    isolated_wallet = _money(help_text="margin set aside (isolated only; 0 for cross)")
    leverage = serializers.IntegerField()
    margin_type = FriendlyMarginField()
    liquidation_price = serializers.SerializerMethodField(
        help_text="null when the position cannot be liquidated (a cross position the "
        "wallet covers entirely)"
    )

    def get_direction(self, risk: core.PositionRisk) -> str:
        return "long" if risk.quantity > 0 else "short"

    def get_quantity(self, risk: core.PositionRisk) -> str:
        return format(abs(risk.quantity).quantize(POSITIVE), "f")

    def get_notional(self, risk: core.PositionRisk) -> str:
        return format(abs(risk.notional).quantize(POSITIVE), "f")

    def get_liquidation_price(self, risk: core.PositionRisk) -> str | None:
        price = risk.liquidation_price
        return format(price.quantize(POSITIVE), "f") if price and price > 0 else None


class PositionListSerializer(serializers.Serializer):
    positions = PositionOutSerializer(many=True)


class SymbolSettingOutSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    leverage = serializers.IntegerField()
    margin_type = FriendlyMarginField()


class FuturesAccountOutSerializer(serializers.Serializer):
    """GET /futures/account: the USDT side of the account at the last prices."""

    currency = serializers.CharField()
    wallet_balance = _money(help_text="USDT balance, isolated wallets included")
    cross_wallet_balance = _money()
    unrealized_pnl = _money()
    equity = _money(help_text="margin balance: wallet + unrealized PnL")
    available_balance = _money(help_text="what new margin may use")
    position_initial_margin = _money()
    open_order_initial_margin = _money()
    maintenance_margin = _money()
    margin_ratio_pct = _money(
        allow_null=True, help_text="maintenance margin / equity in percent; 100 liquidates"
    )
    positions = PositionOutSerializer(many=True)
    settings = SymbolSettingOutSerializer(many=True, help_text="leverage and margin per symbol")
    open_orders = serializers.IntegerField()


def account_out(account: FuturesAccount, symbols: list[str]) -> dict:
    """The account body; ``settings`` lists ``symbols`` plus every symbol with a setting or
    a position."""
    summary = account.summary
    state = account.state
    names = sorted({*symbols, *state.settings, *state.positions})
    equity = summary.margin_balance
    ratio = summary.maintenance_margin / equity * 100 if equity > 0 else None
    body = {
        "currency": account.account.currency,
        "wallet_balance": summary.wallet_balance,
        "cross_wallet_balance": summary.cross_wallet_balance,
        "unrealized_pnl": summary.unrealized_pnl,
        "equity": equity,
        "available_balance": summary.available_balance,
        "position_initial_margin": summary.position_initial_margin,
        "open_order_initial_margin": summary.open_order_initial_margin,
        "maintenance_margin": summary.maintenance_margin,
        "margin_ratio_pct": ratio,
        "positions": account.positions,
        "settings": [{"symbol": name, **_setting(symbol_settings(state, name))} for name in names],
        "open_orders": sum(o.market == core.Market.FUTURES for o in state.orders.values()),
    }
    return FuturesAccountOutSerializer(body).data


def _setting(setting: core.SymbolSettings) -> dict:
    return {"leverage": setting.leverage, "margin_type": setting.margin_type}


class LeverageOutSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    leverage = serializers.IntegerField()
    max_notional = _money(help_text="the largest position (USDT notional) at this leverage")


class MarginTypeOutSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    margin_type = serializers.CharField()


class SignalOutSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    strategy = serializers.DictField(allow_null=True, help_text="latest strategy signal")
    ml = serializers.DictField(allow_null=True, help_text="latest ML prediction")
    note = serializers.CharField()


class SignalListSerializer(serializers.Serializer):
    signals = SignalOutSerializer(many=True)
