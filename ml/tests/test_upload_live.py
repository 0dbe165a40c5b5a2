"""Upload-and-retrain end to end on a real Celery worker (the ml queue): the status moves
through its states to done with a new version; a retraining that cannot work ends failed
with its reason, and the error is listed by /model/errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cryptobot.testing.fixtures import live_env
from ml.models import ModelVersion
from ml.tests.conftest import csv_bytes, token_client
from trading.strategies.frames import frame_of


@pytest.fixture
def worker_dirs(settings):
    """The directories the worker uses (its VAR_DIR), so both sides see the same files."""
    var = Path(live_env()["VAR_DIR"])
    settings.ML_ARTIFACT_DIR = var / "models"
    settings.ML_UPLOAD_DIR = var / "uploads"
    return var


def _watch(client, upload_id: str, workers, timeout: float = 240) -> tuple[dict, list[str]]:
    """Poll the status until it ends; returns the last body and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/upload_status/{upload_id}").json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in ("done", "failed"):
            return body, seen
        time.sleep(0.1)
    raise AssertionError(f"upload {upload_id} still {seen} after {timeout}s:\n{workers.log()}")


def _upload(client, name: str, candles: pd.DataFrame, **fields: str) -> str:
    response = client.post(
        "/model/upload_and_retrain",
        {
            "file": SimpleUploadedFile(name, csv_bytes(candles), content_type="text/csv"),
            "symbol": "BTCUSDT",
            **fields,
        },
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    return response.json()["upload_id"]


def test_upload_and_retrain_runs_to_a_new_version_or_fails_with_its_reason_on_a_worker(
    live_worker, user, markets, worker_dirs, hours
):
    """Two uploads on one worker (its two pool processes take one each): real candles end
    done with a new version; valid candles whose price never moves (every label falls in
    the dead zone) end failed with the reason."""
    client = token_client(user)
    good = _upload(client, "btc.csv", hours.iloc[-1500:], folds="3")
    n = 1200
    times = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 3_600_000
    flat = np.column_stack([np.full(n, 100.0)] * 4 + [np.linspace(1, 2, n)])
    hopeless = _upload(client, "flat.csv", frame_of(times, flat))

    body, seen = _watch(client, good, live_worker)
    assert body["status"] == "done", (body, live_worker.log())
    assert "training" in seen  # the progress was visible on the way
    assert body["progress"] == 100
    version = ModelVersion.objects.get(pk=body["model_version"]["id"])
    assert version.owner_id == user.pk and version.source == "upload"
    assert version.rows == 1500
    assert client.get(f"/model/versions/{version.pk}").status_code == 200

    body, _ = _watch(client, hopeless, live_worker)
    assert body["status"] == "failed"
    assert body["message"] and body["error"]
    assert ModelVersion.objects.filter(source="upload").count() == 1  # only the good one
    errors = client.get("/model/errors").json()["results"]
    assert any(str(body["training_run_id"]) in e["message"] for e in errors), errors
