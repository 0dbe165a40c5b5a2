"""Classification metrics of predicted probabilities, and the naive baselines beside them.

Pure (numpy and scikit-learn). Labels are integer class codes 0..K-1 in the order of the
class names (``ml.features.CLASS_NAMES``: "down" is 0, "up" is K-1); ``proba`` holds one
column per class in that order. Every value is a plain Python int / float / list, or None
when undefined (one class only, no rows): the dicts go to JSON, where NaN is not allowed.

A model's figures mean little alone: 53 % accuracy is good when the majority class is 50 %
and bad when it is 60 %. So every metric set comes with two baselines that need no model:

* majority: always the most frequent class of the training rows, with the training class
  frequencies as probabilities (add-one smoothed, so no class has probability 0 and the
  log loss stays finite).
* persistence: "the next move repeats the last one known". For the row at t the
  prediction is the label of the latest row s <= t - horizon: its return
  close[s+h]/close[s] - 1 ends at or before t's close, so it is known at t (no lookahead).
  In the binary set-up rows whose move fell in the dead zone have no label; then the
  latest earlier labelled row counts (``persistence_previous`` builds this). A row with
  no such earlier label gets the training majority class. The predicted class gets
  probability ``1 - PERSISTENCE_EPS`` and the others share ``PERSISTENCE_EPS``, so the
  log loss of a wrong call is large but finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn import metrics as skm

PERSISTENCE_EPS: Final = 0.01
_PROBA_FLOOR: Final = 1e-15  # log loss of a probability of exactly 0 would be infinite


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Metrics of ``proba`` (n x K) against ``y_true`` (n codes); the prediction is argmax.

    accuracy, balanced_accuracy; precision, recall, f1 (binary: "up" is the positive class;
    3 classes: macro average); roc_auc (binary: of p(up); 3 classes: one-vs-rest, macro over
    the classes both present and absent in ``y_true``); log_loss; brier (binary:
    brier_score_loss of p(up); 3 classes: mean over classes of the one-vs-rest mean squared
    error, i.e. the multi-class Brier score / K); confusion_matrix (rows = true class,
    columns = predicted, in class order); samples.
    """
    k = len(classes)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(proba, dtype=np.float64).reshape(len(y), k)
    labels = list(range(k))
    predicted = p.argmax(axis=1)
    confusion = skm.confusion_matrix(y, predicted, labels=labels) if len(y) else np.zeros((k, k))
    out: dict[str, Any] = {
        "accuracy": None,
        "balanced_accuracy": None,
        "precision": None,
        "recall": None,
        "f1": None,
        "roc_auc": None,
        "log_loss": None,
        "brier": None,
        "confusion_matrix": [[int(v) for v in row] for row in confusion],
        "samples": len(y),
    }
    if not len(y):
        return out
    average = "binary" if k == 2 else "macro"
    scores = {"pos_label": k - 1} if k == 2 else {}
    shared = {"labels": labels, "average": average, "zero_division": np.nan, **scores}
    out.update(
        accuracy=_clean(skm.accuracy_score(y, predicted)),
        balanced_accuracy=_balanced_accuracy(confusion),
        precision=_clean(skm.precision_score(y, predicted, **shared)),
        recall=_clean(skm.recall_score(y, predicted, **shared)),
        f1=_clean(skm.f1_score(y, predicted, **shared)),
        roc_auc=_roc_auc(y, p),
        log_loss=_clean(skm.log_loss(y, np.clip(p, _PROBA_FLOOR, 1.0), labels=labels)),
        brier=_brier(y, p),
    )
    return out


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _balanced_accuracy(confusion: np.ndarray) -> float | None:
    """Mean recall over the classes present in the truth (sklearn's definition, without
    its warning when a predicted class never occurs)."""
    support = confusion.sum(axis=1)
    present = support > 0
    if not present.any():
        return None
    return _clean(np.mean(np.diag(confusion)[present] / support[present]))


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    k = p.shape[1]
    if k == 2:
        if len(np.unique(y)) < 2:
            return None
        return _clean(skm.roc_auc_score(y, p[:, 1]))
    scores = [skm.roc_auc_score(y == c, p[:, c]) for c in range(k) if 0 < np.sum(y == c) < len(y)]
    return _clean(np.mean(scores)) if scores else None


def _brier(y: np.ndarray, p: np.ndarray) -> float | None:
    k = p.shape[1]
    if k == 2:
        return _clean(skm.brier_score_loss(y, p[:, 1], pos_label=1))
    onehot = np.eye(k)[y]
    return _clean(np.mean((onehot - p) ** 2))


def majority_proba(y_train: np.ndarray, rows: int, k: int) -> np.ndarray:
    """The majority baseline's (rows x k) probabilities: add-one smoothed training class
    frequencies on every row (its argmax is the training majority class)."""
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=k)[:k]
    freq = (counts + 1.0) / (counts.sum() + k)
    return np.tile(freq, (rows, 1))


def persistence_proba(y_prev: np.ndarray, fallback: int, k: int) -> np.ndarray:
    """The persistence baseline's probabilities: ``1 - PERSISTENCE_EPS`` on each row's
    previous known label (``fallback`` where it is NaN), the rest shared evenly."""
    prev = np.asarray(y_prev, dtype=np.float64)
    codes = np.where(np.isfinite(prev), prev, fallback).astype(np.int64)
    out = np.full((len(codes), k), PERSISTENCE_EPS / (k - 1))
    out[np.arange(len(codes)), codes] = 1.0 - PERSISTENCE_EPS
    return out


def persistence_previous(labels: pd.Series, horizon: int) -> pd.Series:
    """For every row t, the latest label of a row s <= t - horizon (NaN if none).

    ``labels`` is the full label series (NaN in the dead zone and for the last rows), on
    the candles' index; the result is on the same index. Uses only labels known at t.
    """
    return labels.shift(horizon).ffill()


def baseline_metrics(
    y_train: np.ndarray,
    y_test: np.ndarray,
    y_prev: np.ndarray,
    classes: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Metrics of the two naive baselines on ``y_test`` (see the module docstring).

    ``y_train``: the training labels (for the majority class and its frequencies);
    ``y_prev``: for each test row, the previous known label (persistence_previous; NaN
    where none, replaced by the training majority class).
    """
    k = len(classes)
    y = np.asarray(y_test, dtype=np.int64)
    majority = majority_proba(y_train, len(y), k)
    fallback = int(np.argmax(majority[0])) if len(y) else 0
    return {
        "majority": classification_metrics(y, majority, classes),
        "persistence": classification_metrics(y, persistence_proba(y_prev, fallback, k), classes),
    }
