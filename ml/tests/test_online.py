"""The online learner on real and synthetic candles (pure: no database).

Real data: the last 3,000 shipped BTCUSDT hours, replayed whole, in chunks, through a saved
and reloaded state, with candles removed; synthetic data: a series whose volume tells the
next move until the relation flips, for drift detection.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from river import preprocessing

from ml.features import FEATURES, MIN_CANDLES, WARMUP_BARS, feature_frame, label_series
from ml.online import (
    OnlineConfig,
    OnlineError,
    OnlineLearner,
    RunningScaler,
    config_check,
    predicted_label,
)
from ml.tests.conftest import volume_regimes
from trading.strategies.frames import candles_time_ms, frame_of, shipped_candles

HOUR = 3_600_000
CHUNK_ENDS = (450, 800, 1234, 2000, 2001, 3000)


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return shipped_candles("BTCUSDT", "1h").iloc[-3000:]


@pytest.fixture(scope="module")
def whole(btc):
    """A learner fed the 3,000 hours in one call, with that call's report."""
    learner = OnlineLearner(OnlineConfig())
    return learner, learner.process(btc)


def _labels(candles: pd.DataFrame, horizon: int = 12, threshold: float = 0.002) -> dict:
    codes = label_series(candles, horizon=horizon, threshold=threshold, classes=2)
    return dict(zip(candles_time_ms(candles).tolist(), codes.tolist(), strict=True))


# ------------------------------------------------------------------ replay invariance


def test_whole_replay_predicts_learns_and_accounts_for_every_candle(btc, whole):
    learner, report = whole
    stats = learner.stats()
    assert report.processed == 3000
    assert report.skipped == WARMUP_BARS  # the warm-up rows are consumed, not predicted
    assert len(report.predictions) == 3000 - WARMUP_BARS
    assert report.pending == 12  # the last horizon's predictions wait for their labels
    resolved = report.scored + report.dead_zone + report.gap_dropped
    assert resolved == len(report.predictions) - report.pending
    assert report.gap_dropped == 0 and report.dead_zone > 0
    assert stats["samples_seen"] == report.learned == report.scored > 2000
    assert stats["last_candle_ms"] == int(candles_time_ms(btc)[-1])
    assert 0.3 < stats["rolling_accuracy"] < 0.7
    assert 0.5 < stats["rolling_log_loss"] < 1.5
    assert stats["rolling_samples"] == 500
    assert all(0.0 <= p <= 1.0 for _, p in report.predictions)


def test_every_scored_label_is_the_batch_label_rule(btc, whole):
    _, report = whole
    labels = _labels(btc)
    assert report.outcomes
    assert all(labels[s] == label for s, _, label in report.outcomes)


def test_replay_in_chunks_gives_the_same_state_as_one_call(btc, whole):
    one, one_report = whole
    chunked = OnlineLearner(OnlineConfig())
    predictions, outcomes, learned = [], [], 0
    for end in CHUNK_ENDS:
        report = chunked.process(btc.iloc[:end])
        predictions += report.predictions
        outcomes += report.outcomes
        learned += report.learned
    assert chunked.stats() == one.stats()
    assert predictions == one_report.predictions
    assert outcomes == one_report.outcomes
    assert learned == one_report.learned
    assert chunked.predict_proba(btc) == one.predict_proba(btc)


def test_replay_through_sliding_windows_matches_one_call(btc, whole):
    # as the shell feeds it: WARMUP_BARS (+ a few) candles of history before the new ones
    one, _ = whole
    windowed = OnlineLearner(OnlineConfig())
    previous = 0
    for end in CHUNK_ENDS:
        windowed.process(btc.iloc[max(0, previous - WARMUP_BARS - 14) : end])
        previous = end
    got, want = windowed.stats(), one.stats()
    for key in ("samples_seen", "dead_zone_dropped", "pending_labels", "last_learned_ms"):
        assert got[key] == want[key]
    assert got["cumulative_log_loss"] == pytest.approx(want["cumulative_log_loss"], rel=1e-6)
    assert got["rolling_accuracy"] == pytest.approx(want["rolling_accuracy"], abs=0.01)


