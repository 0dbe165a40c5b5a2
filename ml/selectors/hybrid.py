"""Reads of hybrid learning for the API and the dashboard: the components' health and
weights, the online model's figures, data collection, and the performance history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Max, Min
from django.utils import timezone

from ml.models import (
    ActiveModel,
    DataCollection,
    HybridScore,
    OnlineModel,
    PerformanceSnapshot,
)
from ml.services.hybrid import current_weights, hybrid_config_current, hybrid_settings
from ml.services.registry import artifact_path
from trading.exchange.base import TIMEFRAMES
from trading.models import Candle

# The online model is "stale" when its last candle is this many periods behind.
STALE_PERIODS = 3


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def online_dict(model: OnlineModel | None) -> dict[str, Any] | None:
    if model is None:
        return None
    stats = dict(model.stats or {})
    return {
        "symbol": model.symbol,
        "timeframe": model.timeframe,
        "algorithm": model.algorithm,
        "config": model.config,
        "paused": model.paused,
        "samples_seen": model.samples_seen,
        "rolling_accuracy": stats.get("rolling_accuracy"),
        "rolling_log_loss": stats.get("rolling_log_loss"),
        "accuracy": stats.get("accuracy"),
        "log_loss": stats.get("log_loss"),
        "predictions_scored": stats.get("predictions_scored"),
        "pending_labels": stats.get("pending_labels"),
        "gap_dropped": stats.get("gap_dropped"),
        "drift_detections": model.drift_detections,
        "last_drift_at": _iso(model.last_drift_at),
        "last_learned_candle": _iso(model.last_candle),
        "updated_at": _iso(model.updated_at),
    }


def online_stats(*, symbol: str, timeframe: str) -> dict[str, Any]:
    model = OnlineModel.objects.filter(symbol=symbol, timeframe=timeframe).first()
    return {"symbol": symbol, "timeframe": timeframe, "online": online_dict(model)}


def _health_online(model: OnlineModel | None, collecting: bool) -> str:
    if model is None:
        return "missing"
    if not collecting:
        return "stopped"
    if model.paused:
        return "paused"
    if model.last_candle is None:
        return "waiting"
    period = timedelta(milliseconds=TIMEFRAMES[model.timeframe])
    from trading.services.exchange import exchange_now_ms

    now = datetime.fromtimestamp(exchange_now_ms() / 1000, UTC)
    return "stale" if now - model.last_candle > period * STALE_PERIODS else "learning"


def hybrid_status(*, symbol: str, timeframe: str) -> dict[str, Any]:
    """Each component's version and health, the weights now, drift state."""
    active = (
        ActiveModel.objects.filter(owner=None, symbol=symbol, timeframe=timeframe)
        .select_related("version")
        .first()
    )
    batch: dict[str, Any] = {"health": "missing", "version": None}
    if active is not None:
        version = active.version
        healthy = artifact_path(version).exists()
        batch = {
            "health": "ready" if healthy else "artifact missing",
            "version": {
                "id": version.pk,
                "version": version.version,
                "algorithm": version.algorithm,
                "created_at": _iso(version.created_at),
            },
        }
    model = OnlineModel.objects.filter(symbol=symbol, timeframe=timeframe).first()
    collection = DataCollection.objects.filter(symbol=symbol, timeframe=timeframe).first()
    collecting = bool(collection and collection.active)
    config = hybrid_config_current()
    weights = current_weights(symbol, timeframe, config)
    last = HybridScore.objects.filter(symbol=symbol, timeframe=timeframe).aggregate(
        last=Max("as_of")
    )["last"]
    recent_drift = bool(
        model
        and model.last_drift_at
        and model.last_candle
        and model.last_candle - model.last_drift_at
        < timedelta(milliseconds=TIMEFRAMES[timeframe]) * 50
    )
    settings_row = hybrid_settings()
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "batch": batch,
        "online": {
            "health": _health_online(model, collecting),
            "paused": bool(model and model.paused),
            "algorithm": model.algorithm if model else None,
            "samples_seen": model.samples_seen if model else 0,
            "last_learned_candle": _iso(model.last_candle) if model else None,
        },
        "weights": weights,
        "last_update": _iso(last),
        "drift": {
            "state": "drift" if recent_drift else "stable",
            "detections": model.drift_detections if model else 0,
            "last_drift_at": _iso(model.last_drift_at) if model else None,
            "retrain_on_drift": settings_row.retrain_on_drift,
        },
        "config": settings_row.config,
    }


def collection_stats() -> dict[str, Any]:
    """Per collected symbol: candles stored, gaps, last candle, labels pending."""
    out = []
    for row in DataCollection.objects.order_by("symbol", "timeframe"):
        candles = Candle.objects.filter(symbol__symbol=row.symbol, timeframe=row.timeframe)
        span = candles.aggregate(first=Min("open_time"), last=Max("open_time"))
        count = candles.count()
        gaps = 0
        if span["first"] and span["last"]:
            period = timedelta(milliseconds=TIMEFRAMES[row.timeframe])
            expected = int((span["last"] - span["first"]) / period) + 1
            gaps = max(0, expected - count)
        model = OnlineModel.objects.filter(symbol=row.symbol, timeframe=row.timeframe).first()
        scores = HybridScore.objects.filter(symbol=row.symbol, timeframe=row.timeframe)
        out.append(
            {
                "symbol": row.symbol,
                "timeframe": row.timeframe,
                "active": row.active,
                "started_at": _iso(row.started_at),
                "stopped_at": _iso(row.stopped_at),
                "candles": count,
                "first_candle": _iso(span["first"]),
                "last_candle": _iso(span["last"]),
                "gaps": gaps,
                "features_rows": scores.count(),
                "labelled_rows": scores.filter(label__isnull=False).count(),
                "pending_labels": (model.stats or {}).get("pending_labels") if model else None,
                "last_learned_candle": _iso(model.last_candle) if model else None,
            }
        )
    return {"collections": out, "now": _iso(timezone.now())}


def performance_history(
    *, symbol: str, timeframe: str, model: str | None, since: datetime | None
) -> dict[str, Any]:
    qs = PerformanceSnapshot.objects.filter(symbol=symbol, timeframe=timeframe)
    if model:
        qs = qs.filter(model=model)
    if since is not None:
        qs = qs.filter(taken_at__gte=since)
    rows = list(reversed(qs.order_by("-taken_at")[:5000]))  # the newest 5,000
    series: dict[str, list[dict[str, Any]]] = {}
    for snap in rows:
        series.setdefault(snap.model, []).append(
            {
                "taken_at": _iso(snap.taken_at),
                "samples": snap.samples,
                "accuracy": snap.accuracy,
                "log_loss": snap.log_loss,
                "pnl_pct": snap.pnl_pct,
                "weight": snap.weight,
            }
        )
    return {"symbol": symbol, "timeframe": timeframe, "series": series}
