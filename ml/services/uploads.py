"""Uploads of candle CSVs: validated in the request (a bad file is refused with a 400 and
leaves nothing behind), then stored in the project's candle format and retrained on by a
worker as a private version of the uploader. Uploaded bytes are only ever parsed as CSV
text (ml/csv_io.py); nothing uploaded is unpickled or executed."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from ml.csv_io import CsvError, candles_from_csv
from ml.errors import CsvRejected
from ml.features import WARMUP_BARS
from ml.models import TrainingRun, Upload
from ml.services.events import model_event_log
from ml.services.training import symbol_timeframe, training_config, training_enqueue
from trading.errors import InvalidParameter
from trading.exchange.base import TIMEFRAMES
from trading.strategies.frames import candles_time_ms

logger = logging.getLogger(__name__)


def upload_read(file: UploadedFile | None, *, field: str = "file") -> bytes:
    """The uploaded file's bytes, reading at most one byte past the size limit (the CSV
    check then refuses an oversized file without holding all of it)."""
    if file is None:
        raise InvalidParameter(field, "attach a CSV file of candles (multipart field 'file').")
    limit = settings.ML_UPLOAD_MAX_BYTES
    data = file.read(limit + 1)
    return data if isinstance(data, bytes) else bytes(data)


def candles_of_upload(data: bytes, *, min_rows: int = 1) -> pd.DataFrame:
    """Parse an uploaded CSV within the configured limits; CsvRejected (400) otherwise.

    The length is checked after the rows themselves, so a short file with a bad row is
    told about the row first."""
    try:
        candles = candles_from_csv(
            data,
            max_bytes=settings.ML_UPLOAD_MAX_BYTES,
            max_rows=settings.ML_UPLOAD_MAX_ROWS,
        )
        if len(candles) < min_rows:
            raise CsvError(
                "too_few_rows",
                f"{len(candles):,} rows, at least {min_rows:,} are needed to train on "
                "(the features' warm-up, the horizon and enough labelled rows); upload a "
                "longer history",
            )
    except CsvError as exc:
        raise CsvRejected(exc) from exc
    return candles


def timeframe_of(candles: pd.DataFrame) -> str | None:
    """The timeframe whose length is the candles' usual spacing, if it is one we know."""
    times = candles_time_ms(candles)
    if len(times) < 2:
        return None
    step = int(np.median(np.diff(times)))
    return next((name for name, ms in TIMEFRAMES.items() if ms == step), None)


def upload_create(
    *, user: AbstractBaseUser, file: UploadedFile | None, data: Mapping[str, Any]
) -> Upload:
    """Validate an uploaded CSV and queue a retraining on it (private to ``user``).

    Checked before anything is written: the symbol, the training settings, the CSV
    (limits, columns, values, order) and that its spacing matches the timeframe."""
    symbol, timeframe = symbol_timeframe(
        {**data, "timeframe": data.get("timeframe") or "1h"}, default_symbol=True
    )
    config = training_config(data)
    raw = upload_read(file)
    candles = candles_of_upload(raw, min_rows=config.min_rows + WARMUP_BARS + config.horizon)
    spacing = timeframe_of(candles)
    if data.get("timeframe") in (None, "") and spacing is not None:
        timeframe = spacing
    elif spacing != timeframe:
        raise InvalidParameter(
            "timeframe",
            f"the file's candles are {spacing or 'irregularly'} spaced, not {timeframe}; "
            "give the timeframe the file holds.",
        )
    name = f"{uuid.uuid4().hex}.csv.gz"
    directory = Path(settings.ML_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    frame = candles.copy()
    frame.insert(0, "open_time_ms", candles_time_ms(candles))
    frame.to_csv(path, index=False, compression="gzip")
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                owner=user,
                requested_by=user,
                kind=TrainingRun.Kind.UPLOAD,
                symbol=symbol,
                timeframe=timeframe,
                source="upload",
                config={
                    "algorithm": config.algorithm,
                    "horizon": config.horizon,
                    "threshold": config.threshold,
                    "classes": config.classes,
                    "folds": config.folds,
                    "params": dict(config.params),
                },
                message="queued",
            )
            upload = Upload.objects.create(
                user=user,
                filename=(getattr(file, "name", "") or "")[:200],
                path=name,
                rows=len(candles),
                symbol=symbol,
                timeframe=timeframe,
                run=run,
            )
            transaction.on_commit(lambda: training_enqueue(run.pk))
    except Exception:
        path.unlink(missing_ok=True)
        raise
    model_event_log(
        message=f"Upload {upload.pk} accepted: {len(candles)} {timeframe} candles for {symbol}",
        owner=user,
        run=run,
        context={"filename": upload.filename},
    )
    return upload
