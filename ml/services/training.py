"""Training runs: validate a request, queue it on the ``ml`` queue, run it on a worker and
record the new version (ml/training.py does the learning; this module is its ORM shell).

A run goes ``queued → (validating →) training → done | failed``; the API, the upload
status route and the dashboard poll it for ``progress`` (0-100), ``message`` and ``log``.
Where the candles come from (``source``): ``shipped`` (the real history shipped with the
project), ``stored`` (the candles in the database) or ``upload`` (a user's validated CSV).
Who owns the result: staff and the system train shared versions, other users private ones.
Shared versions become the shared default when there is none yet or when they score at
least as well out of sample (log loss) as the current default; private versions are
activated by their owner.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ml.models import ActiveModel, ModelEvent, ModelVersion, RunStatus, TrainingRun
from ml.notify import ml_event
from ml.services.events import model_event_log
from ml.services.registry import model_activate, version_record
from ml.training import ALGORITHMS, TrainConfig, TrainingError, config_check, train
from trading.errors import InvalidParameter, UnknownSymbol
from trading.exchange.base import TIMEFRAMES
from trading.models import Candle
from trading.services.markets import symbol_resolve
from trading.strategies.frames import (
    candles_read,
    rows_frame,
    shipped_candles,
    shipped_candles_path,
)

logger = logging.getLogger(__name__)

SOURCES = ("shipped", "stored", "upload")
PROGRESS_EVERY_SECONDS = 0.5
_ACTIVE = (RunStatus.QUEUED, RunStatus.VALIDATING, RunStatus.TRAINING)


# ------------------------------------------------------------------ inputs


def training_config(data: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig of request fields (algorithm, horizon, threshold, classes, folds,
    params); InvalidParameter names the first wrong field."""
    kwargs: dict[str, Any] = {}
    if data.get("algorithm") not in (None, ""):
        if data["algorithm"] not in ALGORITHMS:
            raise InvalidParameter("algorithm", f"use one of {', '.join(ALGORITHMS)}.")
        kwargs["algorithm"] = data["algorithm"]
    for name, kind in (("horizon", int), ("classes", int), ("folds", int), ("threshold", float)):
        raw = data.get(name)
        if raw in (None, ""):
            continue
        if isinstance(raw, bool):
            raise InvalidParameter(name, "must be a number.")
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise InvalidParameter(
                name, f"must be {'an integer' if kind is int else 'a number'}."
            ) from None
        if kind is float and not math.isfinite(value):
            raise InvalidParameter(name, "must be a finite number.")
        if kind is int and str(raw).strip() not in (str(value), f"{value}.0"):
            raise InvalidParameter(name, "must be a whole number.")
        kwargs[name] = value
    params = data.get("params")
    if params not in (None, ""):
        if not isinstance(params, Mapping):
            raise InvalidParameter("params", "must be an object of the algorithm's parameters.")
        kwargs["params"] = dict(params)
    config = TrainConfig(**kwargs)
    try:
        config_check(config)
    except TrainingError as exc:
        raise InvalidParameter(exc.field, exc.message) from exc
    return config


def _config_json(config: TrainConfig) -> dict[str, Any]:
    return {
        "algorithm": config.algorithm,
        "horizon": config.horizon,
        "threshold": config.threshold,
        "classes": config.classes,
        "folds": config.folds,
        "params": dict(config.params),
    }


def symbol_timeframe(data: Mapping[str, Any], *, default_symbol: bool = False) -> tuple[str, str]:
    """The request's (symbol, timeframe), validated; the symbol may default to
    ML_INITIAL_SYMBOL, the timeframe defaults to 1h."""
    raw = data.get("symbol") or (settings.ML_INITIAL_SYMBOL if default_symbol else None)
    if not raw:
        raise InvalidParameter("symbol", "give a symbol, e.g. BTCUSDT.")
    try:
        symbol = symbol_resolve(str(raw))
    except UnknownSymbol as exc:
        raise InvalidParameter("symbol", exc.message) from exc
    timeframe = str(data.get("timeframe") or "1h")
    if timeframe not in TIMEFRAMES:
        raise InvalidParameter("timeframe", f"use one of {', '.join(TIMEFRAMES)}.")
    return symbol, timeframe


