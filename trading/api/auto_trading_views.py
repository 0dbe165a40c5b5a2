"""Auto-trading routes: status, start, stop and the configuration (docs/API.md).
Thin: validate input, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from trading.api import auto_trading_serializers as s
from trading.selectors.auto_trading import auto_config_dict, auto_status
from trading.services import auto_trading as auto

_error = OpenApiResponse(description="The error JSON (docs/API.md, Errors), naming the field.")


class AutoTradingStatusApi(APIView):
    """Whether the bot runs, its config, per symbol the last run and signal, the open auto
    trades, the PnL of auto trades, the last error and the recent runs."""

    @extend_schema(operation_id="auto_trading_status", responses=s.AutoStatusOutSerializer)
    def get(self, request: Request) -> Response:
        return Response(auto_status(user=request.user))


class AutoTradingStartApi(APIView):
    """Turn auto-trading on (400 naming the field if the stored config cannot run)."""

    @extend_schema(
        operation_id="auto_trading_start",
        request=None,
        responses={200: s.AutoStatusOutSerializer, 400: _error},
    )
    def post(self, request: Request) -> Response:
        auto.auto_trading_start(user=request.user)
        return Response(auto_status(user=request.user))


class AutoTradingStopApi(APIView):
    """Turn auto-trading off; open auto trades stay open."""

    @extend_schema(
        operation_id="auto_trading_stop", request=None, responses=s.AutoStatusOutSerializer
    )
    def post(self, request: Request) -> Response:
        auto.auto_trading_stop(user=request.user)
        return Response(auto_status(user=request.user))


class AutoTradingConfigApi(APIView):
    """The auto-trading configuration with every strategy's parameter schema; POST changes
    any subset of it (validated as a whole: a refusal changes nothing)."""

    @extend_schema(operation_id="auto_trading_config", responses=s.AutoConfigOutSerializer)
    def get(self, request: Request) -> Response:
        return Response(auto_config_dict(auto.auto_config_get(user=request.user)))

    @extend_schema(
        operation_id="auto_trading_config_update",
        request=s.AutoConfigInSerializer,
        responses={200: s.AutoConfigOutSerializer, 400: _error},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AutoConfigInSerializer, request.data).validated_data
        return Response(auto_config_dict(auto.auto_config_update(user=request.user, data=data)))
