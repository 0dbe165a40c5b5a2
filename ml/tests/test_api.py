"""The model and ML routes through the HTTP API: training and the registry, predictions,
batch predictions, uploads refused and accepted, integrity of artifacts, ownership."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from ml.models import ActiveModel, ModelEvent, ModelVersion, Prediction, TrainingRun, Upload
from ml.services.predictions import predictions_score
from ml.services.registry import artifact_path
from ml.services.training import training_execute
from ml.tests.conftest import csv_bytes, record_version, token_client

pytestmark = pytest.mark.django_db


def _file(data: bytes, name: str = "candles.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


# ------------------------------------------------------------------ training and registry


def test_retrain_on_shipped_data_reports_metrics_baselines_importance_and_logs(
    user, markets, ml_dirs
):
    client = token_client(user)
    user.is_staff = True
    user.save()
    response = client.post(
        "/ml/retrain",
        {
            "symbol": "btc/usdt",
            "timeframe": "1h",
            "source": "shipped",
            "folds": 3,
            "params": {"max_iter": 60},
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    run_id = response.json()["training_run_id"]
    assert training_execute(run_id) == "done"  # what the ml-queue worker runs

    run = client.get(f"/ml/training/{run_id}").json()
    assert run["status"] == "done" and run["progress"] == 100
    assert any("fold 3" in line for line in run["log"]), run["log"]
    versions = client.get("/model/versions").json()["results"]
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["shared"] is True

    metrics = client.get("/model/metrics?symbol=BTCUSDT").json()
    names = {
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "brier",
        "confusion_matrix",
    }
    assert names <= set(metrics["metrics"])
    assert names <= set(metrics["baselines"]["majority"])
    assert names <= set(metrics["baselines"]["persistence"])
    assert len(metrics["folds"]) == 3
    assert metrics["metrics"]["samples"] > 1000
    # the honest part: every figure is out of sample, beside the naive baselines
    assert 0.3 < metrics["metrics"]["accuracy"] < 0.8

    importance = client.get("/model/feature_importance?symbol=BTCUSDT").json()
    assert {row["feature"] for row in importance["feature_importance"]} == set(
        versions[0]["features"]
    )
    logs = client.get("/model/logs").json()["results"]
    assert any("trained on" in event["message"] for event in logs)
    active = client.get("/model/active_version?symbol=BTCUSDT").json()
    assert active["scope"] == "shared" and active["version"]["id"] == versions[0]["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "NOPE"}, "symbol"),
        ({"symbol": "BTCUSDT", "horizon": -1}, "horizon"),
        ({"symbol": "BTCUSDT", "horizon": 12.5}, "horizon"),
        ({"symbol": "BTCUSDT", "threshold": "abc"}, "threshold"),
        ({"symbol": "BTCUSDT", "threshold": 5}, "threshold"),
        ({"symbol": "BTCUSDT", "classes": 4}, "classes"),
        ({"symbol": "BTCUSDT", "algorithm": "xgboost"}, "algorithm"),
        ({"symbol": "BTCUSDT", "params": {"max_iter": -3}}, "params"),
        ({"symbol": "BTCUSDT", "params": {"bogus": 1}}, "params"),
        ({"symbol": "BTCUSDT", "source": "stored"}, "source"),
        ({"symbol": "BTCUSDT", "timeframe": "2h"}, "timeframe"),
    ],
)
def test_bad_retrain_requests_are_400_naming_the_field_and_queue_nothing(
    api_client, markets, body, field
):
    response = api_client.post("/ml/retrain", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (
        field in error["message"]
        or field in error["details"].get("parameter", "")
        or (field in error["details"])
    ), error
    assert not TrainingRun.objects.exists()


def test_activation_and_rollback_are_per_user(user, other_user, shared_model, small_training):
    newer = record_version(small_training)  # becomes the shared default
    client, other = token_client(user), token_client(other_user)
    assert client.get("/model/active_version").json()["version"]["id"] == newer.pk

    response = client.post("/model/active_version", {"version_id": shared_model.pk}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["scope"] == "user" and body["version"]["id"] == shared_model.pk
    assert body["shared_default_id"] == newer.pk
    # the other user still gets the shared default
    assert other.get("/model/active_version").json()["version"]["id"] == newer.pk
    # a non-staff user cannot change the shared default
    denied = client.post(
        "/model/active_version", {"version_id": shared_model.pk, "shared": True}, format="json"
    )
    assert denied.status_code == 403
    assert ActiveModel.objects.get(owner=None).version_id == newer.pk


def test_private_versions_and_uploads_are_invisible_to_other_users(
    user, other_user, shared_model, small_training, hours
):
    private = record_version(small_training, owner=user, shared=False)
    client, other = token_client(user), token_client(other_user)
    assert client.get(f"/model/versions/{private.pk}").status_code == 200
    assert other.get(f"/model/versions/{private.pk}").status_code == 404
    assert private.pk not in [v["id"] for v in other.get("/model/versions").json()["results"]]
    refused = other.post("/model/active_version", {"version_id": private.pk}, format="json")
    assert refused.status_code == 404
    assert other.get(f"/model/metrics?version_id={private.pk}").status_code == 404

    upload = client.post(
        "/model/upload_and_retrain",
        {"file": _file(csv_bytes(hours.iloc[-900:])), "symbol": "BTCUSDT"},
        format="multipart",
    )
    assert upload.status_code == 202, upload.json()
    upload_id = upload.json()["upload_id"]
    assert client.get(f"/upload_status/{upload_id}").status_code == 200
    assert other.get(f"/upload_status/{upload_id}").status_code == 404
    assert other.get("/upload_status/not-a-uuid").status_code == 404


# ------------------------------------------------------------------ predictions


def test_predict_returns_the_active_models_view_of_the_last_closed_candle(
    api_client, shared_model, stored_hours
):
    response = api_client.get("/ml/predict?symbol=BTCUSDT&timeframe=1h")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["symbol"] == "BTCUSDT" and body["timeframe"] == "1h"
    assert set(body["probability"]) == {"down", "up"}
    assert math.isclose(sum(body["probability"].values()), 1.0, rel_tol=1e-9)
    assert body["direction"] == max(body["probability"], key=body["probability"].get)
    assert body["model_version"]["id"] == shared_model.pk
    # the last closed candle: the newest stored one is still forming
    assert body["as_of_ms"] == int(stored_hours.index[-2].value // 1_000_000)
    stored = Prediction.objects.get()
    assert stored.direction == body["direction"]
    # asked again: the same stored prediction, not a second row
    assert api_client.get("/ml/predict?symbol=BTCUSDT").json() == body
    assert Prediction.objects.count() == 1


def test_predictions_are_scored_once_the_horizon_has_passed(api_client, shared_model, stored_hours):
    api_client.get("/ml/predict?symbol=BTCUSDT")
    # a prediction of an older candle, whose 12 following candles are stored
    candle = stored_hours.index[-40]
    Prediction.objects.create(
        version=shared_model,
        symbol="BTCUSDT",
        timeframe="1h",
        as_of=candle.to_pydatetime(),
        direction="up",
        probability={"down": 0.4, "up": 0.6},
    )
    assert predictions_score() == 1  # the fresh one waits for its label
    old = Prediction.objects.get(as_of=candle.to_pydatetime())
    change = stored_hours["close"].iloc[-40 + 12] / stored_hours["close"].iloc[-40] - 1
    expected = "up" if change > 0.002 else ("down" if change < -0.002 else "")
    assert old.realized == expected
    assert old.correct == (None if not expected else expected == "up")
    assert Prediction.objects.filter(scored_at__isnull=True).count() == 1


def test_predict_without_an_active_model_is_404(api_client, markets):
    response = api_client.get("/ml/predict?symbol=ETHUSDT")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_active_model"


def test_batch_prediction_as_json_and_csv(api_client, shared_model, hours):
    data = csv_bytes(hours.iloc[-300:])
    response = api_client.post(
        "/model/predict_batch", {"file": _file(data), "symbol": "BTCUSDT"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["rows"] == 300 and body["model_version"]["id"] == shared_model.pk
    predicted = [row for row in body["predictions"] if row["direction"]]
    assert len(predicted) == body["predicted"] > 200
    assert all(math.isclose(sum(r["probability"].values()), 1.0) for r in predicted)
    assert body["predictions"][0]["direction"] is None  # inside the features' warm-up

    as_csv = api_client.post(
        "/model/predict_batch?format=csv", {"file": _file(data)}, format="multipart"
    )
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"].startswith("text/csv")
    lines = as_csv.content.decode().splitlines()
    assert lines[0] == "open_time,close,direction,p_down,p_up"
    assert len(lines) == 301


# ------------------------------------------------------------------ uploads refused

GOOD_HEADER = b"open_time,open,high,low,close,volume\n"


def _rows(count: int = 5, start: int = 1_700_000_000_000) -> bytes:
    return b"".join(f"{start + i * 3_600_000},100,101,99,100.5,10\n".encode() for i in range(count))


BAD_FILES = {
    "missing column": (b"open_time,open,high,low,close\n1,1,1,1,1\n", "csv_missing_column"),
    "text in a number": (GOOD_HEADER + b"1700000000000,abc,101,99,100,1\n", "csv_not_a_number"),
    "NaN": (GOOD_HEADER + b"1700000000000,NaN,101,99,100,1\n", "csv_not_finite"),
    "unsorted": (
        GOOD_HEADER + b"1700003600000,100,101,99,100,1\n1700000000000,100,101,99,100,1\n",
        "csv_unsorted",
    ),
    "duplicate time": (
        GOOD_HEADER + b"1700000000000,100,101,99,100,1\n1700000000000,100,101,99,100,1\n",
        "csv_duplicate_time",
    ),
    "negative price": (GOOD_HEADER + b"1700000000000,-100,101,99,100,1\n", "csv_not_positive"),
    "empty": (b"", "csv_empty"),
    "header only": (GOOD_HEADER, "csv_empty"),
    "wrong delimiter": (
        b"open_time;open;high;low;close;volume\n1700000000000;1;1;1;1;1\n",
        "csv_wrong_delimiter",
    ),
    "binary junk": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "csv_not_text"),
    "high below low": (GOOD_HEADER + b"1700000000000,100,98,99,100,1\n", "csv_inconsistent"),
    "bad time": (GOOD_HEADER + b"yesterday,100,101,99,100,1\n", "csv_bad_time"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_csv_uploads_are_refused_and_leave_no_trace(api_client, markets, ml_dirs, kind):
    data, code = BAD_FILES[kind]
    response = api_client.post(
        "/model/upload_and_retrain", {"file": _file(data), "symbol": "BTCUSDT"}, format="multipart"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    _assert_no_trace()


def test_oversized_and_too_long_uploads_are_refused(api_client, markets, ml_dirs, settings):
    settings.ML_UPLOAD_MAX_BYTES = 2_000
    big = GOOD_HEADER + _rows(100)
    response = api_client.post(
        "/model/upload_and_retrain", {"file": _file(big)}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "csv_too_large"
    settings.ML_UPLOAD_MAX_BYTES = 10_000_000
    settings.ML_UPLOAD_MAX_ROWS = 50
    response = api_client.post(
        "/model/upload_and_retrain", {"file": _file(big)}, format="multipart"
    )
    assert response.json()["error"]["code"] == "csv_too_many_rows"
    response = api_client.post(
        "/model/upload_and_retrain", {"file": _file(GOOD_HEADER + _rows(40))}, format="multipart"
    )
    assert response.json()["error"]["code"] == "csv_too_few_rows"
    _assert_no_trace()


def test_upload_without_a_file_or_with_bad_settings_is_400(api_client, markets, ml_dirs, hours):
    assert api_client.post("/model/upload_and_retrain", {}, format="multipart").status_code == 400
    response = api_client.post(
        "/upload_csv",
        {"file": _file(csv_bytes(hours.iloc[-900:])), "horizon": "0"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "horizon" in response.json()["error"]["message"]
    response = api_client.post(
        "/upload_csv",
        {"file": _file(csv_bytes(hours.iloc[-900:])), "timeframe": "4h"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "timeframe" in response.json()["error"]["message"]
    _assert_no_trace()


def _assert_no_trace() -> None:
    assert not Upload.objects.exists()
    assert not TrainingRun.objects.exists()
    assert not ModelEvent.objects.exists()
    uploads = Path(settings.ML_UPLOAD_DIR)
    assert not uploads.exists() or not any(uploads.iterdir())


# ------------------------------------------------------------------ integrity


def test_a_tampered_artifact_is_refused_with_a_clear_error(api_client, shared_model, stored_hours):
    path = artifact_path(shared_model)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    response = api_client.get("/ml/predict?symbol=BTCUSDT")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "model_artifact_invalid"
    assert "sha256" in error["message"]
    errors = api_client.get("/model/errors").json()["results"]
    assert errors and "refused on load" in errors[0]["message"]
    assert not Prediction.objects.exists()


def test_every_ml_route_needs_authentication(anon_client, shared_model):
    for method, url in [
        ("get", "/model/versions"),
        ("get", "/model/active_version"),
        ("post", "/model/active_version"),
        ("post", "/model/predict_batch"),
        ("post", "/model/upload_and_retrain"),
        ("post", "/upload_csv"),
        ("get", "/upload_status/00000000-0000-0000-0000-000000000000"),
        ("get", "/model/metrics"),
        ("get", "/model/feature_importance"),
        ("get", "/model/analytics"),
        ("get", "/model/logs"),
        ("get", "/model/errors"),
        ("get", "/ml/predict"),
        ("post", "/ml/retrain"),
        ("get", "/ml/training/1"),
    ]:
        response = getattr(anon_client, method)(url)
        assert response.status_code in (401, 403), (method, url, response.status_code)
    assert ModelVersion.objects.count() == 1


def test_analytics_show_live_accuracy_confusion_and_calibration(
    api_client, shared_model, stored_hours
):
    close = stored_hours["close"].to_numpy()
    change = close[12:] / close[:-12] - 1
    # three past candles whose 12-hour move is clearly up or down (not in the dead zone)
    picks = [i for i in range(300, 380) if abs(change[i]) > 0.004][:3]
    assert len(picks) == 3
    guesses = ["up", "down", "up"]
    for i, direction in zip(picks, guesses, strict=True):
        Prediction.objects.create(
            version=shared_model,
            symbol="BTCUSDT",
            timeframe="1h",
            as_of=stored_hours.index[i].to_pydatetime(),
            direction=direction,
            probability={"down": 0.3, "up": 0.7} if direction == "up" else {"down": 0.8, "up": 0.2},
        )
    assert predictions_score() == 3
    realized = ["up" if change[i] > 0 else "down" for i in picks]
    hits = sum(r == g for r, g in zip(realized, guesses, strict=True))

    body = api_client.get("/model/analytics?symbol=BTCUSDT").json()
    assert body["scored"] == 3 and body["active_version_id"] == shared_model.pk
    assert sum(map(sum, body["confusion_matrix"]["matrix"])) == 3
    up_row = body["confusion_matrix"]["matrix"][1]  # realised up: [predicted down, up]
    assert sum(up_row) == realized.count("up")
    assert sum(day["predictions"] for day in body["accuracy_over_time"]) == 3
    assert body["versions"][0]["live_accuracy"] == pytest.approx(hits / 3)
    assert sum(b["count"] for b in body["calibration"]) == 3


def test_setup_queues_the_initial_model_and_starts_collection_once(markets, ml_dirs):
    from django.core.management import call_command

    from ml.models import DataCollection

    call_command("setup", "--no-backfill", stdout=io.StringIO())
    call_command("setup", "--no-backfill", stdout=io.StringIO())  # idempotent
    run = TrainingRun.objects.get()
    assert (run.kind, run.symbol, run.timeframe, run.source, run.owner) == (
        "initial",
        "BTCUSDT",
        "1h",
        "shipped",
        None,
    )
    assert run.status == "queued"
    assert DataCollection.objects.get().symbol == "BTCUSDT"
    call_command("setup", "--no-backfill", "--no-ml", stdout=io.StringIO())
    assert TrainingRun.objects.count() == 1


def test_ml_signal_trades_the_shared_models_view_without_lookahead(shared_model, hours):
    from ml.services.registry import bundle_of
    from trading.strategies import strategy_get
    from trading.strategies.lookahead import lookahead_check

    candles = hours.iloc[-800:].copy()
    candles.attrs.update(symbol="BTCUSDT", timeframe="1h")
    strategy = strategy_get("ml_signal")
    params = strategy.validate({"threshold": 0.55})
    signal = strategy.signals(candles, params)["signal"]
    p_up = bundle_of(shared_model).predict_proba(candles)["up"].to_numpy()
    state = np.where(p_up >= 0.55, 1, np.where(p_up <= 0.45, -1, 0))
    entered = (state != 0) & (state != np.r_[0, state[:-1]])
    assert (signal.to_numpy() != 0).tolist() == entered.tolist()
    assert signal.ne(0).sum() > 5
    report = lookahead_check(strategy, {"threshold": 0.55}, candles, points=5, seed=3)
    assert report.passed, "\n".join(report.lines())


def test_ml_signal_without_an_active_model_says_to_train_one(markets, hours):
    from trading.strategies import strategy_get
    from trading.strategies.base import StrategyError

    candles = hours.iloc[-600:].copy()
    candles.attrs.update(symbol="ETHUSDT", timeframe="1h")
    with pytest.raises(StrategyError, match="train one first"):
        strategy_get("ml_signal").signals(candles, {"threshold": 0.6})