def _source(raw: Any, symbol: str, timeframe: str, config: TrainConfig) -> str:
    has_shipped = shipped_candles_path(symbol, timeframe).exists()
    source = str(raw or ("shipped" if has_shipped else "stored"))
    if source not in ("shipped", "stored"):
        raise InvalidParameter(
            "source", "use shipped or stored (uploads go to /model/upload_and_retrain)."
        )
    if source == "shipped" and not has_shipped:
        raise InvalidParameter(
            "source", f"no shipped history for {symbol} {timeframe}; use stored."
        )
    if source == "stored":
        stored = Candle.objects.filter(symbol__symbol=symbol, timeframe=timeframe).count()
        if stored < config.min_rows:
            raise InvalidParameter(
                "source",
                f"only {stored} stored {symbol} {timeframe} candles; training needs at least "
                f"{config.min_rows} (import more, or use shipped).",
            )
    return source


# ------------------------------------------------------------------ requests


def training_request(
    *,
    user: AbstractBaseUser | None,
    data: Mapping[str, Any],
    kind: str = TrainingRun.Kind.MANUAL,
    enqueue: bool = True,
) -> TrainingRun:
    """Validate a retraining request and queue it (after commit) on the ``ml`` queue
    (``enqueue`` False: the caller runs it itself, e.g. ``manage.py train_model``).

    The version it makes is shared when ``user`` is None (system) or staff, else private.
    """
    symbol, timeframe = symbol_timeframe(data)
    config = training_config(data)
    source = _source(data.get("source"), symbol, timeframe, config)
    owner = None if user is None or user.is_staff else user
    with transaction.atomic():
        run = TrainingRun.objects.create(
            owner=owner,
            requested_by=user,
            kind=kind,
            symbol=symbol,
            timeframe=timeframe,
            source=source,
            config=_config_json(config),
            message="queued",
        )
        if enqueue:
            transaction.on_commit(lambda: training_enqueue(run.pk))
    model_event_log(
        message=f"Training {run.pk} queued: {symbol} {timeframe} from {source} ({kind})",
        owner=owner,
        run=run,
        context=_config_json(config),
    )
    return run


def training_enqueue(run_id: int) -> None:
    from ml.tasks import training_run_task

    training_run_task.apply_async((run_id,), queue="ml")


def training_bootstrap() -> str:
    """Queue the first shared model (ML_INITIAL_SYMBOL / TIMEFRAME on the shipped history)
    unless a shared version or a run for it already exists; says what it did."""
    symbol, timeframe = settings.ML_INITIAL_SYMBOL, settings.ML_INITIAL_TIMEFRAME
    if ModelVersion.objects.filter(owner=None, symbol=symbol, timeframe=timeframe).exists():
        return f"initial model {symbol} {timeframe}: exists"
    pending = TrainingRun.objects.filter(
        owner=None, symbol=symbol, timeframe=timeframe, status__in=_ACTIVE
    ).first()
    if pending is not None:
        return f"initial model {symbol} {timeframe}: training {pending.pk} is {pending.status}"
    run = training_request(
        user=None,
        data={"symbol": symbol, "timeframe": timeframe, "source": "shipped"},
        kind=TrainingRun.Kind.INITIAL,
    )
    return f"initial model {symbol} {timeframe}: training {run.pk} queued on the ml queue"


def training_scheduled() -> list[int]:
    """Queue a retraining of every shared default older than ML_RETRAIN_HOURS (same
    algorithm and labels, from the stored candles when there are enough, else shipped)."""
    hours = settings.ML_RETRAIN_HOURS
    if hours <= 0:
        return []
    cutoff = timezone.now() - timedelta(hours=hours)
    queued: list[int] = []
    for active in ActiveModel.objects.filter(owner=None).select_related("version"):
        version = active.version
        if version.created_at > cutoff:
            continue
        if TrainingRun.objects.filter(
            owner=None, symbol=active.symbol, timeframe=active.timeframe, status__in=_ACTIVE
        ).exists():
            continue
        data = {
            "symbol": active.symbol,
            "timeframe": active.timeframe,
            "algorithm": version.algorithm,
            "horizon": version.horizon,
            "threshold": version.threshold,
            "classes": len(version.classes),
        }
        try:
            data["source"] = "stored"
            run = training_request(user=None, data=data, kind=TrainingRun.Kind.SCHEDULED)
        except InvalidParameter:
            data["source"] = "shipped"
            run = training_request(user=None, data=data, kind=TrainingRun.Kind.SCHEDULED)
        queued.append(run.pk)
    return queued


# ------------------------------------------------------------------ the run


def training_candles(run: TrainingRun) -> pd.DataFrame:
    """The candles a run trains on, by its source."""
    if run.source == "shipped":
        return shipped_candles(run.symbol, run.timeframe)
    if run.source == "upload":
        return candles_read(Path(settings.ML_UPLOAD_DIR) / run.upload.path)
    rows = (
        Candle.objects.filter(symbol__symbol=run.symbol, timeframe=run.timeframe)
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )
    frame = rows_frame(rows.iterator())
    return frame.iloc[:-1]  # the newest candle may still be forming