def test_feeding_the_same_candles_again_learns_nothing(btc, whole):
    learner = OnlineLearner.from_bytes(whole[0].to_bytes())
    before_state, before_stats = learner.to_bytes(), learner.stats()
    for frame in (btc, btc.iloc[:2000], btc.iloc[-500:]):
        report = learner.process(frame)
        assert (report.processed, report.learned, report.scored) == (0, 0, 0)
        assert report.predictions == [] and report.outcomes == []
    assert learner.stats() == before_stats
    assert learner.stats()["samples_seen"] == whole[0].stats()["samples_seen"]
    assert learner.to_bytes() == before_state


def test_saved_state_resumes_exactly_as_an_uninterrupted_run(btc, whole):
    first = OnlineLearner(OnlineConfig())
    first.process(btc.iloc[:1700])
    resumed = OnlineLearner.from_bytes(first.to_bytes())
    assert resumed.stats() == first.stats()
    resumed.process(btc)
    assert resumed.stats() == whole[0].stats()
    assert resumed.predict_proba(btc) == whole[0].predict_proba(btc)


def test_state_that_is_not_a_learner_is_refused():
    with pytest.raises(ValueError, match="cannot be loaded"):
        OnlineLearner.from_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not an OnlineLearner"):
        OnlineLearner.from_bytes(pickle.dumps({"samples_seen": 3}))


# ------------------------------------------------------------------ test-then-train, labels


def test_first_sample_is_scored_with_the_prediction_made_before_learning_it(btc):
    learner = OnlineLearner(OnlineConfig())
    end = WARMUP_BARS + 1
    report = learner.process(btc.iloc[:end])
    assert report.predictions[0][1] == 0.5  # an untrained logistic regression
    while learner.stats()["samples_seen"] == 0:
        end += 1
        report = learner.process(btc.iloc[:end])
    stats = learner.stats()
    assert stats["samples_seen"] == 1
    assert report.outcomes[0][1] == 0.5  # scored as predicted, before it was learned
    assert stats["cumulative_log_loss"] == pytest.approx(math.log(2), rel=1e-12)
    assert stats["cumulative_accuracy"] == float(predicted_label(0.5) == report.outcomes[0][2])
    assert learner.predict_proba(btc.iloc[:end])["up"] != 0.5  # it has learned since


def test_scores_use_the_predictions_made_when_each_candle_closed(whole):
    _, report = whole
    made = dict(report.predictions)
    assert all(made[s] == p for s, p, _ in report.outcomes)


def test_a_label_waits_until_its_horizon_has_closed(btc):
    learner = OnlineLearner(OnlineConfig(horizon=12))
    report = learner.process(btc.iloc[: WARMUP_BARS + 12])
    assert len(report.predictions) == 12
    assert report.scored == report.dead_zone == 0 and report.pending == 12
    report = learner.process(btc.iloc[: WARMUP_BARS + 13])  # closes the first horizon
    first = int(candles_time_ms(btc)[WARMUP_BARS])
    assert report.scored + report.dead_zone == 1 and report.pending == 12
    assert [s for s, _, _ in report.outcomes] in ([], [first])


@pytest.mark.parametrize("removed", [(1500,), (1500, 1501, 1502, 1503, 1504)])
def test_a_missing_candle_drops_the_prediction_it_would_label(btc, whole, removed):
    gappy = btc.drop(btc.index[list(removed)])
    learner = OnlineLearner(OnlineConfig())
    report = learner.process(gappy)
    assert report.gap_dropped == learner.stats()["gap_dropped"] == len(removed)
    times = candles_time_ms(btc)
    orphans = {int(times[i]) - 12 * HOUR for i in removed}
    scored = {s for s, _, _ in report.outcomes}
    assert not orphans & scored
    labels = _labels(btc)  # the true labels, from the complete series
    assert all(labels[s] == label for s, _, label in report.outcomes)
    assert report.scored + report.dead_zone + report.gap_dropped == (
        len(report.predictions) - report.pending
    )


def test_running_scaler_scales_as_river_standard_scaler(btc):
    rows = feature_frame(btc.iloc[:700]).to_numpy()[WARMUP_BARS:].tolist()
    ours, river_scaler = RunningScaler(), preprocessing.StandardScaler()
    assert ours.transform(rows[0]) == dict.fromkeys(FEATURES, 0.0)
    for row in rows:
        x = dict(zip(FEATURES, row, strict=True))
        river_scaler.learn_one(x)
        want = river_scaler.transform_one(x)
        got = ours.learn_transform(row)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert ours.transform(row) == got  # same statistics, no update
    assert ours.n == len(rows)


