"""Hybrid learning's ORM shell: the online model of each collected symbol learns from its
closed candles (ml/online.py), both models' predictions are recorded per candle and scored
once the label is known (HybridScore), the blend's weights follow that record
(ml/hybrid.py), drift is recorded, announced and (when configured) answered by a batch
retraining, and the three models' live performance is snapshotted for its history.

Learning takes a row lock on the OnlineModel, so two workers (or beat firing twice) never
feed the same candles; the learner itself skips candles it has seen, so a retried task
learns nothing twice. Its state is saved in the same transaction as the scores it made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from cryptobot.api.errors import ApiError
from ml.errors import NotEnoughCandles
from ml.features import WARMUP_BARS
from ml.hybrid import (
    HybridError,
    blend,
    decide,
    hybrid_config_dict,
    hybrid_config_from,
    hybrid_weights,
    prequential,
    signal_pnl,
)
from ml.models import (
    ActiveModel,
    DataCollection,
    HybridScore,
    HybridSettings,
    ModelEvent,
    OnlineModel,
    PerformanceSnapshot,
    RunStatus,
    TrainingRun,
)
from ml.notify import ml_event
from ml.online import OnlineConfig, OnlineError, OnlineLearner, config_check
from ml.services.events import model_event_log
from ml.services.registry import bundle_of
from trading.errors import InvalidParameter
from trading.exchange.base import TIMEFRAMES
from trading.models import Candle
from trading.services.exchange import exchange_now_ms
from trading.strategies.frames import candles_time_ms, rows_frame

logger = logging.getLogger(__name__)

# New candles one learning step takes at most (a long catch-up continues next step).
MAX_NEW_CANDLES = 5000
SNAPSHOT_SAMPLES = 500  # scored candles each performance snapshot looks at


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# ------------------------------------------------------------------ configuration


def hybrid_settings() -> HybridSettings:
    """The one settings row, always pk 1 (created with the defaults on first use; two
    requests racing to create it get the same row)."""
    row, _ = HybridSettings.objects.get_or_create(
        pk=1, defaults={"config": hybrid_config_dict(hybrid_config_from({}))}
    )
    return row


def _staff_only(user: AbstractBaseUser | None, what: str) -> None:
    """The online models and data collection are shared by every user: staff change them."""
    if user is not None and not user.is_staff:
        raise PermissionDenied(f"Only staff can {what}.")


def hybrid_config_current():
    return hybrid_config_from(hybrid_settings().config)


def hybrid_config_update(*, user: AbstractBaseUser, data: Mapping[str, Any]) -> HybridSettings:
    """Change the hybrid's configuration (staff only). Every field is checked before
    anything is saved; a refusal names the field (400)."""
    if not user.is_staff:
        raise PermissionDenied("Only staff can change the hybrid configuration.")
    fields = dict(data)
    retrain = fields.pop("retrain_on_drift", None)
    if retrain is not None and not isinstance(retrain, bool):
        raise InvalidParameter("retrain_on_drift", "must be true or false.")
    row = hybrid_settings()
    try:
        config = hybrid_config_from({**row.config, **fields})
    except HybridError as exc:
        raise InvalidParameter(exc.field, exc.message) from exc
    row.config = hybrid_config_dict(config)
    if retrain is not None:
        row.retrain_on_drift = retrain
    row.updated_by = user
    row.save()
    model_event_log(
        message=f"Hybrid configuration changed by {user.get_username()}",
        context={**row.config, "retrain_on_drift": row.retrain_on_drift},
    )
    return row


# ------------------------------------------------------------------ controls


def online_model_get(symbol: str, timeframe: str, *, create: bool = True) -> OnlineModel | None:
    model = OnlineModel.objects.filter(symbol=symbol, timeframe=timeframe).first()
    if model is None and create:
        learner = OnlineLearner(OnlineConfig())
        model, _ = OnlineModel.objects.get_or_create(
            symbol=symbol,
            timeframe=timeframe,
            defaults={
                "algorithm": learner.config.algorithm,
                "config": _online_config_json(learner.config),
                "state": learner.to_bytes(),
                "stats": learner.stats(),
            },
        )
    return model


def _online_config_json(config: OnlineConfig) -> dict[str, Any]:
    return {
        "algorithm": config.algorithm,
        "horizon": config.horizon,
        "threshold": config.threshold,
        "learning_rate": config.learning_rate,
        "l2": config.l2,
        "drift_delta": config.drift_delta,
        "window": config.window,
        "n_models": config.n_models,
        "seed": config.seed,
    }


def collection_start(
    *, symbol: str, timeframe: str, user: AbstractBaseUser | None = None
) -> DataCollection:
    """Start gathering (and learning from) a symbol's candles; idempotent."""
    _staff_only(user, "start data collection")
    row, _ = DataCollection.objects.get_or_create(symbol=symbol, timeframe=timeframe)
    if not row.active or row.started_at is None:
        row.active, row.started_at, row.stopped_at = True, timezone.now(), None
        row.save()
    online_model_get(symbol, timeframe)
    return row


