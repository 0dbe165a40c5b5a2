"""Predictions: the live one for a symbol's last closed candle (stored, then scored once
its label is known), batches over an uploaded CSV, and the scoring step beat runs.

A live prediction is made once per version and closed candle: the stored Prediction row
is the shared cache between web processes (and a small in-process dict in front of it),
so /ml/predict costs a few indexed queries unless a new candle just closed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from ml.errors import NotEnoughCandles
from ml.features import WARMUP_BARS, label_series
from ml.models import ActiveModel, ModelVersion, Prediction
from ml.selectors import version_effective, version_get
from ml.services.registry import bundle_of
from ml.services.training import symbol_timeframe
from ml.services.uploads import candles_of_upload, upload_read
from trading.exchange.base import TIMEFRAMES
from trading.models import Candle
from trading.services.exchange import exchange_now_ms
from trading.strategies.frames import candles_time_ms, rows_frame

# Candles read for one live prediction: the features' warm-up plus a margin.
LIVE_CANDLES = WARMUP_BARS + 64
_recent: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()
_recent_lock = threading.Lock()
_RECENT_SIZE = 256


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _iso(ms: int) -> str:
    return _dt(ms).isoformat().replace("+00:00", "Z")


def closed_candles(symbol: str, timeframe: str, count: int) -> pd.DataFrame:
    """The newest ``count`` closed stored candles (a candle is closed once its period has
    passed on the market's clock)."""
    period = TIMEFRAMES[timeframe]
    cutoff = _dt(exchange_now_ms() - period)
    rows = list(
        Candle.objects.filter(symbol__symbol=symbol, timeframe=timeframe, open_time__lte=cutoff)
        .order_by("-open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")[:count]
    )
    rows.reverse()
    return rows_frame(rows)


_newest: dict[tuple[str, str], tuple[float, datetime]] = {}
NEWEST_SECONDS = 1.0


def newest_closed(symbol: str, timeframe: str) -> datetime | None:
    """Open time of the newest closed stored candle, remembered for up to a second (and
    never past the moment the next candle closes), so a stream of predictions costs one
    query per second instead of one each."""
    now_ms = exchange_now_ms()
    period = TIMEFRAMES[timeframe]
    hit = _newest.get((symbol, timeframe))
    if hit is not None and time.monotonic() < hit[0]:
        newest = hit[1]
        if now_ms < int(newest.timestamp() * 1000) + 2 * period:
            return newest
    newest = (
        Candle.objects.filter(
            symbol__symbol=symbol, timeframe=timeframe, open_time__lte=_dt(now_ms - period)
        )
        .order_by("-open_time")
        .values_list("open_time", flat=True)
        .first()
    )
    if newest is not None:
        _newest[(symbol, timeframe)] = (time.monotonic() + NEWEST_SECONDS, newest)
    return newest


def prediction_dict(version: ModelVersion, result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "symbol": version.symbol,
        "timeframe": version.timeframe,
        "direction": result["direction"],
        "probability": result["probability"],
        "model_version": {
            "id": version.pk,
            "version": version.version,
            "algorithm": version.algorithm,
            "horizon": version.horizon,
        },
        "as_of": _iso(result["as_of_ms"]),
        "as_of_ms": result["as_of_ms"],
    }


def prediction_make(
    *, user: AbstractBaseUser | None, symbol: str, timeframe: str
) -> dict[str, Any]:
    """The effective model's prediction for the last closed candle, stored once."""
    version, _ = version_effective(user=user, symbol=symbol, timeframe=timeframe)
    return prediction_of(version)


def prediction_of(version: ModelVersion) -> dict[str, Any]:
    """``version``'s prediction for its symbol's last closed candle (made and stored once
    per candle; later calls read it back)."""
    newest = newest_closed(version.symbol, version.timeframe)
    if newest is None:
        raise NotEnoughCandles(
            f"No closed {version.symbol} {version.timeframe} candle is stored yet.",
            details={"symbol": version.symbol, "timeframe": version.timeframe},
        )
    as_of_ms = int(newest.timestamp() * 1000)
    key = (version.pk, as_of_ms)
    with _recent_lock:
        hit = _recent.get(key)
    if hit is not None:
        return hit
    stored = Prediction.objects.filter(version=version, as_of=newest).first()
    if stored is not None:
        result = {
            "direction": stored.direction,
            "probability": stored.probability,
            "as_of_ms": as_of_ms,
        }
    else:
        result = _predict_and_store(version, as_of_ms)
    out = prediction_dict(version, result)
    with _recent_lock:
        _recent[key] = out
        while len(_recent) > _RECENT_SIZE:
            _recent.popitem(last=False)
    return out


def _predict_and_store(version: ModelVersion, as_of_ms: int) -> dict[str, Any]:
    bundle = bundle_of(version)
    candles = closed_candles(version.symbol, version.timeframe, LIVE_CANDLES)
    candles = candles[candles_time_ms(candles) <= as_of_ms]
    try:
        result = bundle.predict_last(candles)
    except ValueError as exc:
        raise NotEnoughCandles(str(exc), details={"symbol": version.symbol}) from exc
    result = {
        "direction": result["direction"],
        "probability": {k: float(v) for k, v in result["probability"].items()},
        "as_of_ms": int(result["as_of_ms"]),
    }
    try:
        with transaction.atomic():
            Prediction.objects.create(
                version=version,
                symbol=version.symbol,
                timeframe=version.timeframe,
                as_of=_dt(result["as_of_ms"]),
                direction=result["direction"],
                probability=result["probability"],
            )
    except IntegrityError:
        pass  # another process stored the same candle's prediction first: same inputs
    return result


def predictions_live() -> int:
    """Store the shared defaults' predictions for each newly closed candle (beat), so
    live accuracy is tracked even when nobody asks."""
    made = 0
    for active in ActiveModel.objects.filter(owner=None).select_related("version"):
        try:
            prediction_of(active.version)
            made += 1
        except Exception:  # one symbol's missing candles must not stop the others
            continue
    return made


def predictions_score(*, limit: int = 5000) -> int:
    """Score stored predictions whose horizon has passed against the realised label
    (the same labelling rule as training: ml.features.label_series)."""
    now_ms = exchange_now_ms()
    pending = (
        Prediction.objects.filter(scored_at__isnull=True)
        .select_related("version")
        .order_by("as_of")[:limit]
    )
    scored = 0
    by_series: dict[tuple[str, str], list[Prediction]] = {}
    for prediction in pending:
        by_series.setdefault((prediction.symbol, prediction.timeframe), []).append(prediction)
    for (symbol, timeframe), rows in by_series.items():
        period = timedelta(milliseconds=TIMEFRAMES[timeframe])
        horizon = max(p.version.horizon for p in rows)
        start = rows[0].as_of
        end = rows[-1].as_of + period * (horizon + 1)
        candles = _candles_between(symbol, timeframe, start, end)
        if candles.empty:
            continue
        times = candles_time_ms(candles)
        for prediction in rows:
            version = prediction.version
            as_of_ms = int(prediction.as_of.timestamp() * 1000)
            if as_of_ms + (version.horizon + 1) * TIMEFRAMES[timeframe] > now_ms:
                continue  # the label's candles have not all closed yet
            at = int(np.searchsorted(times, as_of_ms))
            if at >= len(times) or times[at] != as_of_ms or at + version.horizon >= len(times):
                continue
            window = candles.iloc[at : at + version.horizon + 1]
            label = label_series(
                window,
                horizon=version.horizon,
                threshold=version.threshold,
                classes=len(version.classes),
            ).iloc[0]
            realized = "" if pd.isna(label) else version.classes[int(label)]
            Prediction.objects.filter(pk=prediction.pk).update(
                realized=realized,
                correct=None if not realized else realized == prediction.direction,
                scored_at=timezone.now(),
            )
            scored += 1
    return scored


def _candles_between(symbol: str, timeframe: str, start: datetime, end: datetime) -> pd.DataFrame:
    rows = (
        Candle.objects.filter(
            symbol__symbol=symbol, timeframe=timeframe, open_time__gte=start, open_time__lte=end
        )
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )
    return rows_frame(rows.iterator())


def predictions_batch(
    *, user: AbstractBaseUser, file: Any, data: Mapping[str, Any]
) -> tuple[ModelVersion, pd.DataFrame]:
    """Predictions for every row of an uploaded CSV of candles, by ``version_id`` or the
    model active for ``user`` (symbol / timeframe). Rows inside the features' warm-up
    have no prediction (direction ""). Returns (version, frame: open_time ms, close,
    direction, one probability column per class)."""
    if data.get("version_id") not in (None, ""):
        version = version_get(user=user, version_id=data["version_id"])
    else:
        symbol, timeframe = symbol_timeframe(data, default_symbol=True)
        version, _ = version_effective(user=user, symbol=symbol, timeframe=timeframe)
    candles = candles_of_upload(upload_read(file))
    bundle = bundle_of(version)
    proba = bundle.predict_proba(candles)
    classes = list(bundle.classes)
    values = proba[classes].to_numpy(dtype=np.float64)
    valid = ~np.isnan(values).any(axis=1)
    best = np.where(valid, values.argmax(axis=1) if len(values) else 0, -1)
    frame = pd.DataFrame(
        {
            "open_time": candles_time_ms(candles),
            "close": candles["close"].to_numpy(),
            "direction": [classes[i] if i >= 0 else "" for i in best],
        }
    )
    for i, name in enumerate(classes):
        frame[f"p_{name}"] = values[:, i]
    return version, frame


def batch_rows(version: ModelVersion, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """predictions_batch's frame as JSON rows (probability None inside the warm-up)."""
    classes = list(version.classes)
    probabilities = frame[[f"p_{name}" for name in classes]].to_numpy(dtype=np.float64)
    return [
        {
            "open_time": int(time),
            "close": float(close),
            "direction": direction or None,
            "probability": (
                {name: float(p) for name, p in zip(classes, row, strict=True)}
                if direction
                else None
            ),
        }
        for time, close, direction, row in zip(
            frame["open_time"].tolist(),
            frame["close"].tolist(),
            frame["direction"].tolist(),
            probabilities,
            strict=True,
        )
    ]