# ------------------------------------------------------------------ drift


@pytest.mark.parametrize("seed", [0, 1])
def test_a_reversed_relation_is_detected_as_drift_after_the_change_only(seed):
    candles = volume_regimes(2400, flip=1600, seed=seed)
    flip_ms = int(candles_time_ms(candles)[1600])
    learner = OnlineLearner(OnlineConfig(horizon=1, threshold=0.0005))
    before = learner.process(candles.iloc[:1600])
    assert learner.stats()["rolling_accuracy"] > 0.9  # the relation was learned
    assert before.drift_at_ms == [] and not before.drift_detected
    after = learner.process(candles)
    assert after.drift_detected
    assert flip_ms < after.drift_at_ms[0] <= flip_ms + 200 * HOUR
    stats = learner.stats()
    assert stats["drift_detections"] == len(after.drift_at_ms)
    assert stats["last_drift_ms"] == after.drift_at_ms[-1]
    event = stats["drift_history"][0]
    assert event["error_rate_after"] > event["error_rate_before"]


# ------------------------------------------------------------------ prediction, refusals


def test_predict_proba_changes_nothing_and_refuses_too_few_candles(btc, whole):
    learner = OnlineLearner.from_bytes(whole[0].to_bytes())
    state = learner.to_bytes()
    proba = learner.predict_proba(btc)
    assert set(proba) == {"down", "up"} and proba["down"] + proba["up"] == pytest.approx(1)
    assert learner.predict_proba(btc) == proba and learner.to_bytes() == state
    with pytest.raises(ValueError, match="not enough candles"):
        learner.predict_proba(btc.iloc[: MIN_CANDLES - 1])


def test_unsorted_candles_or_another_timeframe_are_refused(btc, whole):
    learner = OnlineLearner(OnlineConfig())
    with pytest.raises(ValueError, match="strictly increasing"):
        learner.process(btc.iloc[:500].iloc[::-1])
    trained = OnlineLearner.from_bytes(whole[0].to_bytes())
    times = candles_time_ms(btc)[-1] + HOUR + np.arange(3) * 60_000  # 1m candles
    minutes = frame_of(times, btc.iloc[-3:].to_numpy())
    with pytest.raises(ValueError, match="timeframe"):
        trained.process(minutes)
    assert trained.stats() == whole[0].stats()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"algorithm": "svm"}, "algorithm"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2.5}, "horizon"),
        ({"horizon": True}, "horizon"),
        ({"threshold": -0.001}, "threshold"),
        ({"threshold": 0.5}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": 2.0}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"l2": -1.0}, "l2"),
        ({"drift_delta": 0.0}, "drift_delta"),
        ({"drift_delta": 0.9}, "drift_delta"),
        ({"window": 5}, "window"),
        ({"window": 10.0}, "window"),
        ({"n_models": 0}, "n_models"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_check_names_each_bad_field(changes, field):
    config = OnlineConfig(**changes)
    with pytest.raises(OnlineError) as caught:
        config_check(config)
    assert caught.value.field == field and str(changes[field]) in caught.value.message
    with pytest.raises(OnlineError):
        OnlineLearner(config)


def test_default_config_is_valid():
    config_check(OnlineConfig())
    config_check(OnlineConfig(algorithm="adaptive_random_forest", horizon=1, threshold=0.0))


# ------------------------------------------------------------------ adaptive random forest


def test_adaptive_random_forest_learns_and_resumes_exactly(btc):
    candles = btc.iloc[:900]
    config = OnlineConfig(algorithm="adaptive_random_forest", n_models=3)
    whole = OnlineLearner(config)
    report = whole.process(candles)
    assert report.predictions[0][1] == 0.5  # nothing learned yet
    assert whole.stats()["samples_seen"] == report.learned > 300
    assert all(0.0 <= p <= 1.0 for _, p in report.predictions)
    assert len({p for _, p in report.predictions}) > 10  # it does learn
    first = OnlineLearner(config)
    first.process(candles.iloc[:650])
    resumed = OnlineLearner.from_bytes(first.to_bytes())
    resumed.process(candles)
    assert resumed.stats() == whole.stats()
    assert resumed.predict_proba(candles) == whole.predict_proba(candles)
