"""Market-data routes: prices, candles and indicators. Thin: parse, call, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api import serializers as s
from trading.errors import InvalidParameter
from trading.indicators import PERIOD_PARAMS, IndicatorParamError, parse_indicator_params
from trading.selectors import candle_list, candle_rows, indicator_rows
from trading.services.markets import symbol_get
from trading.services.prices import price_get, price_list


def _query(serializer_class: type, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PriceListApi(APIView):
    """Latest prices of every watched symbol, or of ``?symbol=``."""

    @extend_schema(
        operation_id="price_list",
        parameters=[s.PriceQuerySerializer],
        responses=s.PriceListSerializer,
    )
    def get(self, request: Request) -> Response:
        query = _query(s.PriceQuerySerializer, request)
        if query.get("symbol"):
            return Response({"prices": [price_get(query["symbol"])]})
        return Response({"prices": price_list()})


class PriceDetailApi(APIView):
    """Latest price of one symbol (BTCUSDT, BTC/USDT and btcusdt are accepted)."""

    @extend_schema(operation_id="price_detail", responses=s.PriceSerializer)
    def get(self, request: Request, symbol: str) -> Response:
        return Response(price_get(symbol))


class CandleListApi(APIView):
    """Stored candles ascending; the newest ``limit`` unless ``start`` is given."""

    @extend_schema(parameters=[s.CandleQuerySerializer], responses=s.CandleListSerializer)
    def get(self, request: Request) -> Response:
        query = _query(s.CandleQuerySerializer, request)
        symbol = symbol_get(query["symbol"])
        candles = candle_list(
            symbol=symbol,
            timeframe=query["timeframe"],
            start=query.get("start"),
            end=query.get("end"),
            limit=query["limit"],
        )
        return Response(
            {
                "symbol": symbol.symbol,
                "timeframe": query["timeframe"],
                "candles": candle_rows(candles),
            }
        )


class IndicatorListApi(APIView):
    """Indicator values per candle; periods are query parameters and rename the columns."""

    @extend_schema(
        parameters=[
            s.MarketQuerySerializer,
            OpenApiParameter("indicators", str, description="comma list; default all"),
            *[OpenApiParameter(name, int, required=False) for name in PERIOD_PARAMS],
            OpenApiParameter("bb_std", float, required=False),
        ],
        responses=s.IndicatorRowsSerializer,
    )
    def get(self, request: Request) -> Response:
        query = _query(s.MarketQuerySerializer, request)
        try:
            spec = parse_indicator_params(request.query_params)
        except IndicatorParamError as exc:
            raise InvalidParameter(exc.param, exc.message) from exc
        symbol = symbol_get(query["symbol"])
        rows = indicator_rows(
            symbol=symbol, timeframe=query["timeframe"], limit=query["limit"], spec=spec
        )
        return Response({"symbol": symbol.symbol, "timeframe": query["timeframe"], "rows": rows})
