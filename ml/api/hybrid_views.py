"""Hybrid-learning routes: status, the online model's figures and controls, data
collection, the blended prediction, configuration and performance history (docs/API.md,
section Hybrid learning). Thin: validate, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from ml.api import serializers as s
from ml.selectors import hybrid as reads
from ml.services import hybrid as service
from ml.services.training import symbol_timeframe
from trading.errors import InvalidParameter
from trading.selectors import parse_time

_any = OpenApiResponse(description="See docs/API.md, section Hybrid learning.")


def _series_query(request: Request) -> tuple[str, str]:
    query = validated(s.SymbolQuerySerializer, request.query_params).validated_data
    return symbol_timeframe(query, default_symbol=True)


def _series_body(request: Request, serializer=s.SeriesSerializer) -> tuple[str, str, dict]:
    data = validated(serializer, request.data).validated_data
    symbol, timeframe = symbol_timeframe(data, default_symbol=True)
    return symbol, timeframe, data


class HybridStatusApi(APIView):
    """Each component's version and health, current weights, last update, drift state."""

    @extend_schema(parameters=[s.SymbolQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        symbol, timeframe = _series_query(request)
        return Response(reads.hybrid_status(symbol=symbol, timeframe=timeframe))


class HybridPredictApi(APIView):
    """The blended probability for the last closed candle, with both components."""

    @extend_schema(parameters=[s.SymbolQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        symbol, timeframe = _series_query(request)
        return Response(
            service.hybrid_predict(user=request.user, symbol=symbol, timeframe=timeframe)
        )


class HybridConfigApi(APIView):
    """GET the hybrid's configuration; POST changes it (staff; every field checked)."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        row = service.hybrid_settings()
        return Response({**row.config, "retrain_on_drift": row.retrain_on_drift})

    @extend_schema(request=None, responses=_any)
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise InvalidParameter("body", "send a JSON object of configuration fields.")
        row = service.hybrid_config_update(user=request.user, data=request.data)
        return Response({**row.config, "retrain_on_drift": row.retrain_on_drift})


class OnlineStatsApi(APIView):
    """The online model: samples seen, rolling metrics, drift, last learned candle."""

    @extend_schema(parameters=[s.SymbolQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        symbol, timeframe = _series_query(request)
        return Response(reads.online_stats(symbol=symbol, timeframe=timeframe))


class OnlineResetApi(APIView):
    """Start the online model over (optionally another algorithm or settings)."""

    @extend_schema(request=s.OnlineResetSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        symbol, timeframe, data = _series_body(request, s.OnlineResetSerializer)
        settings = {k: v for k, v in data.items() if k not in ("symbol", "timeframe")}
        model = service.online_reset(
            symbol=symbol, timeframe=timeframe, data=settings, user=request.user
        )
        return Response(reads.online_stats(symbol=model.symbol, timeframe=model.timeframe))


class OnlinePauseApi(APIView):
    """Pause (or, as /ml/online/resume, resume) the online model's learning."""

    paused = True

    @extend_schema(request=s.SeriesSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        symbol, timeframe, _ = _series_body(request)
        service.online_pause(
            symbol=symbol, timeframe=timeframe, paused=self.paused, user=request.user
        )
        return Response(reads.online_stats(symbol=symbol, timeframe=timeframe))


class OnlineResumeApi(OnlinePauseApi):
    paused = False


class DataCollectionStatsApi(APIView):
    """Per collected symbol: candles, gaps, last candle, labels pending."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response(reads.collection_stats())


class DataCollectionStartApi(APIView):
    """Start gathering a symbol's candles, features and labels (and learning from them)."""

    start = True

    @extend_schema(request=s.SeriesSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        symbol, timeframe, _ = _series_body(request)
        if self.start:
            service.collection_start(symbol=symbol, timeframe=timeframe, user=request.user)
        else:
            service.collection_stop(symbol=symbol, timeframe=timeframe, user=request.user)
        return Response(reads.collection_stats())


class DataCollectionStopApi(DataCollectionStartApi):
    start = False


class PerformanceHistoryApi(APIView):
    """Snapshots of batch, online and hybrid live accuracy, log loss and signal PnL."""

    @extend_schema(parameters=[s.PerformanceQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        query = validated(s.PerformanceQuerySerializer, request.query_params).validated_data
        symbol, timeframe = symbol_timeframe(query, default_symbol=True)
        since = parse_time("since", query["since"]) if query.get("since") else None
        return Response(
            reads.performance_history(
                symbol=symbol, timeframe=timeframe, model=query.get("model"), since=since
            )
        )
