"""Binance-compatible signed spot routes (/api/v3/*) on the paper account's spot market.

Each view parses Binance's parameters, calls one service or selector and renders with
trading/binance/order_shapes.py. Only the key owner's orders are visible: another
account's orderId is simply unknown (-2013 / -2011). Engine and risk refusals propagate
as ApiErrors and BinanceView renders them as Binance's codes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from trading import engine as core
from trading.binance import errors, order_params, order_shapes
from trading.binance.params import Params
from trading.binance.views.base import BinanceView, order_ref, symbol_param
from trading.selectors.orders import fill_list, futures_account_get, order_get, order_list
from trading.services.orders import order_cancel, order_place, orders_cancel_all
from trading.services.paper_account import paper_engine

SPOT = str(core.Market.SPOT)


class SpotAccountApi(BinanceView):
    """GET api/v3/account: commissions and every asset's free / locked balance."""

    venue = "spot"
    weight = 20
    signed = True

    def get(self, request: Request) -> Response:
        account = futures_account_get(user=self.user)
        rules = paper_engine().rules.values()
        assets = sorted({r.base for r in rules} | {r.quote for r in rules})
        return Response(
            order_shapes.spot_account(
                balances=order_shapes.spot_balances(account.state, assets),
                maker=Decimal(settings.FEE_SPOT_MAKER),
                taker=Decimal(settings.FEE_SPOT_TAKER),
                updated_ms=account.updated_ms,
                uid=self.user.pk,
            )
        )


class SpotOrderApi(BinanceView):
    """POST (place), GET (query) and DELETE (cancel) api/v3/order."""

    venue = "spot"
    signed = True

    def weight_for(self, params: Params) -> int:
        return 4 if self.request.method == "GET" else 1

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Placing and cancelling need a trade key; querying does not.
        self.trading = request.method in ("POST", "DELETE")
        super().initial(request, *args, **kwargs)

    def post(self, request: Request) -> Response:
        symbol = symbol_param(self.params, trading=True)
        parsed = order_params.spot_order(self.params, symbol)
        self.count_order()
        order, fills = order_place(user=self.user, request=parsed.request)
        return Response(order_shapes.spot_order_placed(order, fills, parsed.resp_type))

    def get(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        number, client_id = order_ref(self.params)
        order = order_get(
            user=self.user, market=SPOT, symbol=symbol, number=number, client_order_id=client_id
        )
        if order is None:
            raise errors.order_not_found()
        return Response(order_shapes.spot_order(order))

    def delete(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        number, client_id = order_ref(self.params)
        cancel_id = self.params.client_id("newClientOrderId") or order_params.new_client_id()
        order = order_cancel(
            user=self.user, market=SPOT, symbol=symbol, number=number, client_order_id=client_id
        )
        return Response(order_shapes.spot_order_canceled(order, cancel_id))


class SpotOrderTestApi(BinanceView):
    """POST api/v3/order/test: the order's parameters checked, nothing placed."""

    venue = "spot"
    signed = True
    trading = True

    def post(self, request: Request) -> Response:
        order_params.spot_order(self.params, symbol_param(self.params, trading=True))
        return Response({})


class SpotOpenOrdersApi(BinanceView):
    """GET api/v3/openOrders ([symbol]) and DELETE api/v3/openOrders (symbol)."""

    venue = "spot"
    signed = True

    def weight_for(self, params: Params) -> int:
        if self.request.method == "DELETE":
            return 1
        return 6 if "symbol" in params else 80

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.trading = request.method == "DELETE"
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> Response:
        symbol = symbol_param(self.params, required=False)
        orders = order_list(
            user=self.user, market=SPOT, symbol=symbol, open_only=True, limit=10_000
        )
        return Response([order_shapes.spot_order(o) for o in orders])

    def delete(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        assert symbol is not None
        canceled = orders_cancel_all(user=self.user, market=SPOT, symbol=symbol)
        if not canceled:
            raise errors.unknown_order_cancel()
        return Response(
            [order_shapes.spot_order_canceled(o, order_params.new_client_id()) for o in canceled]
        )


class SpotAllOrdersApi(BinanceView):
    """GET api/v3/allOrders: symbol; orderId (from), startTime, endTime, limit ≤ 1000."""

    venue = "spot"
    weight = 20
    signed = True

    def get(self, request: Request) -> Response:
        orders = order_list(
            user=self.user,
            market=SPOT,
            symbol=symbol_param(self.params),
            from_number=self.params.int("orderId"),
            start_ms=self.params.ms("startTime"),
            end_ms=self.params.ms("endTime"),
            limit=self.params.limit(default=500, most=1000),
        )
        return Response([order_shapes.spot_order(o) for o in orders])


class SpotMyTradesApi(BinanceView):
    """GET api/v3/myTrades: symbol; orderId, startTime, endTime, fromId, limit ≤ 1000."""

    venue = "spot"
    weight = 20
    signed = True

    def get(self, request: Request) -> Response:
        fills = fill_list(
            user=self.user,
            market=SPOT,
            symbol=symbol_param(self.params),
            order_number=self.params.int("orderId"),
            from_number=self.params.int("fromId"),
            start_ms=self.params.ms("startTime"),
            end_ms=self.params.ms("endTime"),
            limit=self.params.limit(default=500, most=1000),
        )
        return Response([order_shapes.spot_fill(f) for f in fills])


urlpatterns = [
    path("api/v3/account", SpotAccountApi.as_view()),
    path("api/v3/order", SpotOrderApi.as_view()),
    path("api/v3/order/test", SpotOrderTestApi.as_view()),
    path("api/v3/openOrders", SpotOpenOrdersApi.as_view()),
    path("api/v3/allOrders", SpotAllOrdersApi.as_view()),
    path("api/v3/myTrades", SpotMyTradesApi.as_view()),
]