def collection_stop(
    *, symbol: str, timeframe: str, user: AbstractBaseUser | None = None
) -> DataCollection:
    _staff_only(user, "stop data collection")
    row, _ = DataCollection.objects.get_or_create(
        symbol=symbol, timeframe=timeframe, defaults={"active": False}
    )
    row.active, row.stopped_at = False, timezone.now()
    row.save()
    return row


def online_pause(
    *, symbol: str, timeframe: str, paused: bool, user: AbstractBaseUser | None = None
) -> OnlineModel:
    """Pause or resume learning (resumed, it catches up from the stored candles)."""
    _staff_only(user, "pause or resume the online model")
    model = online_model_get(symbol, timeframe)
    assert model is not None
    OnlineModel.objects.filter(pk=model.pk).update(paused=paused)
    model.refresh_from_db()
    model_event_log(
        message=f"Online model {symbol} {timeframe} {'paused' if paused else 'resumed'}"
    )
    return model


def online_reset(
    *,
    symbol: str,
    timeframe: str,
    data: Mapping[str, Any],
    user: AbstractBaseUser | None = None,
) -> OnlineModel:
    """Start the online model over (optionally with another algorithm or settings); it
    relearns from the stored candles on its next step."""
    _staff_only(user, "reset the online model")
    current = online_model_get(symbol, timeframe)
    assert current is not None
    fields = {**current.config, **{k: v for k, v in data.items() if k in current.config}}
    try:
        config = OnlineConfig(**fields)
        config_check(config)
    except OnlineError as exc:
        raise InvalidParameter(exc.field, exc.message) from exc
    except TypeError as exc:
        raise InvalidParameter("config", str(exc)) from exc
    learner = OnlineLearner(config)
    with transaction.atomic():
        OnlineModel.objects.filter(pk=current.pk).update(
            algorithm=config.algorithm,
            config=_online_config_json(config),
            state=learner.to_bytes(),
            stats=learner.stats(),
            samples_seen=0,
            last_candle=None,
            drift_detections=0,
            last_drift_at=None,
        )
        HybridScore.objects.filter(symbol=symbol, timeframe=timeframe).update(p_online=None)
    model_event_log(
        message=f"Online model {symbol} {timeframe} reset ({config.algorithm})",
        level=ModelEvent.Level.WARNING,
    )
    current.refresh_from_db()
    return current


# ------------------------------------------------------------------ learning


def _closed_frame(symbol: str, timeframe: str, since: datetime | None, limit: int) -> pd.DataFrame:
    """Closed stored candles from ``since`` (or the oldest) on, at most ``limit``."""
    period = TIMEFRAMES[timeframe]
    cutoff = _dt(exchange_now_ms() - period)
    qs = Candle.objects.filter(symbol__symbol=symbol, timeframe=timeframe, open_time__lte=cutoff)
    if since is not None:
        qs = qs.filter(open_time__gte=since)
    rows = qs.order_by("open_time").values_list(
        "open_time", "open", "high", "low", "close", "volume"
    )
    return rows_frame(rows[:limit].iterator())


