"""Model and ML routes: the registry, predictions, uploads, training runs, analytics and
events. Thin: validate input, call one service or selector, render (docs/API.md,
sections Models and ML)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from ml import selectors as reads
from ml.api import serializers as s
from ml.services import hybrid, predictions, registry, training, uploads

_any = OpenApiResponse(description="See docs/API.md, sections Models and ML.")


class MlPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _symbol_timeframe(request: Request) -> tuple[str, str]:
    query = validated(s.SymbolQuerySerializer, request.query_params).validated_data
    return training.symbol_timeframe(query, default_symbol=True)


def _version(request: Request):
    """?version_id= (one the user may see), else the version active for ?symbol=."""
    query = validated(s.VersionQuerySerializer, request.query_params).validated_data
    if query.get("version_id"):
        return reads.version_get(user=request.user, version_id=query["version_id"])
    symbol, timeframe = training.symbol_timeframe(query, default_symbol=True)
    version, _ = reads.version_effective(user=request.user, symbol=symbol, timeframe=timeframe)
    return version


class ModelVersionListApi(APIView):
    """Every version the user may see (shared ones and their own), newest first."""

    @extend_schema(
        operation_id="model_versions_list",
        parameters=[s.VersionListQuerySerializer],
        responses=_any,
    )
    def get(self, request: Request) -> Response:
        query = validated(s.VersionListQuerySerializer, request.query_params).validated_data
        symbol = query.get("symbol")
        if symbol:
            symbol, _ = training.symbol_timeframe({"symbol": symbol})
        paginator = MlPagination()
        page = paginator.paginate_queryset(
            reads.version_list(user=request.user, symbol=symbol, timeframe=query.get("timeframe")),
            request,
            view=self,
        )
        return paginator.get_paginated_response([reads.version_dict(v) for v in page])


class ModelVersionDetailApi(APIView):
    """One version with its folds, feature importance and backtest."""

    @extend_schema(operation_id="model_version_detail", responses=_any)
    def get(self, request: Request, version_id: int) -> Response:
        version = reads.version_get(user=request.user, version_id=version_id)
        return Response(reads.version_dict(version, detail=True))


class ActiveVersionApi(APIView):
    """GET: the version answering the user's predictions. POST: activate (or roll back to)
    a version for the user, or as the shared default (staff)."""

    @extend_schema(parameters=[s.SymbolQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        symbol, timeframe = _symbol_timeframe(request)
        return Response(reads.active_dict(user=request.user, symbol=symbol, timeframe=timeframe))

    @extend_schema(request=s.ActivateSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.ActivateSerializer, request.data).validated_data
        version = reads.version_get(user=request.user, version_id=data["version_id"])
        registry.model_activate(user=request.user, version=version, shared=data["shared"])
        return Response(
            reads.active_dict(user=request.user, symbol=version.symbol, timeframe=version.timeframe)
        )


class PredictApi(APIView):
    """The active model's prediction for the last closed candle of ?symbol=&timeframe=
    (``model=hybrid``: the blend of the batch and online models)."""

    @extend_schema(parameters=[s.PredictQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        query = validated(s.PredictQuerySerializer, request.query_params).validated_data
        symbol, timeframe = training.symbol_timeframe(query, default_symbol=True)
        if query["model"] == "hybrid":
            return Response(
                hybrid.hybrid_predict(user=request.user, symbol=symbol, timeframe=timeframe)
            )
        return Response(
            predictions.prediction_make(user=request.user, symbol=symbol, timeframe=timeframe)
        )


class PredictBatchApi(APIView):
    """Predictions for every row of an uploaded CSV of candles (JSON, or ?format=csv)."""

    parser_classes = [MultiPartParser, FormParser]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # ?format=csv selects this route's output, not a DRF renderer; errors stay JSON.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(request=s.PredictBatchSerializer, responses=_any)
    def post(self, request: Request) -> Response | HttpResponse:
        data = validated(s.PredictBatchSerializer, request.data).validated_data
        version, frame = predictions.predictions_batch(
            user=request.user, file=data.get("file"), data=data
        )
        if request.query_params.get("format") == "csv":
            response = HttpResponse(frame.to_csv(index=False), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="predictions.csv"'
            return response
        rows = predictions.batch_rows(version, frame)
        return Response(
            {
                "model_version": reads.version_dict(version),
                "rows": len(rows),
                "predicted": sum(1 for r in rows if r["direction"]),
                "predictions": rows,
            }
        )


class UploadAndRetrainApi(APIView):
    """Upload a CSV of candles and retrain on it on a worker; poll /upload_status/{id}."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=s.UploadSerializer, responses={202: _any, 400: _any})
    def post(self, request: Request) -> Response:
        data = validated(s.UploadSerializer, request.data).validated_data
        upload = uploads.upload_create(user=request.user, file=data.get("file"), data=data)
        return Response(
            {
                "upload_id": str(upload.pk),
                "status": upload.run.status,
                "status_url": f"/upload_status/{upload.pk}",
            },
            status=202,
        )


class UploadStatusApi(APIView):
    """An upload's retraining: status, progress 0-100, message, resulting version."""

    @extend_schema(responses=_any)
    def get(self, request: Request, upload_id: str) -> Response:
        return Response(reads.upload_dict(reads.upload_get(user=request.user, upload_id=upload_id)))


class ModelMetricsApi(APIView):
    """A version's out-of-sample metrics beside its baselines, with the folds."""

    @extend_schema(parameters=[s.VersionQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        version = _version(request)
        return Response(
            {
                "version": reads.version_dict(version),
                "metrics": version.metrics,
                "baselines": version.baselines,
                "folds": version.folds,
                "backtest": version.backtest,
            }
        )


class FeatureImportanceApi(APIView):
    """A version's permutation feature importance on held-out data."""

    @extend_schema(parameters=[s.VersionQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        version = _version(request)
        return Response(
            {
                "version_id": version.pk,
                "version": version.version,
                "feature_importance": version.feature_importance,
            }
        )


class ModelAnalyticsApi(APIView):
    """Live accuracy over time, confusion matrix, calibration, per-version comparison."""

    @extend_schema(parameters=[s.SymbolQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        symbol, timeframe = _symbol_timeframe(request)
        return Response(reads.analytics(user=request.user, symbol=symbol, timeframe=timeframe))


class ModelLogsApi(APIView):
    """Model events (trainings, activations, refusals), newest first."""

    error_only = False

    @extend_schema(parameters=[s.EventQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        query = validated(s.EventQuerySerializer, request.query_params).validated_data
        level = "error" if self.error_only else query.get("level")
        paginator = MlPagination()
        page = paginator.paginate_queryset(
            reads.event_list(user=request.user, level=level), request, view=self
        )
        return paginator.get_paginated_response([reads.event_dict(e) for e in page])


class ModelErrorsApi(ModelLogsApi):
    """Model errors only (failed trainings, refused artifacts)."""

    error_only = True


class RetrainApi(APIView):
    """Queue a training on the ml queue; poll /ml/training/{id}."""

    @extend_schema(request=s.RetrainSerializer, responses={202: _any, 400: _any})
    def post(self, request: Request) -> Response:
        data = validated(s.RetrainSerializer, request.data).validated_data
        run = training.training_request(user=request.user, data=data)
        return Response(
            {
                "training_run_id": run.pk,
                "status": run.status,
                "status_url": f"/ml/training/{run.pk}",
            },
            status=202,
        )


class TrainingRunApi(APIView):
    """A training run: status, progress, message, log, resulting version."""

    @extend_schema(responses=_any)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(reads.run_dict(reads.run_get(user=request.user, run_id=run_id)))
