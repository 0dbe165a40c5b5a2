"""Metrics of predicted probabilities and the naive baselines (pure: no database)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from ml.evaluation import (
    PERSISTENCE_EPS,
    baseline_metrics,
    classification_metrics,
    persistence_previous,
)
from ml.features import CLASS_NAMES

BINARY = CLASS_NAMES[2]
THREE = CLASS_NAMES[3]
KEYS = {
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "brier",
    "confusion_matrix",
    "samples",
}


def random_proba(n: int, k: int, seed: int) -> np.ndarray:
    raw = np.random.default_rng(seed).uniform(0.05, 1.0, (n, k))
    return raw / raw.sum(axis=1, keepdims=True)


def test_binary_metrics_agree_with_sklearn_with_up_as_the_positive_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    proba = random_proba(400, 2, 1)
    out = classification_metrics(y, proba, BINARY)
    predicted = proba.argmax(axis=1)
    assert set(out) == KEYS
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert out["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, predicted))
    assert out["precision"] == pytest.approx(skm.precision_score(y, predicted, pos_label=1))
    assert out["recall"] == pytest.approx(skm.recall_score(y, predicted, pos_label=1))
    assert out["f1"] == pytest.approx(skm.f1_score(y, predicted, pos_label=1))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert out["brier"] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]))
    assert out["confusion_matrix"] == skm.confusion_matrix(y, predicted).tolist()
    assert out["samples"] == 400
    assert all(type(out[key]) is float for key in KEYS - {"confusion_matrix", "samples"})


def test_three_class_metrics_are_macro_averages():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    proba = random_proba(300, 3, 3)
    out = classification_metrics(y, proba, THREE)
    predicted = proba.argmax(axis=1)
    assert out["f1"] == pytest.approx(skm.f1_score(y, predicted, average="macro"))
    assert out["recall"] == pytest.approx(skm.recall_score(y, predicted, average="macro"))
    assert out["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    onehot = np.eye(3)[y]
    assert out["brier"] == pytest.approx(np.mean((onehot - proba) ** 2))
    assert len(out["confusion_matrix"]) == 3


def test_perfect_predictions_score_perfectly():
    y = np.array([0, 1, 2, 2, 1, 0])
    proba = np.eye(3)[y]
    out = classification_metrics(y, proba, THREE)
    assert out["accuracy"] == 1.0
    assert out["balanced_accuracy"] == 1.0
    assert out["roc_auc"] == 1.0
    assert out["log_loss"] == pytest.approx(0.0, abs=1e-9)
    assert out["confusion_matrix"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]


def test_undefined_values_are_none_never_nan():
    y = np.ones(20, dtype=int)  # only "up" present
    proba = np.tile([0.6, 0.4], (20, 1))  # and only "down" predicted
    out = classification_metrics(y, proba, BINARY)
    assert out["roc_auc"] is None
    assert out["precision"] is None  # nothing predicted "up": 0 / 0
    json.dumps(out, allow_nan=False)
    three = classification_metrics(np.zeros(5, dtype=int), random_proba(5, 3, 4), THREE)
    assert three["roc_auc"] is None
    json.dumps(three, allow_nan=False)


def test_no_rows_gives_an_empty_report():
    out = classification_metrics(np.array([]), np.empty((0, 2)), BINARY)
    assert out["samples"] == 0
    assert out["accuracy"] is None
    assert out["confusion_matrix"] == [[0, 0], [0, 0]]


def test_three_class_roc_auc_averages_the_classes_that_occur():
    y = np.array([0, 0, 2, 2, 0, 2])  # no "flat"
    proba = random_proba(6, 3, 5)
    expected = np.mean([skm.roc_auc_score(y == c, proba[:, c]) for c in (0, 2)])
    assert classification_metrics(y, proba, THREE)["roc_auc"] == pytest.approx(expected)


def test_majority_baseline_always_predicts_the_training_majority():
    y_train = np.array([1, 1, 1, 0])
    y_test = np.array([0, 1, 1, 0, 1])
    out = baseline_metrics(y_train, y_test, np.full(5, np.nan), BINARY)["majority"]
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["confusion_matrix"] == [[0, 2], [0, 3]]
    # probabilities are the (add-one smoothed) training frequencies: p(up) = 4/6
    assert out["log_loss"] == pytest.approx(-(3 * np.log(4 / 6) + 2 * np.log(2 / 6)) / 5)


def test_persistence_baseline_predicts_the_previous_known_label():
    y_test = np.array([0, 1, 1, 0])
    y_prev = np.array([0, 0, 1, np.nan])  # the last has none: training majority (up)
    out = baseline_metrics(np.array([1, 1, 0]), y_test, y_prev, BINARY)["persistence"]
    assert out["confusion_matrix"] == [[1, 1], [1, 1]]
    hit, miss = np.log(1 - PERSISTENCE_EPS), np.log(PERSISTENCE_EPS)
    assert out["log_loss"] == pytest.approx(-(2 * hit + 2 * miss) / 4)


def test_persistence_uses_only_labels_whose_horizon_has_ended():
    h = 3
    labels = pd.Series([0, 1, np.nan, 1, 0, np.nan, np.nan, 1, 0, 1], dtype=np.float64)
    previous = persistence_previous(labels, h)
    # at t the latest label of a row s <= t - h; a dead-zone label carries the one before
    expected = [np.nan, np.nan, np.nan, 0, 1, 1, 1, 0, 0, 0]
    np.testing.assert_array_equal(previous.to_numpy(), expected)
    t = 6
    changed = labels.copy()
    changed.iloc[t - h + 1 :] = 1 - changed.iloc[t - h + 1 :]  # rows after t - h
    assert persistence_previous(changed, h).iloc[t] == previous.iloc[t]
