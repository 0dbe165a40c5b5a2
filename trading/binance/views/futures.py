"""Binance-compatible signed USD-M futures routes (/fapi/*) on the paper account.

Each view parses Binance's parameters, calls one service or selector and renders with
trading/binance/order_shapes.py (orders, trades) or futures_shapes.py (account, positions,
brackets, algo orders). Conditional orders (STOP_MARKET / TAKE_PROFIT_MARKET) live only
behind /fapi/v1/algoOrder, as on Binance since Dec 2025: their algoId is the order's
number, and the plain /order routes never see them (nor the algo routes plain orders),
so the two id spaces stay disjoint. Another account's ids are simply unknown (-2013 /
-2011). Engine and risk refusals propagate as ApiErrors; BinanceView renders them.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path
from rest_framework.request import Request
from rest_framework.response import Response

from trading import engine as core
from trading.binance import errors, futures_shapes, order_params, order_shapes
from trading.binance.params import Params
from trading.binance.views.base import BinanceView, order_ref, symbol_param
from trading.models import Order
from trading.selectors.orders import fill_list, futures_account_get, order_get, order_list
from trading.services.orders import (
    leverage_set,
    margin_type_set,
    order_cancel,
    order_place,
    orders_cancel_all,
)
from trading.services.paper_account import paper_engine

FUTURES = str(core.Market.FUTURES)
ALL_OPEN = 10_000  # open orders are few; "all of them" without a practical cap
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last instant a datetime holds


class FuturesView(BinanceView):
    """A signed USD-M route; writes (POST / DELETE) need a trade key, reads do not."""

    venue = "futures"
    signed = True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.trading = request.method in ("POST", "DELETE")
        super().initial(request, *args, **kwargs)


def _version(kwargs: dict[str, Any]) -> int:
    return int(kwargs.get("version", 3))


def _cancel(user: Any, symbol: str | None, order: Order | None) -> Order:
    """Cancel ``order`` (a lookup already limited to plain or to algo orders): -2011 when
    there is none or it is no longer open."""
    if order is None or order.status not in Order.OPEN_STATUSES:
        raise errors.unknown_order_cancel()
    return order_cancel(user=user, market=FUTURES, symbol=symbol, number=order.number)


def _cancel_open(user: Any, symbol: str, *, conditional: bool) -> None:
    """Cancel every open plain (or algo) order of ``symbol``, atomically."""
    orders_cancel_all(user=user, market=FUTURES, symbol=symbol, conditional=conditional)


# --------------------------------------------------------------------------- account


class FuturesAccountApi(FuturesView):
    """GET fapi/v2/account and fapi/v3/account: totals, the USDT asset, positions."""

    weight = 5

    def get(self, request: Request, **kwargs: Any) -> Response:
        account = futures_account_get(user=self.user)
        rules = paper_engine().rules
        return Response(futures_shapes.futures_account(account, rules, version=_version(kwargs)))


class FuturesBalanceApi(FuturesView):
    """GET fapi/v2/balance and fapi/v3/balance: the USDT margin asset."""

    weight = 5

    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(futures_shapes.futures_balance(futures_account_get(user=self.user)))


class FuturesPositionRiskApi(FuturesView):
    """GET fapi/v2/positionRisk and fapi/v3/positionRisk ([symbol])."""

    weight = 5

    def get(self, request: Request, **kwargs: Any) -> Response:
        symbol = symbol_param(self.params, required=False)
        account = futures_account_get(user=self.user)
        rows = futures_shapes.position_risks(
            account, paper_engine().rules, version=_version(kwargs), symbol=symbol
        )
        return Response(rows)


class FuturesLeverageBracketApi(FuturesView):
    """GET fapi/v1/leverageBracket ([symbol]): the engine's brackets; an object for one
    symbol, a list otherwise."""

    weight = 1

    def get(self, request: Request) -> Response:
        symbol = symbol_param(self.params, required=False)
        rules = paper_engine().rules
        if symbol is not None:
            return Response(futures_shapes.leverage_bracket(rules[symbol]))
        return Response([futures_shapes.leverage_bracket(rules[s]) for s in sorted(rules)])


class FuturesLeverageApi(FuturesView):
    """POST fapi/v1/leverage: symbol, leverage (1 up to the symbol's maximum)."""

    weight = 1

    def post(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        assert symbol is not None
        leverage = self.params.int("leverage", required=True)
        assert leverage is not None
        if leverage < 1 or leverage > paper_engine().rules[symbol].max_leverage:
            raise errors.BinanceError(-4028, f"Leverage {leverage} is not valid")
        result = leverage_set(user=self.user, symbol=symbol, leverage=leverage)
        return Response(futures_shapes.leverage_set(result))


class FuturesMarginTypeApi(FuturesView):
    """POST fapi/v1/marginType: symbol, marginType ISOLATED | CROSSED."""

    weight = 1

    def post(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        assert symbol is not None
        kind = self.params.choice("marginType", ("ISOLATED", "CROSSED"), required=True)
        margin_type = "isolated" if kind == "ISOLATED" else "cross"
        margin_type_set(user=self.user, symbol=symbol, margin_type=margin_type)
        return Response({"code": 200, "msg": "success"})


class FuturesPositionSideApi(FuturesView):
    """GET / POST fapi/v1/positionSide/dual: paper accounts are one-way mode only."""

    def weight_for(self, params: Params) -> int:
        return 30 if self.request.method == "GET" else 1

    def get(self, request: Request) -> Response:
        return Response({"dualSidePosition": False})

    def post(self, request: Request) -> Response:
        if self.params.bool("dualSidePosition", default=True):
            raise errors.BinanceError(
                -1130, "Data sent for parameter 'dualSidePosition' is not valid."
            )
        return Response({"code": 200, "msg": "success"})


# --------------------------------------------------------------------------- orders


class FuturesOrderApi(FuturesView):
    """POST (place LIMIT / MARKET), GET (query) and DELETE (cancel) fapi/v1/order."""

    def weight_for(self, params: Params) -> int:
        # Placing costs no IP weight on USD-M, only a count on the ORDERS windows.
        return 0 if self.request.method == "POST" else 1

    def post(self, request: Request) -> Response:
        symbol = symbol_param(self.params, trading=True)
        assert symbol is not None
        parsed = order_params.futures_order(self.params, symbol)
        self.count_order()
        order, _ = order_place(user=self.user, request=parsed.request)
        if parsed.resp_type == "ACK":
            return Response(order_shapes.futures_order_ack(order))
        return Response(order_shapes.futures_order(order, with_time=False))

    def get(self, request: Request) -> Response:
        order = self._lookup()
        if order is None:
            raise errors.order_not_found()
        return Response(order_shapes.futures_order(order))

    def delete(self, request: Request) -> Response:
        order = _cancel(self.user, self.params.str("symbol"), self._lookup())
        return Response(order_shapes.futures_order(order))

    def _lookup(self) -> Order | None:
        symbol = symbol_param(self.params)
        number, client_id = order_ref(self.params)
        return order_get(
            user=self.user,
            market=FUTURES,
            symbol=symbol,
            number=number,
            client_order_id=client_id,
            conditional=False,
        )


class FuturesUserTradesApi(FuturesView):
    """GET fapi/v1/userTrades: symbol; orderId, startTime, endTime, fromId, limit ≤ 1000."""

    weight = 5

    def get(self, request: Request) -> Response:
        fills = fill_list(
            user=self.user,
            market=FUTURES,
            symbol=symbol_param(self.params),
            order_number=self.params.int("orderId"),
            from_number=self.params.int("fromId"),
            start_ms=self.params.ms("startTime"),
            end_ms=self.params.ms("endTime"),
            limit=self.params.limit(default=500, most=1000),
        )
        return Response([order_shapes.futures_trade(f) for f in fills])


# --------------------------------------------------------------------------- algo orders


class FuturesAlgoOrderApi(FuturesView):
    """POST (place a conditional order), GET (query) and DELETE (cancel) fapi/v1/algoOrder."""

    def weight_for(self, params: Params) -> int:
        return 0 if self.request.method == "POST" else 1

    def post(self, request: Request) -> Response:
        symbol = symbol_param(self.params, trading=True)
        assert symbol is not None
        parsed = order_params.futures_algo_order(self.params, symbol)
        self.count_order()
        order, _ = order_place(user=self.user, request=parsed.request)
        return Response(futures_shapes.algo_order(order))

    def get(self, request: Request) -> Response:
        order = self._lookup()
        if order is None:
            raise errors.order_not_found()
        return Response(futures_shapes.algo_order(order))

    def delete(self, request: Request) -> Response:
        order = _cancel(self.user, None, self._lookup())
        return Response(futures_shapes.algo_canceled(order))

    def _lookup(self) -> Order | None:
        symbol = symbol_param(self.params, required=False)
        number = self.params.int("algoId")
        client_id = self.params.str("clientAlgoId")
        if number is None and client_id is None:
            raise order_params.either_missing("algoId", "clientAlgoId")
        return order_get(
            user=self.user,
            market=FUTURES,
            symbol=symbol,
            number=number,
            client_order_id=client_id,
            conditional=True,
        )


# ------------------------------------------------ order lists and cancel-all (plain / algo)


class _OrdersCancelAllApi(FuturesView):
    """DELETE: cancel the symbol's open orders of this kind (plain or conditional)."""

    weight = 1
    conditional = False

    def delete(self, request: Request) -> Response:
        symbol = symbol_param(self.params)
        assert symbol is not None
        _cancel_open(self.user, symbol, conditional=self.conditional)
        return Response(CANCEL_ALL_DONE)


class _OpenOrderListApi(FuturesView):
    """GET ([symbol]): the open orders of this kind."""

    conditional = False
    render = staticmethod(order_shapes.futures_order)

    def weight_for(self, params: Params) -> int:
        return 1 if "symbol" in params else 40

    def get(self, request: Request) -> Response:
        orders = order_list(
            user=self.user,
            market=FUTURES,
            symbol=symbol_param(self.params, required=False),
            open_only=True,
            conditional=self.conditional,
            limit=ALL_OPEN,
        )
        return Response([self.render(o) for o in orders])


class _OrderListApi(FuturesView):
    """GET: [symbol], <id> (from), startTime, endTime, limit ≤ 1000: orders of this kind."""

    weight = 5
    conditional = False
    id_param = "orderId"
    render = staticmethod(order_shapes.futures_order)

    def get(self, request: Request) -> Response:
        orders = order_list(
            user=self.user,
            market=FUTURES,
            symbol=symbol_param(self.params, required=False),
            conditional=self.conditional,
            from_number=self.params.int(self.id_param),
            start_ms=self.params.ms("startTime"),
            end_ms=self.params.ms("endTime"),
            limit=self.params.limit(default=500, most=1000),
        )
        return Response([self.render(o) for o in orders])


class FuturesAllOpenOrdersApi(_OrdersCancelAllApi):
    """DELETE fapi/v1/allOpenOrders: cancel the symbol's open plain orders."""


class FuturesOpenOrdersApi(_OpenOrderListApi):
    """GET fapi/v1/openOrders ([symbol]): open plain orders."""


class FuturesAllOrdersApi(_OrderListApi):
    """GET fapi/v1/allOrders: [symbol], orderId (from), startTime, endTime, limit ≤ 1000."""


class FuturesAlgoOpenOrdersApi(_OrdersCancelAllApi):
    """DELETE fapi/v1/algoOpenOrders: cancel the symbol's open conditional orders."""

    conditional = True


class FuturesOpenAlgoOrdersApi(_OpenOrderListApi):
    """GET fapi/v1/openAlgoOrders ([symbol]): conditional orders waiting for a trigger."""

    conditional = True
    render = staticmethod(futures_shapes.algo_order)


class FuturesAllAlgoOrdersApi(_OrderListApi):
    """GET fapi/v1/allAlgoOrders: [symbol], algoId (from), startTime, endTime, limit."""

    conditional = True
    id_param = "algoId"
    render = staticmethod(futures_shapes.algo_order)


urlpatterns = [
    re_path(r"^fapi/v(?P<version>[23])/account$", FuturesAccountApi.as_view()),
    re_path(r"^fapi/v(?P<version>[23])/balance$", FuturesBalanceApi.as_view()),
    re_path(r"^fapi/v(?P<version>[23])/positionRisk$", FuturesPositionRiskApi.as_view()),
    path("fapi/v1/leverageBracket", FuturesLeverageBracketApi.as_view()),
    path("fapi/v1/leverage", FuturesLeverageApi.as_view()),
    path("fapi/v1/marginType", FuturesMarginTypeApi.as_view()),
    path("fapi/v1/positionSide/dual", FuturesPositionSideApi.as_view()),
    path("fapi/v1/order", FuturesOrderApi.as_view()),
    path("fapi/v1/allOpenOrders", FuturesAllOpenOrdersApi.as_view()),
    path("fapi/v1/openOrders", FuturesOpenOrdersApi.as_view()),
    path("fapi/v1/allOrders", FuturesAllOrdersApi.as_view()),
    path("fapi/v1/userTrades", FuturesUserTradesApi.as_view()),
    path("fapi/v1/algoOrder", FuturesAlgoOrderApi.as_view()),
    path("fapi/v1/algoOpenOrders", FuturesAlgoOpenOrdersApi.as_view()),
    path("fapi/v1/openAlgoOrders", FuturesOpenAlgoOrdersApi.as_view()),
    path("fapi/v1/allAlgoOrders", FuturesAllAlgoOrdersApi.as_view()),
]
