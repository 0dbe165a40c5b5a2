"""Hybrid learning through its services and routes: candles replayed one by one feed the
online model test-then-train, both models' predictions are scored and snapshotted, the
blend's weights move toward the better model, drift is acted on, bad configuration is
refused naming the field, and the controls work."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from ml.features import FEATURES
from ml.models import (
    DataCollection,
    HybridScore,
    HybridSettings,
    ModelEvent,
    OnlineModel,
    PerformanceSnapshot,
    TrainingRun,
)
from ml.services.hybrid import (
    collection_start,
    current_weights,
    hybrid_config_update,
    online_learn,
    online_reset,
    performance_snapshot,
)
from ml.services.registry import model_activate, version_record
from ml.tests.conftest import (
    record_version,
    replay_frame,
    store_candles,
    token_client,
    volume_regimes,
)
from ml.training import ModelBundle, TrainingResult

pytestmark = pytest.mark.django_db


def _degraded(result: TrainingResult) -> TrainingResult:
    """The same training's record with a model that is confidently wrong half the time:
    it always says "down" with certainty."""
    x = np.zeros((4, len(FEATURES)))
    dummy = DummyClassifier(strategy="constant", constant=0).fit(x, [0, 1, 0, 1])
    bundle = ModelBundle(
        pipeline=dummy,
        features=tuple(FEATURES),
        classes=("down", "up"),
        horizon=12,
        threshold=0.002,
        algorithm="constant_down",
        params={},
    )
    return TrainingResult(**{**result.__dict__, "bundle": bundle})


@pytest.fixture
def staff(user):
    user.is_staff = True
    user.save()
    return user


def test_replayed_candles_are_learned_scored_snapshotted_and_weights_follow_the_better_model(
    staff, markets, frozen_replay, ml_dirs, small_training, hours
):
    hybrid_config_update(user=staff, data={"window": 100, "min_weight": 0.1, "mode": "adaptive"})
    good = record_version(small_training)
    # hours the batch model never saw (it was trained on the last 3,000)
    frame = replay_frame(hours.iloc[:-3100], 700)
    history, replay = frame.iloc[:-260], frame.iloc[-260:]
    store_candles(history)
    collection_start(symbol="BTCUSDT", timeframe="1h")
    first = online_learn(symbol="BTCUSDT", timeframe="1h")
    assert first["status"] == "learned"

    # one candle at a time, as beat sees them close; the batch model is swapped for a
    # deliberately degraded one halfway
    degraded_at = 150
    for k in range(len(replay)):
        if k == degraded_at:
            before = current_weights("BTCUSDT", "1h")
            bad = version_record(
                run=TrainingRun.objects.create(
                    kind="manual", symbol="BTCUSDT", timeframe="1h", source="shipped"
                ),
                result=_degraded(small_training),
            )
            model_activate(user=None, version=bad, shared=True)
        store_candles(replay.iloc[k : k + 1])
        online_learn(symbol="BTCUSDT", timeframe="1h")

    model = OnlineModel.objects.get()
    scored = HybridScore.objects.filter(label__isnull=False)
    assert model.samples_seen == scored.count() > 150  # every scored candle learned once
    assert model.last_candle == replay.index[-2]  # the newest is still forming
    after = current_weights("BTCUSDT", "1h")
    # two honest models share the weight; the degraded one loses it down to the floor
    assert before["samples"] == 100 and 0.2 < before["batch"] < 0.8, before
    assert after["batch"] == pytest.approx(0.1) and after["online"] == pytest.approx(0.9), after
    assert good.pk != bad.pk

    assert performance_snapshot() == 3
    client = token_client(staff)
    history_body = client.get("/ml/performance/history?symbol=BTCUSDT").json()
    assert set(history_body["series"]) == {"batch", "online", "hybrid"}
    for series in history_body["series"].values():
        assert series[-1]["samples"] > 100
        assert 0 <= series[-1]["accuracy"] <= 1 and series[-1]["log_loss"] > 0
    snapshots = {s.model: s for s in PerformanceSnapshot.objects.all()}
    assert snapshots["batch"].log_loss > snapshots["online"].log_loss  # degraded: worse

    status = client.get("/ml/hybrid/status?symbol=BTCUSDT").json()
    assert status["online"]["health"] == "learning"
    assert status["batch"]["version"]["id"] == bad.pk
    assert status["weights"]["online"] == pytest.approx(0.9)
    blended = client.get("/ml/hybrid/predict?symbol=BTCUSDT").json()
    p_batch = blended["components"]["batch"]["p_up"]
    p_online = blended["components"]["online"]["p_up"]
    assert blended["probability"]["up"] == pytest.approx(0.1 * p_batch + 0.9 * p_online)
    assert (
        client.get("/ml/predict?symbol=BTCUSDT&model=hybrid").json()["probability"]
        == (blended["probability"])
    )
    stats = client.get("/ml/online/stats?symbol=BTCUSDT").json()["online"]
    assert stats["samples_seen"] == model.samples_seen
    assert stats["rolling_log_loss"] is not None and math.isfinite(stats["rolling_log_loss"])


def test_feeding_the_same_candles_again_learns_nothing_twice(
    markets, frozen_replay, ml_dirs, small_training, hours
):
    record_version(small_training)
    store_candles(replay_frame(hours, 600))
    collection_start(symbol="BTCUSDT", timeframe="1h")
    online_learn(symbol="BTCUSDT", timeframe="1h")
    seen = OnlineModel.objects.get().samples_seen
    assert seen > 100
    again = online_learn(symbol="BTCUSDT", timeframe="1h")
    assert again["learned"] == 0
    assert OnlineModel.objects.get().samples_seen == seen


def test_drift_on_a_reversed_regime_is_recorded_and_retraining_is_queued(
    staff, markets, frozen_replay, ml_dirs, django_capture_on_commit_callbacks
):
    # volume predicts the next hour's move, until the relation is reversed at candle 1600
    frame = replay_frame(volume_regimes(2400, flip=1600, seed=0), 2400)
    store_candles(frame)
    hybrid_config_update(user=staff, data={"retrain_on_drift": True})
    collection_start(symbol="BTCUSDT", timeframe="1h")
    online_reset(
        symbol="BTCUSDT",
        timeframe="1h",
        data={"horizon": 1, "threshold": 0.0005, "learning_rate": 0.01},
    )
    store_before = frame.index[1600]
    with django_capture_on_commit_callbacks(execute=True):  # drift is acted on after commit
        result = online_learn(symbol="BTCUSDT", timeframe="1h")
    assert result["drift"] is True
    model = OnlineModel.objects.get()
    assert model.drift_detections >= 1
    assert model.last_drift_at > store_before  # after the change, not before
    assert ModelEvent.objects.filter(level="warning", message__startswith="Drift detected").exists()
    # the configured action: a retraining of the batch model is queued
    assert TrainingRun.objects.filter(kind="scheduled", symbol="BTCUSDT").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fixed_batch_weight": 1.5}, "fixed_batch_weight"),
        ({"min_weight": -0.1}, "min_weight"),
        ({"window": -5}, "window"),
        ({"window": "abc"}, "window"),
        ({"mode": "sometimes"}, "mode"),
        ({"metric": "vibes"}, "metric"),
        ({"threshold": "NaN"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"bogus": 1}, "bogus"),
        ({"retrain_on_drift": "yes"}, "retrain_on_drift"),
    ],
)
def test_bad_hybrid_configuration_is_400_naming_the_field_and_saves_nothing(
    staff, markets, body, field
):
    client = token_client(staff)
    before = client.get("/ml/hybrid/config").json()
    response = client.post("/ml/hybrid/config", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["message"] or field == error["details"].get("parameter"), error
    assert client.get("/ml/hybrid/config").json() == before
    assert HybridSettings.objects.count() <= 1


def test_hybrid_configuration_persists_and_is_staff_only(staff, other_user, markets):
    client = token_client(staff)
    response = client.post(
        "/ml/hybrid/config",
        {"mode": "fixed", "fixed_batch_weight": 0.7, "window": 100, "retrain_on_drift": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = client.get("/ml/hybrid/config").json()
    assert body["mode"] == "fixed" and body["fixed_batch_weight"] == 0.7
    assert body["window"] == 100 and body["retrain_on_drift"] is False
    denied = token_client(other_user).post("/ml/hybrid/config", {"window": 50}, format="json")
    assert denied.status_code == 403
    assert client.get("/ml/hybrid/config").json()["window"] == 100


def test_controls_pause_resume_reset_and_collection(
    staff, other_user, markets, frozen_replay, ml_dirs, small_training, hours
):
    api_client = token_client(staff)
    record_version(small_training)
    # the online models and data collection are shared: other users may not change them
    outsider = token_client(other_user)
    for url in ("/ml/data_collection/start", "/ml/online/pause", "/ml/online/reset"):
        assert outsider.post(url, {"symbol": "BTCUSDT"}, format="json").status_code == 403
    assert not DataCollection.objects.exists()
    store_candles(replay_frame(hours, 500))
    assert (
        api_client.post(
            "/ml/data_collection/start", {"symbol": "BTCUSDT"}, format="json"
        ).status_code
        == 200
    )
    assert api_client.post("/ml/online/pause", {"symbol": "BTCUSDT"}, format="json").json()[
        "online"
    ]["paused"]
    assert online_learn(symbol="BTCUSDT", timeframe="1h")["status"] == "paused"
    api_client.post("/ml/online/resume", {"symbol": "BTCUSDT"}, format="json")
    assert online_learn(symbol="BTCUSDT", timeframe="1h")["status"] == "learned"
    stats = api_client.get("/ml/data_collection/stats").json()["collections"][0]
    assert stats["symbol"] == "BTCUSDT" and stats["active"] is True
    assert stats["candles"] == 500 and stats["gaps"] == 0
    assert stats["labelled_rows"] > 0 and stats["last_learned_candle"]

    reset = api_client.post(
        "/ml/online/reset",
        {"symbol": "BTCUSDT", "algorithm": "adaptive_random_forest"},
        format="json",
    )
    assert reset.status_code == 200, reset.json()
    assert reset.json()["online"]["samples_seen"] == 0
    assert reset.json()["online"]["algorithm"] == "adaptive_random_forest"
    bad = api_client.post(
        "/ml/online/reset", {"symbol": "BTCUSDT", "algorithm": "perceptron"}, format="json"
    )
    assert bad.status_code == 400 and "algorithm" in bad.json()["error"]["message"]

    api_client.post("/ml/data_collection/stop", {"symbol": "BTCUSDT"}, format="json")
    assert not DataCollection.objects.get().active
    assert online_learn(symbol="BTCUSDT", timeframe="1h")["status"] == "not collecting"
