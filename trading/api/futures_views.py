"""Friendly USD-M futures routes (/futures/*): account, positions, orders, leverage, margin
type and signals, on the same services as the Binance-compatible API.
Thin: validate input, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.errors import Conflict, NotFound
from cryptobot.api.serializers import validated
from trading import engine as core
from trading.api import futures_serializers as s
from trading.selectors.orders import futures_account_get, order_get, order_list
from trading.selectors.signals import signal_list
from trading.services.markets import watched_symbols
from trading.services.orders import leverage_set, margin_type_set, order_cancel, order_place

FUTURES = str(core.Market.FUTURES)
_error = OpenApiResponse(description="The error JSON (docs/API.md, Errors).")


class FuturesAccountApi(APIView):
    """Wallet, equity, available balance, margins, unrealized PnL, open positions and the
    leverage and margin type of each symbol."""

    @extend_schema(responses=s.FuturesAccountOutSerializer)
    def get(self, request: Request) -> Response:
        account = futures_account_get(user=request.user)
        return Response(s.account_out(account, watched_symbols()))


class FuturesPositionListApi(APIView):
    """Open positions with mark price, unrealized PnL, margin and liquidation price."""

    @extend_schema(responses=s.PositionListSerializer)
    def get(self, request: Request) -> Response:
        positions = futures_account_get(user=request.user).positions
        return Response(s.PositionListSerializer({"positions": positions}).data)


class FuturesOrderListApi(APIView):
    """Open futures orders (``?status=all``: history too), oldest first."""

    @extend_schema(
        operation_id="futures_orders_list",
        parameters=[s.FuturesOrderQuerySerializer],
        responses={200: s.FuturesOrderListSerializer, 400: _error},
    )
    def get(self, request: Request) -> Response:
        query = validated(s.FuturesOrderQuerySerializer, request.query_params).validated_data
        orders = order_list(
            user=request.user,
            market=FUTURES,
            symbol=query.get("symbol"),
            open_only=query["status"] == "open",
            limit=query["limit"],
        )
        return Response(s.FuturesOrderListSerializer({"orders": orders}).data)


class FuturesOrderPlaceApi(APIView):
    """Place a futures order (after the safety check); 201 with the order and its fills."""

    @extend_schema(
        request=s.FuturesOrderInSerializer,
        responses={201: s.FuturesOrderPlacedSerializer, 400: _error, 422: _error},
    )
    def post(self, request: Request) -> Response:
        # Signed in on the dashboard (no token): a manual order; with a token: a script's.
        source = core.Source.MANUAL if request.auth is None else core.Source.API
        order_request = validated(s.FuturesOrderInSerializer, request.data).to_request(
            source=source
        )
        order, fills = order_place(user=request.user, request=order_request)
        body = s.FuturesOrderPlacedSerializer({"order": order, "fills": fills}).data
        return Response(body, status=201)


class FuturesOrderCancelApi(APIView):
    """Cancel one of the user's open futures orders by its id."""

    @extend_schema(
        operation_id="futures_order_cancel",
        responses={200: s.FuturesOrderOutSerializer, 404: _error, 409: _error},
    )
    def delete(self, request: Request, number: int) -> Response:
        order = order_get(user=request.user, market=FUTURES, number=number)
        if order is None:
            raise NotFound(f"You have no futures order {number}.")
        if order.status not in order.OPEN_STATUSES:
            raise Conflict(
                f"Order {number} is {order.status}: only open orders can be canceled.",
                code="order_not_open",
                details={"status": order.status},
            )
        canceled = order_cancel(user=request.user, market=FUTURES, number=number)
        return Response(s.FuturesOrderOutSerializer(canceled).data)


class FuturesLeverageApi(APIView):
    """Set a symbol's leverage (also its open position's)."""

    @extend_schema(
        request=s.LeverageInSerializer,
        responses={200: s.LeverageOutSerializer, 400: _error, 422: _error},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.LeverageInSerializer, request.data).validated_data
        result = leverage_set(user=request.user, **data)
        return Response(s.LeverageOutSerializer(result).data)


class FuturesMarginTypeApi(APIView):
    """Set a symbol's margin type (refused while it has a position or open orders)."""

    @extend_schema(
        request=s.MarginTypeInSerializer,
        responses={200: s.MarginTypeOutSerializer, 400: _error, 422: _error},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.MarginTypeInSerializer, request.data).validated_data
        result = margin_type_set(user=request.user, **data)
        return Response(s.MarginTypeOutSerializer(result).data)


class FuturesSignalListApi(APIView):
    """The latest strategy signal and ML prediction per watched symbol."""

    @extend_schema(responses=s.SignalListSerializer)
    def get(self, request: Request) -> Response:
        return Response({"signals": signal_list(user=request.user)})
