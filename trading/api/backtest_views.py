"""Backtest routes: run, list, read, delete, sweep, and the strategy catalogue.
Thin: validate input, call one service or selector, render (see docs/API.md, Backtests)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from trading.api import backtest_serializers as s
from trading.selectors import backtests as reads
from trading.services import backtests as service

_any = OpenApiResponse(description="See docs/API.md, section Backtests.")
_accepted = OpenApiResponse(description="Queued: {id, status} (sweep: {id, status, backtests}).")


class BacktestPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class BacktestRunApi(APIView):
    """Queue a backtest of a strategy over stored candles; poll GET /backtest/{id}."""

    @extend_schema(request=s.BacktestRunSerializer, responses={202: _accepted, 400: _any})
    def post(self, request: Request) -> Response:
        data = validated(s.BacktestRunSerializer, request.data).validated_data
        backtest = service.backtest_create(user=request.user, data=data)
        return Response({"id": backtest.pk, "status": backtest.status}, status=202)


class BacktestListApi(APIView):
    """The user's backtests, newest first, filtered and paginated (no trades or curves)."""

    @extend_schema(
        operation_id="backtest_list", parameters=[s.BacktestListQuerySerializer], responses=_any
    )
    def get(self, request: Request) -> Response:
        query = validated(s.BacktestListQuerySerializer, request.query_params).validated_data
        paginator = BacktestPagination()
        page = paginator.paginate_queryset(
            reads.backtest_list(user=request.user, filters=query), request, view=self
        )
        return paginator.get_paginated_response([reads.backtest_dict(b) for b in page])


class BacktestDetailApi(APIView):
    """One backtest: status, progress, inputs and, once done, metrics, trades and equity."""

    @extend_schema(operation_id="backtest_detail", responses=_any)
    def get(self, request: Request, backtest_id: int) -> Response:
        backtest = reads.backtest_get(user=request.user, backtest_id=backtest_id)
        return Response(reads.backtest_dict(backtest, detail=True))

    @extend_schema(operation_id="backtest_delete", responses={204: None, 404: _any})
    def delete(self, request: Request, backtest_id: int) -> Response:
        service.backtest_delete(user=request.user, backtest_id=backtest_id)
        return Response(status=204)


class BacktestSweepApi(APIView):
    """Queue a parameter sweep: one backtest per parameter set, over every worker."""

    @extend_schema(request=s.BacktestSweepSerializer, responses={202: _accepted, 400: _any})
    def post(self, request: Request) -> Response:
        data = validated(s.BacktestSweepSerializer, request.data).validated_data
        sweep = service.sweep_create(user=request.user, data=data)
        return Response(
            {"id": sweep.pk, "status": sweep.status, "backtests": sweep.total}, status=202
        )


class BacktestSweepDetailApi(APIView):
    """A sweep's status, progress and its backtests ranked by the chosen metric."""

    @extend_schema(operation_id="backtest_sweep_detail", responses=_any)
    def get(self, request: Request, sweep_id: int) -> Response:
        sweep = reads.sweep_get(user=request.user, sweep_id=sweep_id)
        return Response(reads.sweep_results(sweep))


class BacktestStrategyListApi(APIView):
    """The registered strategies with their parameter schemas."""

    @extend_schema(operation_id="backtest_strategies", responses=_any)
    def get(self, request: Request) -> Response:
        return Response({"strategies": reads.strategy_catalogue()})