def online_learn(*, symbol: str, timeframe: str) -> dict[str, Any]:
    """One learning step: feed the online model the candles closed since its last one,
    record both models' predictions and the scored outcomes, save its state."""
    collection = DataCollection.objects.filter(symbol=symbol, timeframe=timeframe).first()
    if collection is None or not collection.active:
        return {"status": "not collecting"}
    with transaction.atomic():
        model = (
            OnlineModel.objects.select_for_update()
            .filter(symbol=symbol, timeframe=timeframe)
            .first()
        )
        if model is None:
            return {"status": "no model"}
        if model.paused:
            return {"status": "paused"}
        learner = OnlineLearner.from_bytes(bytes(model.state))
        horizon = learner.config.horizon
        period = timedelta(milliseconds=TIMEFRAMES[timeframe])
        since = None
        if model.last_candle is not None:
            since = model.last_candle - period * (WARMUP_BARS + horizon + 2)
        frame = _closed_frame(symbol, timeframe, since, MAX_NEW_CANDLES + WARMUP_BARS + horizon)
        if frame.empty:
            return {"status": "no candles"}
        report = learner.process(frame)
        _record_scores(symbol, timeframe, frame, report)
        stats = learner.stats()
        drifted = bool(report.drift_detected)
        OnlineModel.objects.filter(pk=model.pk).update(
            state=learner.to_bytes(),
            stats=stats,
            samples_seen=int(stats["samples_seen"]),
            last_candle=_dt(stats["last_candle_ms"]) if stats.get("last_candle_ms") else None,
            drift_detections=int(stats["drift_detections"]),
            last_drift_at=(_dt(stats["last_drift_ms"]) if stats.get("last_drift_ms") else None),
        )
        if drifted:
            transaction.on_commit(lambda: _on_drift(symbol, timeframe, report.drift_at_ms))
    return {
        "status": "learned",
        "processed": report.processed,
        "learned": report.learned,
        "scored": report.scored,
        "drift": drifted,
    }


def online_learn_all() -> dict[str, Any]:
    """A learning step for every collected symbol (beat)."""
    out = {}
    for row in DataCollection.objects.filter(active=True):
        try:
            out[f"{row.symbol} {row.timeframe}"] = online_learn(
                symbol=row.symbol, timeframe=row.timeframe
            )
        except Exception as exc:  # one symbol's failure must not stop the others
            logger.exception("Online learning of %s %s failed", row.symbol, row.timeframe)
            model_event_log(
                level=ModelEvent.Level.ERROR,
                message=f"Online learning of {row.symbol} {row.timeframe} failed: {exc}",
            )
    return out


def _batch_p_up(symbol: str, timeframe: str, frame: pd.DataFrame) -> tuple[Any, pd.Series | None]:
    """The shared default batch model's p(up) for every candle of ``frame`` (one call)."""
    active = (
        ActiveModel.objects.filter(owner=None, symbol=symbol, timeframe=timeframe)
        .select_related("version")
        .first()
    )
    if active is None or "up" not in active.version.classes:
        return None, None
    try:
        proba = bundle_of(active.version).predict_proba(frame)
    except ApiError:
        return active.version, None
    return active.version, proba["up"]


