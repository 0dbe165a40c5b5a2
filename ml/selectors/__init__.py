"""Reads of the model registry for the API and the dashboard: what a user may see (shared
versions and their own), which version answers them, metrics, importance, events,
training runs and the live analytics of scored predictions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from cryptobot.api.errors import NotFound
from ml.errors import NoActiveModel
from ml.models import ActiveModel, ModelEvent, ModelVersion, Prediction, TrainingRun, Upload

CALIBRATION_BINS = 10
# A version's large JSON columns, left out where only its identity and artifact are needed
# (the prediction path reads the active version on every request).
HEAVY_FIELDS = ("metrics", "baselines", "folds", "feature_importance", "backtest", "features")


def _visible(user: AbstractBaseUser | None) -> Q:
    return Q(owner__isnull=True) | Q(owner=user) if user is not None else Q(owner__isnull=True)


def version_list(
    *, user: AbstractBaseUser, symbol: str | None = None, timeframe: str | None = None
) -> QuerySet[ModelVersion]:
    """The versions ``user`` may see, newest first per symbol and timeframe."""
    qs = ModelVersion.objects.filter(_visible(user))
    if symbol:
        qs = qs.filter(symbol=symbol)
    if timeframe:
        qs = qs.filter(timeframe=timeframe)
    return qs.order_by("symbol", "timeframe", "-version")


def version_get(*, user: AbstractBaseUser | None, version_id: Any) -> ModelVersion:
    """One version ``user`` may see; another user's private version is 404, like none."""
    try:
        pk = int(version_id)
    except (TypeError, ValueError):
        raise NotFound(f"No model version {version_id!r}.") from None
    version = ModelVersion.objects.filter(_visible(user), pk=pk).first()
    if version is None:
        raise NotFound(f"No model version {pk}.", details={"version_id": pk})
    return version


def active_for(
    *, user: AbstractBaseUser | None, symbol: str, timeframe: str
) -> tuple[ActiveModel | None, ActiveModel | None]:
    """(``user``'s own choice, the shared default) for a symbol and timeframe."""
    rows = (
        ActiveModel.objects.filter(symbol=symbol, timeframe=timeframe)
        .select_related("version")
        .defer(*(f"version__{name}" for name in HEAVY_FIELDS))
    )
    own = shared = None
    for row in rows.filter(_visible(user)):
        if row.owner_id is None:
            shared = row
        else:
            own = row
    return own, shared


def version_effective(
    *, user: AbstractBaseUser | None, symbol: str, timeframe: str
) -> tuple[ModelVersion, str]:
    """The version that answers ``user`` and whether it is their own choice ("user") or
    the shared default ("shared"); NoActiveModel (404) when neither exists."""
    own, shared = active_for(user=user, symbol=symbol, timeframe=timeframe)
    if own is not None:
        return own.version, "user"
    if shared is not None:
        return shared.version, "shared"
    raise NoActiveModel(symbol, timeframe)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def version_dict(version: ModelVersion, *, detail: bool = False) -> dict[str, Any]:
    """A version as the API shows it (``detail`` adds folds, importance and backtest)."""
    out: dict[str, Any] = {
        "id": version.pk,
        "version": version.version,
        "symbol": version.symbol,
        "timeframe": version.timeframe,
        "algorithm": version.algorithm,
        "horizon": version.horizon,
        "threshold": version.threshold,
        "classes": version.classes,
        "features": version.features,
        "params": version.params,
        "source": version.source,
        "shared": version.owner_id is None,
        "data_range": {
            "start": _iso(version.data_start),
            "end": _iso(version.data_end),
            "rows": version.rows,
        },
        "metrics": version.metrics,
        "baselines": version.baselines,
        "status": version.status,
        "sha256": version.sha256,
        "created_by": version.created_by.get_username() if version.created_by_id else None,
        "created_at": _iso(version.created_at),
    }
    if detail:
        out["folds"] = version.folds
        out["feature_importance"] = version.feature_importance
        out["backtest"] = version.backtest
    return out


def active_dict(*, user: AbstractBaseUser, symbol: str, timeframe: str) -> dict[str, Any]:
    """The active version for ``user`` (own choice or shared default) and both slots."""
    own, shared = active_for(user=user, symbol=symbol, timeframe=timeframe)
    chosen = own or shared
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "scope": "user" if own else ("shared" if shared else None),
        "version": (
            version_dict(ModelVersion.objects.get(pk=chosen.version_id)) if chosen else None
        ),
        "previous_version_id": chosen.previous_id if chosen else None,
        "activated_at": _iso(chosen.activated_at) if chosen else None,
        "shared_default_id": shared.version_id if shared else None,
        "own_choice_id": own.version_id if own else None,
    }


def event_list(*, user: AbstractBaseUser, level: str | None = None) -> QuerySet[ModelEvent]:
    """Shared events and ``user``'s own, newest first (``level`` e.g. "error")."""
    qs = ModelEvent.objects.filter(_visible(user))
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("-created_at", "-id")


def event_dict(event: ModelEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "level": event.level,
        "message": event.message,
        "context": event.context,
        "version_id": event.version_id,
        "run_id": event.run_id,
        "created_at": _iso(event.created_at),
    }