def training_execute(
    run_id: int, *, on_progress: Callable[[float, str], None] | None = None
) -> str:
    """Run a queued training and record its version; returns the final status.

    Claimed with a conditional UPDATE, so a task delivered twice trains once. Progress and
    the log are written at most every PROGRESS_EVERY_SECONDS. Any error ends the run as
    ``failed`` with the message shown by /upload_status and an error event (/model/errors).
    """
    first = RunStatus.VALIDATING if _is_upload(run_id) else RunStatus.TRAINING
    claimed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=first, started_at=timezone.now(), progress=1, message=f"{first}..."
    )
    if not claimed:
        logger.info("Training run %s is gone or no longer queued; skipped", run_id)
        return "skipped"
    run = TrainingRun.objects.select_related("owner", "requested_by").get(pk=run_id)
    rows = TrainingRun.objects.filter(pk=run_id)
    log: list[str] = []
    last_write = [0.0]

    def note(line: str) -> None:
        log.append(f"{datetime.now(UTC):%H:%M:%S} {line}")

    def progress(fraction: float, message: str) -> None:
        note(message)
        if on_progress is not None:
            on_progress(fraction, message)
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_EVERY_SECONDS or fraction >= 1:
            last_write[0] = now
            rows.update(
                status=RunStatus.TRAINING,
                progress=max(2, min(99, int(5 + 94 * float(fraction)))),
                message=message[:300],
                log="\n".join(log),
            )

    try:
        candles = training_candles(run)
        note(f"{len(candles)} candles of {run.symbol} {run.timeframe} from {run.source}")
        config = TrainConfig(**run.config)
        result = train(candles, config, symbol=run.symbol, progress=progress)
        log.extend(result.log)
        version = version_record(run=run, result=result)
    except Exception as exc:  # recorded on the run and as an error event, never lost
        reason = exc.message if isinstance(exc, TrainingError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, TrainingError):
            logger.exception("Training run %s failed", run_id)
        note(f"failed: {reason}")
        rows.update(
            status=RunStatus.FAILED,
            message=reason[:300],
            error=reason[:4000],
            log="\n".join(log),
            finished_at=timezone.now(),
        )
        model_event_log(
            level=ModelEvent.Level.ERROR,
            message=f"Training {run_id} ({run.symbol} {run.timeframe}) failed: {reason}",
            owner=run.owner,
            run=run,
        )
        kind = "upload_failed" if run.kind == TrainingRun.Kind.UPLOAD else "training_failed"
        ml_event(run.owner_id, kind, {"run_id": run_id, "symbol": run.symbol, "error": reason})
        return RunStatus.FAILED
    summary = _summary(version)
    rows.update(
        status=RunStatus.DONE,
        progress=100,
        message=summary[:300],
        log="\n".join(log),
        version=version,
        finished_at=timezone.now(),
    )
    model_event_log(message=summary, owner=run.owner, version=version, run=run)
    ml_event(
        run.owner_id,
        "upload_done" if run.kind == TrainingRun.Kind.UPLOAD else "model_retrained",
        {"run_id": run_id, "version_id": version.pk, "symbol": run.symbol, "summary": summary},
    )
    if run.owner is None and _better_than_default(version):
        model_activate(user=None, version=version, shared=True)
    return RunStatus.DONE


def _is_upload(run_id: int) -> bool:
    return TrainingRun.objects.filter(pk=run_id, kind=TrainingRun.Kind.UPLOAD).exists()


def _summary(version: ModelVersion) -> str:
    metrics = version.metrics or {}
    majority = (version.baselines or {}).get("majority", {})
    return (
        f"{version} trained on {version.rows} candles: out-of-sample balanced accuracy "
        f"{_num(metrics.get('balanced_accuracy'))} (majority baseline "
        f"{_num(majority.get('balanced_accuracy'))}), log loss {_num(metrics.get('log_loss'))}"
    )


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"


def _better_than_default(version: ModelVersion) -> bool:
    """Whether a new shared version should replace the shared default (none yet, or a log
    loss out of sample no worse than the default's)."""
    current = (
        ActiveModel.objects.filter(owner=None, symbol=version.symbol, timeframe=version.timeframe)
        .select_related("version")
        .first()
    )
    if current is None:
        return True
    new = (version.metrics or {}).get("log_loss")
    old = (current.version.metrics or {}).get("log_loss")
    return new is not None and (old is None or new <= old)