def _record_scores(symbol: str, timeframe: str, frame: pd.DataFrame, report) -> None:
    if not report.predictions and not report.outcomes:
        return
    version, batch = _batch_p_up(symbol, timeframe, frame)
    times = candles_time_ms(frame)
    closes = dict(zip(times.tolist(), frame["close"].tolist(), strict=True))
    batch_by_time = (
        dict(zip(times.tolist(), batch.tolist(), strict=True)) if batch is not None else {}
    )
    rows = []
    for time_ms, p_online in report.predictions:
        p_batch = batch_by_time.get(time_ms)
        rows.append(
            HybridScore(
                symbol=symbol,
                timeframe=timeframe,
                as_of=_dt(time_ms),
                p_online=float(p_online),
                p_batch=None if p_batch is None or np.isnan(p_batch) else float(p_batch),
                batch_version=version,
                close=float(closes[time_ms]),
            )
        )
    HybridScore.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["symbol", "timeframe", "as_of"],
        update_fields=["p_online", "p_batch", "batch_version", "close"],
    )
    now = timezone.now()
    for time_ms, _p, label in report.outcomes:
        HybridScore.objects.filter(symbol=symbol, timeframe=timeframe, as_of=_dt(time_ms)).update(
            label=int(label), scored_at=now
        )


def _on_drift(symbol: str, timeframe: str, at_ms: list[int]) -> None:
    """Record and announce drift; retrain the batch model when configured (and idle)."""
    settings_row = hybrid_settings()
    model_event_log(
        level=ModelEvent.Level.WARNING,
        message=f"Drift detected on {symbol} {timeframe} by the online model's error stream",
        context={"at_ms": at_ms, "retrain": settings_row.retrain_on_drift},
    )
    ml_event(None, "drift_detected", {"symbol": symbol, "timeframe": timeframe, "at_ms": at_ms})
    if not settings_row.retrain_on_drift:
        return
    busy = TrainingRun.objects.filter(
        owner=None,
        symbol=symbol,
        timeframe=timeframe,
        status__in=(RunStatus.QUEUED, RunStatus.VALIDATING, RunStatus.TRAINING),
    ).exists()
    if busy:
        return
    from ml.services.training import training_request

    try:
        training_request(
            user=None,
            data={"symbol": symbol, "timeframe": timeframe},
            kind=TrainingRun.Kind.SCHEDULED,
        )
    except ApiError as exc:
        model_event_log(
            level=ModelEvent.Level.ERROR,
            message=f"Drift on {symbol} {timeframe}: retraining refused: {exc.message}",
        )


# ------------------------------------------------------------------ reading


def recent_scores(symbol: str, timeframe: str, limit: int) -> list[HybridScore]:
    rows = HybridScore.objects.filter(
        symbol=symbol, timeframe=timeframe, label__isnull=False
    ).order_by("-as_of")[:limit]
    return list(reversed(rows))


def current_weights(symbol: str, timeframe: str, config=None) -> dict[str, Any]:
    """The blend's weights now, from the last ``window`` candles both models scored."""
    config = config or hybrid_config_current()
    rows = [
        r
        for r in recent_scores(symbol, timeframe, config.window * 2)
        if r.p_batch is not None and r.p_online is not None
    ][-config.window :]
    return hybrid_weights(
        config,
        [(r.p_batch, r.label) for r in rows],
        [(r.p_online, r.label) for r in rows],
    )