def run_get(*, user: AbstractBaseUser, run_id: Any) -> TrainingRun:
    """A training run ``user`` asked for or may see (shared runs are visible to all)."""
    try:
        pk = int(run_id)
    except (TypeError, ValueError):
        raise NotFound(f"No training run {run_id!r}.") from None
    run = TrainingRun.objects.filter(
        Q(owner__isnull=True) | Q(owner=user) | Q(requested_by=user), pk=pk
    ).first()
    if run is None:
        raise NotFound(f"No training run {pk}.", details={"run_id": pk})
    return run


def run_dict(run: TrainingRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "source": run.source,
        "config": run.config,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "log": run.log.splitlines()[-200:],
        "error": run.error or None,
        "model_version": (
            {"id": run.version_id, "version": run.version.version} if run.version_id else None
        ),
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def upload_get(*, user: AbstractBaseUser, upload_id: Any) -> Upload:
    """One of ``user``'s uploads (another user's is 404)."""
    try:
        key = uuid.UUID(str(upload_id))
    except ValueError:
        key = None
    upload = (
        Upload.objects.select_related("run", "run__version").filter(pk=key, user=user).first()
        if key is not None
        else None
    )
    if upload is None:
        raise NotFound(f"No upload {upload_id}.", details={"upload_id": str(upload_id)})
    return upload


def upload_dict(upload: Upload) -> dict[str, Any]:
    run = upload.run
    return {
        "upload_id": str(upload.pk),
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "error": run.error or None,
        "filename": upload.filename,
        "rows": upload.rows,
        "symbol": upload.symbol,
        "timeframe": upload.timeframe,
        "training_run_id": run.pk,
        "model_version": (
            {"id": run.version_id, "version": run.version.version} if run.version_id else None
        ),
        "created_at": _iso(upload.created_at),
        "finished_at": _iso(run.finished_at),
    }


def analytics(*, user: AbstractBaseUser, symbol: str, timeframe: str) -> dict[str, Any]:
    """Live performance of the versions ``user`` may see for a symbol and timeframe, from
    scored predictions: accuracy per day, confusion matrix and calibration of the active
    version, and a per-version comparison (live beside out-of-sample)."""
    try:
        light, scope = version_effective(user=user, symbol=symbol, timeframe=timeframe)
        active = ModelVersion.objects.get(pk=light.pk)
    except NoActiveModel:
        active, scope = None, None
    versions = list(version_list(user=user, symbol=symbol, timeframe=timeframe))
    scored = Prediction.objects.filter(
        version__in=versions, symbol=symbol, timeframe=timeframe, correct__isnull=False
    ).order_by("as_of")
    per_version: dict[int, list[Prediction]] = defaultdict(list)
    for prediction in scored.only(
        "version_id", "as_of", "direction", "probability", "realized", "correct"
    ):
        per_version[prediction.version_id].append(prediction)
    comparison = []
    for version in versions:
        rows = per_version.get(version.pk, [])
        hits = sum(1 for p in rows if p.correct)
        comparison.append(
            {
                "version_id": version.pk,
                "version": version.version,
                "algorithm": version.algorithm,
                "active": active is not None and version.pk == active.pk,
                "live_predictions": len(rows),
                "live_accuracy": hits / len(rows) if rows else None,
                "test_accuracy": (version.metrics or {}).get("accuracy"),
                "test_balanced_accuracy": (version.metrics or {}).get("balanced_accuracy"),
                "baseline_accuracy": (version.baselines or {}).get("majority", {}).get("accuracy"),
            }
        )
    own = per_version.get(active.pk, []) if active else []
    classes = list(active.classes) if active else []
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "active_version_id": active.pk if active else None,
        "scope": scope,
        "scored": len(own),
        "pending": (
            Prediction.objects.filter(version=active, correct__isnull=True).count() if active else 0
        ),
        "accuracy_over_time": _accuracy_by_day(own),
        "confusion_matrix": {"classes": classes, "matrix": _confusion(own, classes)},
        "calibration": _calibration(own, classes),
        "versions": comparison,
    }


def _accuracy_by_day(rows: list[Prediction]) -> list[dict[str, Any]]:
    days: dict[str, list[bool]] = defaultdict(list)
    for p in rows:
        days[p.as_of.strftime("%Y-%m-%d")].append(bool(p.correct))
    return [
        {"date": day, "predictions": len(hits), "accuracy": sum(hits) / len(hits)}
        for day, hits in sorted(days.items())
    ]


def _confusion(rows: list[Prediction], classes: list[str]) -> list[list[int]]:
    index = {name: i for i, name in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for p in rows:
        if p.realized in index and p.direction in index:
            matrix[index[p.realized]][index[p.direction]] += 1
    return matrix


def _calibration(rows: list[Prediction], classes: list[str]) -> list[dict[str, Any]]:
    """Predicted probability of "up" in ten bins against how often "up" happened."""
    if "up" not in classes:
        return []
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(CALIBRATION_BINS)]
    for p in rows:
        prob = float((p.probability or {}).get("up", 0.0))
        slot = min(int(prob * CALIBRATION_BINS), CALIBRATION_BINS - 1)
        bins[slot].append((prob, p.realized == "up"))
    out = []
    for i, members in enumerate(bins):
        if not members:
            continue
        out.append(
            {
                "bin": [i / CALIBRATION_BINS, (i + 1) / CALIBRATION_BINS],
                "predicted": sum(m[0] for m in members) / len(members),
                "observed": sum(1 for m in members if m[1]) / len(members),
                "count": len(members),
            }
        )
    return out
