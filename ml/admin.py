"""Admin of the model registry. Versions, runs, events and predictions are made by the
training and prediction services, so they are read-only here; the actions call services
(activation checks the artifact first, retraining is validated and queued)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from cryptobot.api.errors import ApiError
from ml.models import (
    ActiveModel,
    DataCollection,
    HybridScore,
    HybridSettings,
    ModelEvent,
    ModelVersion,
    OnlineModel,
    PerformanceSnapshot,
    Prediction,
    TrainingRun,
    Upload,
)
from ml.services.hybrid import collection_start, collection_stop, online_pause, online_reset
from ml.services.registry import model_activate
from ml.services.training import training_request


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "symbol",
        "timeframe",
        "version",
        "algorithm",
        "owner",
        "source",
        "rows",
        "status",
        "created_at",
    )
    list_filter = ("symbol", "timeframe", "algorithm", "status", "source")
    search_fields = ("symbol", "owner__username", "sha256")
    list_select_related = ("owner",)
    actions = ("make_shared_default", "retrain_like")

    @admin.action(description="Make the selected shared version every user's default")
    def make_shared_default(self, request: HttpRequest, queryset) -> None:
        for version in queryset:
            try:
                model_activate(user=request.user, version=version, shared=True)
            except ApiError as exc:
                self.message_user(request, f"{version}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{version} is the shared default.")

    @admin.action(description="Retrain with the same settings (new version)")
    def retrain_like(self, request: HttpRequest, queryset) -> None:
        for version in queryset:
            data = {
                "symbol": version.symbol,
                "timeframe": version.timeframe,
                "algorithm": version.algorithm,
                "horizon": version.horizon,
                "threshold": version.threshold,
                "classes": len(version.classes),
                "params": version.params,
                "source": version.source if version.source != "upload" else None,
            }
            try:
                run = training_request(user=request.user, data=data)
            except ApiError as exc:
                self.message_user(request, f"{version}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"training {run.pk} queued for {version.symbol}.")


@admin.register(ActiveModel)
class ActiveModelAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "timeframe", "owner", "version", "previous", "activated_at")
    list_filter = ("symbol", "timeframe")
    list_select_related = ("owner", "version", "previous")


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "symbol",
        "timeframe",
        "source",
        "owner",
        "status",
        "progress",
        "message",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "kind", "symbol", "timeframe")
    search_fields = ("message", "error", "owner__username")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "filename", "rows", "symbol", "timeframe", "created_at")
    search_fields = ("filename", "user__username")
    list_select_related = ("user",)


@admin.register(ModelEvent)
class ModelEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "level", "message", "owner", "version", "run")
    list_filter = ("level",)
    search_fields = ("message",)
    list_select_related = ("owner", "version", "run")
    date_hierarchy = "created_at"


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ("as_of", "symbol", "timeframe", "version", "direction", "realized", "correct")
    list_filter = ("symbol", "timeframe", "correct")
    list_select_related = ("version",)
    date_hierarchy = "as_of"


# --------------------------------------------------------------------------- hybrid learning


@admin.register(OnlineModel)
class OnlineModelAdmin(ReadOnlyAdmin):
    list_display = (
        "symbol",
        "timeframe",
        "algorithm",
        "samples_seen",
        "paused",
        "drift_detections",
        "last_drift_at",
        "last_candle",
        "updated_at",
    )
    exclude = ("state",)  # the learner's pickled state: ours only, not for a form
    actions = ("pause", "resume", "reset")

    @admin.action(description="Pause learning")
    def pause(self, request: HttpRequest, queryset) -> None:
        for model in queryset:
            online_pause(symbol=model.symbol, timeframe=model.timeframe, paused=True)

    @admin.action(description="Resume learning (catches up from the stored candles)")
    def resume(self, request: HttpRequest, queryset) -> None:
        for model in queryset:
            online_pause(symbol=model.symbol, timeframe=model.timeframe, paused=False)

    @admin.action(description="Reset (start over with the same settings)")
    def reset(self, request: HttpRequest, queryset) -> None:
        for model in queryset:
            online_reset(symbol=model.symbol, timeframe=model.timeframe, data={})


@admin.register(DataCollection)
class DataCollectionAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "timeframe", "active", "started_at", "stopped_at")
    actions = ("start", "stop")

    @admin.action(description="Start collecting")
    def start(self, request: HttpRequest, queryset) -> None:
        for row in queryset:
            collection_start(symbol=row.symbol, timeframe=row.timeframe)

    @admin.action(description="Stop collecting")
    def stop(self, request: HttpRequest, queryset) -> None:
        for row in queryset:
            collection_stop(symbol=row.symbol, timeframe=row.timeframe)


@admin.register(HybridSettings)
class HybridSettingsAdmin(ReadOnlyAdmin):
    """Changed through POST /ml/hybrid/config or the Hybrid Learning tab (validated)."""

    list_display = ("updated_at", "updated_by", "retrain_on_drift", "config")


@admin.register(HybridScore)
class HybridScoreAdmin(ReadOnlyAdmin):
    list_display = ("as_of", "symbol", "timeframe", "p_batch", "p_online", "label", "close")
    list_filter = ("symbol", "timeframe")
    date_hierarchy = "as_of"


@admin.register(PerformanceSnapshot)
class PerformanceSnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "taken_at",
        "symbol",
        "timeframe",
        "model",
        "samples",
        "accuracy",
        "log_loss",
        "pnl_pct",
        "weight",
    )
    list_filter = ("model", "symbol", "timeframe")
    date_hierarchy = "taken_at"