def hybrid_predict(*, user: AbstractBaseUser | None, symbol: str, timeframe: str) -> dict:
    """The blended prediction for the last closed candle, with both components."""
    from ml.selectors import version_effective
    from ml.services.predictions import closed_candles, prediction_of

    config = hybrid_config_current()
    batch: dict[str, Any] | None = None
    try:
        version, _ = version_effective(user=user, symbol=symbol, timeframe=timeframe)
        batch = prediction_of(version)
    except ApiError as exc:
        batch_error = exc.message
    else:
        batch_error = None
    online_p, online_error, as_of_ms = None, None, None
    model = online_model_get(symbol, timeframe, create=False)
    if model is None or model.samples_seen == 0:
        online_error = "the online model has not learned yet (start data collection)"
    elif model.paused:
        online_error = "the online model is paused"
    else:
        learner = OnlineLearner.from_bytes(bytes(model.state))
        frame = closed_candles(symbol, timeframe, WARMUP_BARS + 64)
        try:
            online = learner.predict_proba(frame)
            online_p = float(online["up"])
            as_of_ms = int(candles_time_ms(frame)[-1])
        except ValueError as exc:
            online_error = str(exc)
    p_batch = float(batch["probability"]["up"]) if batch and "up" in batch["probability"] else None
    if p_batch is None and online_p is None:
        raise NotEnoughCandles(
            f"Neither model can predict {symbol} {timeframe}: batch: {batch_error}; "
            f"online: {online_error}",
            details={"symbol": symbol, "timeframe": timeframe},
        )
    weights = current_weights(symbol, timeframe, config)
    p_up = blend(p_batch, online_p, weights)
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "probability": {"down": 1 - p_up, "up": p_up},
        "direction": decide(p_up, config.threshold),
        "threshold": config.threshold,
        "weights": {"batch": weights["batch"], "online": weights["online"]},
        "components": {
            "batch": {
                "p_up": p_batch,
                "model_version": batch["model_version"] if batch else None,
                "as_of": batch["as_of"] if batch else None,
                "error": batch_error,
            },
            "online": {
                "p_up": online_p,
                "algorithm": model.algorithm if model else None,
                "samples_seen": model.samples_seen if model else 0,
                "error": online_error,
            },
        },
        "as_of_ms": (batch["as_of_ms"] if batch else as_of_ms),
    }


# ------------------------------------------------------------------ performance history


def performance_snapshot() -> int:
    """Snapshot batch, online and hybrid live performance of every scored series (beat)."""
    config = hybrid_config_current()
    made = 0
    series = (
        HybridScore.objects.filter(label__isnull=False)
        .order_by()
        .values_list("symbol", "timeframe")
        .distinct()
    )
    for symbol, timeframe in series:
        rows = list(
            reversed(
                HybridScore.objects.filter(symbol=symbol, timeframe=timeframe).order_by("-as_of")[
                    :SNAPSHOT_SAMPLES
                ]
            )
        )
        rows = [r for r in rows if r.p_batch is not None or r.p_online is not None]
        if not rows:
            continue
        weights = current_weights(symbol, timeframe, config)
        hybrid = [blend(r.p_batch, r.p_online, weights) for r in rows]
        for kind, probabilities, weight in (
            (PerformanceSnapshot.Kind.BATCH, [r.p_batch for r in rows], weights["batch"]),
            (PerformanceSnapshot.Kind.ONLINE, [r.p_online for r in rows], weights["online"]),
            (PerformanceSnapshot.Kind.HYBRID, hybrid, None),
        ):
            scored = [
                (p, r.label)
                for p, r in zip(probabilities, rows, strict=True)
                if p is not None and r.label is not None
            ]
            if not scored:
                continue
            measured = prequential(scored)
            # the PnL follows every candle the model gave a probability for, labelled or not
            known = [(r, p) for r, p in zip(rows, probabilities, strict=True) if p is not None]
            pnl = signal_pnl(
                [_ms(r.as_of) for r, _ in known],
                [p for _, p in known],
                [r.close for r, _ in known],
                config.threshold,
            )
            PerformanceSnapshot.objects.create(
                symbol=symbol,
                timeframe=timeframe,
                model=kind,
                samples=int(measured["samples"]),
                accuracy=measured["accuracy"],
                log_loss=measured["log_loss"],
                pnl_pct=pnl,
                weight=weight,
            )
            made += 1
    return made


def hybrid_bootstrap() -> str:
    """On a fresh install, collect the initial model's symbol so the online model learns
    from the first candles on (nothing changes once any collection exists)."""
    from django.conf import settings

    if DataCollection.objects.exists():
        return "data collection: configured"
    symbol, timeframe = settings.ML_INITIAL_SYMBOL, settings.ML_INITIAL_TIMEFRAME
    collection_start(symbol=symbol, timeframe=timeframe)
    return f"data collection: {symbol} {timeframe} started (online model learning)"
