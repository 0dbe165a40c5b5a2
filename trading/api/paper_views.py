"""Paper-trading routes: balance, trades, analytics, risk settings, safety check.
Thin: validate input, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from trading.api import paper_serializers as s
from trading.selectors.paper import (
    balance_get,
    risk_settings_get,
    trade_analytics,
    trade_get,
    trade_list,
)
from trading.services import paper
from trading.services.risk_settings import risk_settings_update

_any = OpenApiResponse(description="See docs/API.md, section Paper trading.")


class BalanceApi(APIView):
    """The paper account's balance, equity, margin and spot holdings."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response(balance_get(user=request.user))


class BalanceResetApi(APIView):
    """Start the paper account over (closes everything); needs {"confirm": true}."""

    @extend_schema(request=s.ResetSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.ResetSerializer, request.data).validated_data
        return Response(
            paper.balance_reset(user=request.user, initial_balance=data.get("initial_balance"))
        )


class TradeOpenApi(APIView):
    """Open a trade (market or limit) after the safety check."""

    @extend_schema(request=s.TradeInSerializer, responses={201: _any, 202: _any})
    def post(self, request: Request) -> Response:
        trade_request = validated(s.TradeInSerializer, request.data).to_request()
        body = paper.trade_open(user=request.user, request=trade_request)
        return Response(body, status=202 if body.get("status") == "pending" else 201)


class SafetyCheckApi(APIView):
    """Every risk rule's verdict on a proposed trade; changes nothing."""

    @extend_schema(request=s.TradeInSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        trade_request = validated(s.TradeInSerializer, request.data).to_request()
        return Response(paper.order_safety_check(user=request.user, request=trade_request))


class TradePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class TradeListApi(APIView):
    """The user's trades, filtered, ordered and paginated."""

    @extend_schema(
        operation_id="trades_list", parameters=[s.TradeListQuerySerializer], responses=_any
    )
    def get(self, request: Request) -> Response:
        query = validated(s.TradeListQuerySerializer, request.query_params).validated_data
        rows, render = trade_list(user=request.user, filters=query)
        paginator = TradePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(render(page))


class TradeDetailApi(APIView):
    """One trade with its orders and fills."""

    @extend_schema(operation_id="trades_detail", responses=_any)
    def get(self, request: Request, number: int) -> Response:
        return Response(trade_get(user=request.user, number=number, detail=True))


class TradeCloseApi(APIView):
    """Close all or part of an open trade."""

    @extend_schema(request=s.TradeCloseSerializer, responses=_any)
    def post(self, request: Request, number: int) -> Response:
        data = validated(s.TradeCloseSerializer, request.data).validated_data
        return Response(paper.trade_close(user=request.user, number=number, **data))


class TradeUpdateApi(APIView):
    """Change a trade's stop-loss, take-profit or trailing stop."""

    @extend_schema(request=s.TradeUpdateSerializer, responses=_any)
    def post(self, request: Request, number: int) -> Response:
        data = validated(s.TradeUpdateSerializer, request.data).validated_data
        return Response(paper.trade_update(user=request.user, number=number, changes=data))


class TradeAnalyticsApi(APIView):
    """Portfolio analytics over the user's trades and ledger."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response(trade_analytics(user=request.user))


class RiskSettingsApi(APIView):
    """The user's risk limits; POST changes any subset."""

    @extend_schema(responses=s.RiskSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(risk_settings_get(user=request.user))

    @extend_schema(request=s.RiskSettingsSerializer, responses=s.RiskSettingsSerializer)
    def post(self, request: Request) -> Response:
        data = validated(s.RiskSettingsSerializer, request.data).validated_data
        return Response(risk_settings_update(user=request.user, changes=data))
