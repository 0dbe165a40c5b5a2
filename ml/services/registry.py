"""The model registry's writes: recording a trained version, activating one (rollback is
activating an older one), and loading a version's model with its integrity checked.

Loaded models are kept in this process (a few, least recently used first out), keyed by
the artifact file's identity, so a prediction does not re-read the file; a file changed
on disk is read again and its sha256 checked again, so tampering is caught on the next
use, not only at start-up.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from rest_framework.exceptions import PermissionDenied

from ml.artifacts import ArtifactError, artifact_load, artifact_save
from ml.errors import ArtifactInvalid
from ml.models import ActiveModel, ModelEvent, ModelVersion, TrainingRun
from ml.services.events import model_event_log
from ml.training import ModelBundle, TrainingResult
from trading.errors import InvalidParameter

CACHE_SIZE = 8
_cache: OrderedDict[tuple[int, str, int, int], ModelBundle] = OrderedDict()
_cache_lock = threading.Lock()


def artifact_path(version: ModelVersion) -> Path:
    return Path(settings.ML_ARTIFACT_DIR) / version.artifact


def bundle_of(version: ModelVersion) -> ModelBundle:
    """The version's model, loaded once per process and re-checked if its file changes.

    Raises ArtifactInvalid (409) when the file is missing, altered or not a model; the
    refusal is recorded as an error event."""
    path = artifact_path(version)
    try:
        stat = os.stat(path)
        key = (version.pk, version.sha256, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None:
        with _cache_lock:
            bundle = _cache.get(key)
            if bundle is not None:
                _cache.move_to_end(key)
                return bundle
    try:
        bundle = artifact_load(path, version.sha256)
    except ArtifactError as exc:
        model_event_log(
            level=ModelEvent.Level.ERROR,
            message=f"{version} refused on load: {exc}",
            owner=version.owner,
            version=version,
            context={"artifact": version.artifact},
        )
        raise ArtifactInvalid(str(exc), details={"version_id": version.pk}) from exc
    if key is not None:
        with _cache_lock:
            _cache[key] = bundle
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return bundle


def version_record(*, run: TrainingRun, result: TrainingResult) -> ModelVersion:
    """Save the trained model's artifact (named after the run, so concurrent trainings
    never share a file) and its ModelVersion row with the next number for the symbol and
    timeframe; two trainings finishing together retry on the unique number."""
    bundle = result.bundle
    data = result.data_range
    # named after the run plus a random part: unique across databases sharing the folder
    stem = f"{run.symbol}-{run.timeframe}-run{run.pk}-{secrets.token_hex(4)}"
    path, digest = artifact_save(bundle, Path(settings.ML_ARTIFACT_DIR), stem)
    for attempt in range(5):
        latest = ModelVersion.objects.filter(symbol=run.symbol, timeframe=run.timeframe).aggregate(
            n=Max("version")
        )["n"]
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    owner=run.owner,
                    symbol=run.symbol,
                    timeframe=run.timeframe,
                    version=(latest or 0) + 1,
                    algorithm=bundle.algorithm,
                    horizon=bundle.horizon,
                    threshold=bundle.threshold,
                    classes=list(bundle.classes),
                    features=list(bundle.features),
                    params=dict(bundle.params),
                    source=run.source,
                    data_start=_dt(data["start_ms"]),
                    data_end=_dt(data["end_ms"]),
                    rows=int(data["rows"]),
                    metrics=result.metrics,
                    baselines=result.baselines,
                    folds=result.folds,
                    feature_importance=result.feature_importance,
                    backtest=result.backtest,
                    artifact=path.name,
                    sha256=digest,
                    created_by=run.requested_by,
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def model_activate(
    *, user: AbstractBaseUser | None, version: ModelVersion, shared: bool = False
) -> ActiveModel:
    """Make ``version`` the one that answers ``user``'s predictions for its symbol and
    timeframe (``shared``: the default of every user without a choice of their own; staff
    only, shared versions only). The artifact is checked first: a broken version is never
    activated. Rollback is this with an older version; ``previous`` remembers the last one.
    """
    if shared and user is not None and not user.is_staff:
        raise PermissionDenied("Only staff can change the shared default model.")
    if shared and version.owner_id is not None:
        raise InvalidParameter("version_id", "a private version cannot be the shared default.")
    if version.status != ModelVersion.Status.READY:
        raise InvalidParameter("version_id", f"version {version.pk} is {version.status}.")
    bundle_of(version)
    owner = None if shared else user
    with transaction.atomic():
        active = (
            ActiveModel.objects.select_for_update()
            .filter(owner=owner, symbol=version.symbol, timeframe=version.timeframe)
            .first()
        )
        if active is None:
            active = ActiveModel.objects.create(
                owner=owner,
                symbol=version.symbol,
                timeframe=version.timeframe,
                version=version,
                activated_by=user,
            )
            previous = None
        else:
            previous = active.version
            if previous.pk != version.pk:
                active.previous = previous
            active.version = version
            active.activated_by = user
            active.save()
    scope = "shared default" if shared else f"active for {getattr(user, 'username', 'system')}"
    model_event_log(
        message=f"{version} is now the {scope}"
        + (f" (was v{previous.version})" if previous is not None else ""),
        owner=owner,
        version=version,
        context={"previous_version_id": previous.pk if previous else None, "shared": shared},
    )
    return active


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)
