"""Batch training of a direction classifier with purged walk-forward validation (pure).

scikit-learn does the learning; this module decides what is honest to measure. Candles in
(no ORM, no network), a :class:`TrainingResult` out: the fitted :class:`ModelBundle` (the
artifact), its out-of-sample metrics beside two naive baselines, per-fold figures,
permutation importance, a backtest of its signals and a readable log.

Walk-forward (:func:`walk_forward_folds`). The labelled rows (features and label defined,
past the :data:`ml.features.WARMUP_BARS` warm-up) are kept in time order; the later half is
cut into ``folds`` consecutive test blocks. Each block is predicted by a model fitted on
every labelled row before it (an expanding window), except the ``purge`` rows (default:
the horizon) just before the block: a training row t has a label that looks at close[t+h],
so without the gap the last training labels would be made of test-period prices. In candle
positions: last training row + purge < first test row. The folds' predictions are pooled
and scored once (``metrics``); the baselines are scored on the same rows, the majority one
with each fold's own training rows. The model kept (the bundle) is refitted on all
labelled rows: more data, same recipe, and the walk-forward figures are the honest estimate
of how it does on data it has not seen.

Importance: :func:`sklearn.inspection.permutation_importance` with the last fold's model on
that fold's held-out rows, scored by log loss: importance = mean increase of log loss when
the feature's column is shuffled (0 = unused; negative = noise that happened to help).

Backtest: every candle from the first test row on is predicted by the fold model whose test
block covers it (also the candles whose binary label fell in the dead zone: the backtest
must not know in advance which moves were big). p(up) >= 0.55 gives +1, p(down) >= 0.55
gives -1 (binary: p(up) <= 0.45), else 0, and :func:`trading.backtest.run_backtest` acts
on each at the next candle's open (futures, 1x, long and short, no funding; a position is
held until the opposite signal).
"""

from __future__ import annotations

import functools
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, make_scorer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from ml import evaluation
from ml.features import (
    CLASS_NAMES,
    FEATURES,
    MIN_CANDLES,
    WARMUP_BARS,
    feature_frame,
    label_series,
)
from trading.strategies.frames import candles_time_ms

logger = logging.getLogger(__name__)

ALGORITHMS: Final = ("hist_gradient_boosting", "logistic_regression", "random_forest")
TEST_SHARE: Final = 0.5  # the later half of the labelled rows is tested, fold by fold
SIGNAL_PROBABILITY: Final = 0.55
THREADS: Final = 1  # OpenMP / BLAS threads while fitting and predicting: see one_thread()
MAX_HORIZON: Final = 500
MAX_THRESHOLD: Final = 0.2

Progress = Callable[[float, str], None]


class TrainingError(ValueError):
    """A training request that cannot run; ``field`` names the input to fix (API: 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class _Param:
    """One tunable hyper-parameter: kind ("int" or "float"), inclusive range, default."""

    kind: str
    low: float
    high: float
    default: Any
    nullable: bool = False

    def describe(self) -> str:
        whole = "a whole number" if self.kind == "int" else "a number"
        text = f"{whole} from {self.low:g} to {self.high:g}"
        return f"{text} or null" if self.nullable else text


PARAMS: Final[Mapping[str, Mapping[str, _Param]]] = {
    "hist_gradient_boosting": {
        "max_iter": _Param("int", 10, 2000, 100),
        "learning_rate": _Param("float", 0.001, 1.0, 0.05),
        "max_depth": _Param("int", 1, 50, None, nullable=True),
        "max_leaf_nodes": _Param("int", 2, 1000, 8),
        "min_samples_leaf": _Param("int", 1, 10_000, 200),
        "l2_regularization": _Param("float", 0.0, 100.0, 10.0),
    },
    "logistic_regression": {
        "C": _Param("float", 1e-4, 1e4, 1.0),
        "max_iter": _Param("int", 50, 10_000, 1000),
    },
    "random_forest": {
        "n_estimators": _Param("int", 10, 2000, 100),
        "max_depth": _Param("int", 1, 100, 8, nullable=True),
        "min_samples_leaf": _Param("int", 1, 10_000, 100),
        "max_samples": _Param("float", 0.05, 1.0, 0.5),  # rows per tree: half is ~2x faster
    },
}
"""Allowed ``TrainConfig.params`` per algorithm, with ranges and the defaults used.

Defaults lean to small, regularised models: hourly returns are mostly noise, and a model
that can memorise it scores well in-sample and worse than the baseline out of sample. On
the shipped BTCUSDT 1h history (5 folds) sklearn's usual boosting settings (200 rounds of
15+ leaves) gave a pooled log loss of 0.700, worse than the majority baseline's 0.694;
these give 0.693 at half the time.
"""


@dataclass(frozen=True)
class TrainConfig:
    """What to train: algorithm and its params, the target (horizon in bars, threshold as
    a fraction: 0.002 = 0.2 %, 2 or 3 classes) and the validation (folds, purge in rows,
    None = horizon). ``min_rows``: labelled rows needed. Check with :func:`config_check`.
    """

    algorithm: str = "hist_gradient_boosting"
    horizon: int = 12
    threshold: float = 0.002
    classes: int = 2
    folds: int = 5
    purge: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    random_state: int = 42
    importance_repeats: int = 5
    min_rows: int = 300

    @property
    def purge_rows(self) -> int:
        """The purge gap in rows (the horizon unless set)."""
        return self.horizon if self.purge is None else self.purge


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if not _is_int(value) or not low <= int(value) <= high:  # type: ignore[call-overload]
        raise TrainingError(name, f"must be a whole number from {low} to {high}, got {value!r}")


def config_check(config: TrainConfig) -> None:
    """Refuse a config that cannot be trained: TrainingError naming the first bad field."""
    if config.algorithm not in ALGORITHMS:
        raise TrainingError(
            "algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {config.algorithm!r}"
        )
    _check_int("horizon", config.horizon, 1, MAX_HORIZON)
    threshold = config.threshold
    if not _is_number(threshold) or not 0.0 <= float(threshold) <= MAX_THRESHOLD:
        raise TrainingError(
            "threshold",
            f"must be a fraction from 0 to {MAX_THRESHOLD} (0.002 = 0.2 %), got {threshold!r}",
        )
    if not _is_int(config.classes) or config.classes not in CLASS_NAMES:
        raise TrainingError("classes", f"must be 2 or 3, got {config.classes!r}")
    _check_int("folds", config.folds, 2, 10)
    if config.purge is not None and (not _is_int(config.purge) or config.purge < 0):
        raise TrainingError(
            "purge", f"must be a whole number of rows >= 0 or null, got {config.purge!r}"
        )
    _check_int("random_state", config.random_state, 0, 2**32 - 1)
    _check_int("importance_repeats", config.importance_repeats, 1, 100)
    _check_int("min_rows", config.min_rows, 20, 100_000_000)
    effective_params(config.algorithm, config.params)


def effective_params(algorithm: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against :data:`PARAMS` and completed with the defaults."""
    allowed = PARAMS[algorithm]
    if not isinstance(params, Mapping):
        raise TrainingError("params", f"must be an object, got {type(params).__name__}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        keys = ", ".join(f"{key} ({spec.describe()})" for key, spec in allowed.items())
        raise TrainingError(
            "params", f"unknown key(s) {', '.join(map(str, unknown))} for {algorithm}; use {keys}"
        )
    out = {key: spec.default for key, spec in allowed.items()}
    for key, value in params.items():
        spec = allowed[key]
        ok = value is None and spec.nullable
        if value is not None:
            typed = _is_int(value) if spec.kind == "int" else _is_number(value)
            ok = typed and spec.low <= float(value) <= spec.high
        if not ok:
            raise TrainingError(
                "params", f"{key} for {algorithm} must be {spec.describe()}, got {value!r}"
            )
        out[key] = None if value is None else (int(value) if spec.kind == "int" else float(value))
    return out


def make_estimator(algorithm: str, params: Mapping[str, Any], random_state: int) -> Any:
    """A fresh, unfitted sklearn classifier for ``algorithm`` with effective ``params``.

    Gradient boosting runs without early stopping: its validation split is random, which
    would mix later rows into the training of earlier ones and vary with the data size.
    Logistic regression standardises first (its penalty assumes comparable scales).
    """
    if algorithm == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(
            **params, early_stopping=False, random_state=random_state
        )
    if algorithm == "logistic_regression":
        model = LogisticRegression(C=params["C"], max_iter=params["max_iter"])
        return Pipeline([("scale", StandardScaler()), ("model", model)])
    return RandomForestClassifier(**params, random_state=random_state)


@functools.cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded OpenMP / BLAS libraries once (~1 ms)


def one_thread() -> Any:
    """A context in which scikit-learn's OpenMP and BLAS use THREADS (1) thread.

    This machine has 2 cores shared by the web workers, the Celery worker and the
    database. Gradient boosting's OpenMP threads busy-wait for each other: whenever another
    process held a core, two threads were measured up to 8x slower than one (a 50k-row fit
    2 s -> 12 s; a one-row prediction's p99 over a second). One thread is at most ~2x slower
    when both cores are free, and keeps results independent of the core count. Entering
    costs ~10 us.
    """
    return _threadpools().limit(limits=THREADS)


def _proba(estimator: ClassifierMixin, x: np.ndarray, k: int) -> np.ndarray:
    """predict_proba as (n x k) in class-code order, zeros for classes it never saw."""
    out = np.zeros((len(x), k))
    if len(x):
        codes = np.asarray(estimator.classes_, dtype=np.int64)  # type: ignore[attr-defined]
        with one_thread():
            out[:, codes] = estimator.predict_proba(x)  # type: ignore[attr-defined]
    return out


@dataclass
class ModelBundle:
    """A trained model with what it needs to predict: the saved artifact.

    ``pipeline``: the fitted sklearn estimator; ``features``: its input columns, in order
    (names from :data:`ml.features.FEATURES`); ``classes``: class names, in code order;
    ``horizon`` (bars) and ``threshold`` (fraction) of the target it learnt; ``algorithm``
    and its effective ``params``; the scikit-learn version that fitted it (a pickled model
    is only guaranteed to load and predict alike under that version).
    """

    pipeline: Any
    features: tuple[str, ...]
    classes: tuple[str, ...]
    horizon: int
    threshold: float
    algorithm: str
    params: dict[str, Any]
    sklearn_version: str = sklearn.__version__  # of the fit; another version may differ

    @property
    def candles_needed(self) -> int:
        """Candles to pass to :meth:`predict_last` for settled features (WARMUP_BARS + 1)."""
        return WARMUP_BARS + 1

    def _matrix(self, candles: pd.DataFrame) -> np.ndarray:
        frame = feature_frame(candles)
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise ValueError(
                f"this model needs features {missing} that this version does not compute; "
                "retrain the model"
            )
        if self.features == FEATURES:
            return frame.to_numpy(dtype=np.float64)
        return frame[list(self.features)].to_numpy(dtype=np.float64)

    def predict_proba(self, candles: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities for every candle (one column per class name, rows sum to 1).

        NaN on rows whose features are undefined (the first MIN_CANDLES - 1, or a division
        by zero). All valid rows go to the model in one call: its fixed cost per call
        (~0.7 ms) dwarfs the per-row cost.
        """
        x = self._matrix(candles)
        valid = np.isfinite(x).all(axis=1)
        out = np.full((len(x), len(self.classes)), np.nan)
        if valid.any():
            out[valid] = _proba(self.pipeline, x[valid], len(self.classes))
        return pd.DataFrame(out, index=candles.index, columns=list(self.classes))

    def predict_last(self, candles: pd.DataFrame) -> dict[str, Any]:
        """The prediction for the last candle: direction, probability per class, as_of_ms.

        Only the last :attr:`candles_needed` candles are used (older ones change nothing
        beyond ~1e-9). Raises ValueError when the last row's features are undefined.
        """
        tail = candles.iloc[-self.candles_needed :]
        x = self._matrix(tail)[-1:] if len(tail) else np.empty((0, len(self.features)))
        if len(tail) < MIN_CANDLES or not np.isfinite(x).all():
            raise ValueError(self._undefined_message(len(candles), x))
        p = _proba(self.pipeline, x, len(self.classes))[0]
        return {
            "direction": self.classes[int(np.argmax(p))],
            "probability": {name: float(v) for name, v in zip(self.classes, p, strict=True)},
            "as_of_ms": int(candles_time_ms(tail)[-1]),
        }

    def _undefined_message(self, given: int, x: np.ndarray) -> str:
        if given < MIN_CANDLES:
            return (
                f"not enough candles to predict: {given} given, at least {MIN_CANDLES} "
                f"needed ({self.candles_needed} for settled indicator values)"
            )
        bad = [name for name, v in zip(self.features, x[0], strict=True) if not np.isfinite(v)]
        return (
            f"the last candle's features {bad} are undefined (a division by zero: flat prices "
            "or constant volume); pass candles with movement"
        )


@dataclass
class TrainingResult:
    """What :func:`train` produced (see the module docstring for how each is measured).

    metrics / baselines: pooled out-of-sample, :func:`ml.evaluation.classification_metrics`
    dicts. folds: one dict per fold (train/test start/end ms, rows, accuracy,
    balanced_accuracy, log_loss, purge). feature_importance: [{feature, importance, std}]
    by importance, descending (log-loss increase). backtest: metrics of the out-of-sample
    signals, or None. data_range: start_ms, end_ms (candle open times), rows, labelled_rows.
    """

    bundle: ModelBundle
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, Any]]
    folds: list[dict[str, Any]]
    feature_importance: list[dict[str, Any]]
    backtest: dict[str, Any] | None
    data_range: dict[str, int]
    class_counts: dict[str, int]
    log: list[str]
    train_seconds: float


@dataclass
class _Data:
    """Features and labels of every candle, and which rows can be trained on."""

    x: np.ndarray  # (candles, features)
    y: np.ndarray  # float codes, NaN where unknown
    labels: pd.Series
    rows: np.ndarray  # candle positions with settled features and a label, ascending
    time_ms: np.ndarray


@dataclass
class _Fold:
    """One walk-forward split, in candle positions."""

    train: np.ndarray
    test: np.ndarray
    span: tuple[int, int]  # candles this fold's model predicts (for the backtest)


def walk_forward_folds(rows: np.ndarray, n_candles: int, folds: int, purge: int) -> list[_Fold]:
    """Expanding-window folds over labelled candle positions ``rows`` (ascending).

    The later TEST_SHARE of ``rows`` is cut into ``folds`` consecutive blocks; each block's
    training rows are the labelled rows before it minus the ``purge`` positions just before
    its first row (last train + purge < first test). ``span`` runs from the block's first
    row to the next block's (the last block: to the last candle).
    """
    n = len(rows)
    first = n - int(n * TEST_SHARE)
    blocks = np.array_split(np.arange(first, n), folds)
    starts = [int(rows[block[0]]) for block in blocks] + [n_candles]
    return [
        _Fold(
            train=rows[rows < starts[i] - purge],
            test=rows[block],
            span=(starts[i], starts[i + 1]),
        )
        for i, block in enumerate(blocks)
    ]


def train(
    candles: pd.DataFrame,
    config: TrainConfig,
    *,
    symbol: str | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train and validate a classifier on ``candles`` (see the module docstring).

    Raises TrainingError naming the field: a bad config (:func:`config_check`), or
    "candles" when there are too few labelled rows or a fold's training rows hold a single
    class. ``symbol`` enables the backtest; ``progress(fraction, message)`` is called with
    non-decreasing fractions, at least once per fold, and with 1.0 at the end.
    Deterministic for a given config (``random_state``); runs in :func:`one_thread`.
    """
    config_check(config)
    with one_thread():
        return _train(candles, config, symbol, progress or (lambda fraction, message: None))


def _train(
    candles: pd.DataFrame, config: TrainConfig, symbol: str | None, report: Progress
) -> TrainingResult:
    started = time.perf_counter()
    log: list[str] = []
    classes = CLASS_NAMES[config.classes]
    params = effective_params(config.algorithm, config.params)
    data = _prepare(candles, config)
    _note(log, report, 0.02, _data_line(data, candles, classes))
    folds = walk_forward_folds(data.rows, len(candles), config.folds, config.purge_rows)
    oos, fold_info, models = _run_folds(data, folds, config, params, classes, log, report)
    tested = np.concatenate([fold.test for fold in folds])
    y_test = data.y[tested].astype(np.int64)
    metrics = evaluation.classification_metrics(y_test, oos[tested], classes)
    baselines = _baselines(data, folds, config, classes)
    log.append(_compare_line(metrics, baselines))
    importance = _importance(models[-1], data, folds[-1], config)
    top = ", ".join(f"{row['feature']} {row['importance']:.4f}" for row in importance[:3])
    _note(log, report, 0.8, f"importance: permutation on {len(folds[-1].test)} rows; top {top}")
    backtest = _backtest(candles, oos, folds[0].span[0], classes, symbol, log)
    report(0.85, "backtest done" if backtest else "backtest skipped")
    bundle = _final_bundle(data, config, params, classes, log)
    _note(log, report, 0.97, f"final fit: {config.algorithm} on {len(data.rows)} rows")
    seconds = time.perf_counter() - started
    log.append(f"done in {seconds:.1f} s")
    report(1.0, "done")
    return TrainingResult(
        bundle=bundle,
        metrics=metrics,
        baselines=baselines,
        folds=fold_info,
        feature_importance=importance,
        backtest=backtest,
        data_range={
            "start_ms": int(data.time_ms[0]),
            "end_ms": int(data.time_ms[-1]),
            "rows": len(candles),
            "labelled_rows": len(data.rows),
        },
        class_counts=_class_counts(data.y[data.rows], classes),
        log=log,
        train_seconds=seconds,
    )


def _note(log: list[str], report: Progress, fraction: float, line: str) -> None:
    log.append(line)
    report(fraction, line)


def _prepare(candles: pd.DataFrame, config: TrainConfig) -> _Data:
    """Features and labels; rows = settled, fully defined, labelled positions."""
    _check_candles(candles)
    x = feature_frame(candles).to_numpy(dtype=np.float64)
    labels = label_series(
        candles, horizon=config.horizon, threshold=float(config.threshold), classes=config.classes
    )
    y = labels.to_numpy()
    usable = np.isfinite(x).all(axis=1) & np.isfinite(y)
    usable[:WARMUP_BARS] = False
    rows = np.flatnonzero(usable)
    if len(rows) < config.min_rows:
        raise TrainingError(
            "candles",
            f"{len(rows)} labelled rows from {len(candles)} candles, {config.min_rows} needed: "
            f"the first {WARMUP_BARS} candles warm the indicators up, the last "
            f"{config.horizon} have no outcome yet"
            + (", and moves inside the threshold are left out" if config.classes == 2 else "")
            + "; upload more candles or lower min_rows",
        )
    return _Data(x=x, y=y, labels=labels, rows=rows, time_ms=candles_time_ms(candles))


def _check_candles(candles: object) -> None:
    if not isinstance(candles, pd.DataFrame):
        raise TrainingError("candles", f"must be a candles DataFrame, got {type(candles)}")
    missing = [c for c in ("open", "high", "low", "close", "volume") if c not in candles]
    if missing:
        raise TrainingError("candles", f"missing column(s) {missing}")
    if len(candles) and not candles.index.is_monotonic_increasing:
        raise TrainingError("candles", "open times must ascend")


def _data_line(data: _Data, candles: pd.DataFrame, classes: tuple[str, ...]) -> str:
    counts = _class_counts(data.y[data.rows], classes)
    return (
        f"data: {len(candles)} candles {_iso(data.time_ms[0])} .. {_iso(data.time_ms[-1])}, "
        f"{len(data.rows)} labelled rows ({', '.join(f'{k} {v}' for k, v in counts.items())})"
    )


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


def _class_counts(y: np.ndarray, classes: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(y.astype(np.int64), minlength=len(classes))
    return {name: int(counts[i]) for i, name in enumerate(classes)}


def _fit(estimator: Any, x: np.ndarray, y: np.ndarray, log: list[str], what: str) -> Any:
    """Fit on integer class codes, turning a convergence warning into a log line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(x, y.astype(np.int64))
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            log.append(f"{what}: did not converge; raise max_iter ({warning.message})")
    return estimator


def _run_folds(
    data: _Data,
    folds: list[_Fold],
    config: TrainConfig,
    params: dict[str, Any],
    classes: tuple[str, ...],
    log: list[str],
    report: Progress,
) -> tuple[np.ndarray, list[dict[str, Any]], list[Any]]:
    """Fit one model per fold; out-of-sample probabilities for every candle of the spans."""
    oos = np.full((len(data.x), len(classes)), np.nan)
    infos, models = [], []
    template = make_estimator(config.algorithm, params, config.random_state)
    for i, fold in enumerate(folds, start=1):
        y_train = data.y[fold.train]
        if len(np.unique(y_train)) < 2:
            raise TrainingError(
                "candles",
                f"fold {i}: its {len(fold.train)} training rows hold fewer than 2 classes; "
                "upload more candles, lower the threshold or use fewer folds",
            )
        model = _fit(clone(template), data.x[fold.train], y_train, log, f"fold {i}")
        span = np.arange(*fold.span)
        span = span[np.isfinite(data.x[span]).all(axis=1)]
        oos[span] = _proba(model, data.x[span], len(classes))
        info = _fold_info(data, fold, oos, config.purge_rows, classes)
        infos.append(info)
        models.append(model)
        line = (
            f"fold {i}/{len(folds)}: train {info['train_rows']} rows to "
            f"{_iso(info['train_end_ms'])}, test {info['test_rows']} rows "
            f"{_iso(info['test_start_ms'])} .. {_iso(info['test_end_ms'])}: accuracy "
            f"{_fmt(info['accuracy'])}, balanced {_fmt(info['balanced_accuracy'])}, "
            f"log loss {_fmt(info['log_loss'])}"
        )
        _note(log, report, 0.05 + 0.7 * i / len(folds), line)
    return oos, infos, models


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _fold_info(
    data: _Data, fold: _Fold, oos: np.ndarray, purge: int, classes: tuple[str, ...]
) -> dict[str, Any]:
    y = data.y[fold.test].astype(np.int64)
    scores = evaluation.classification_metrics(y, oos[fold.test], classes)
    return {
        "train_start_ms": int(data.time_ms[fold.train[0]]),
        "train_end_ms": int(data.time_ms[fold.train[-1]]),
        "test_start_ms": int(data.time_ms[fold.test[0]]),
        "test_end_ms": int(data.time_ms[fold.test[-1]]),
        "train_rows": len(fold.train),
        "test_rows": len(fold.test),
        "purge": purge,
        "accuracy": scores["accuracy"],
        "balanced_accuracy": scores["balanced_accuracy"],
        "log_loss": scores["log_loss"],
    }


def _baselines(
    data: _Data, folds: list[_Fold], config: TrainConfig, classes: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Both baselines on the pooled test rows; the majority one per fold's training rows."""
    k = len(classes)
    previous = evaluation.persistence_previous(data.labels, config.horizon).to_numpy()
    majority, persistence = [], []
    for fold in folds:
        freq = evaluation.majority_proba(data.y[fold.train], len(fold.test), k)
        majority.append(freq)
        fallback = int(np.argmax(freq[0]))
        persistence.append(evaluation.persistence_proba(previous[fold.test], fallback, k))
    tested = np.concatenate([fold.test for fold in folds])
    y = data.y[tested].astype(np.int64)
    return {
        "majority": evaluation.classification_metrics(y, np.concatenate(majority), classes),
        "persistence": evaluation.classification_metrics(y, np.concatenate(persistence), classes),
    }


def _compare_line(metrics: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> str:
    parts = [f"model {_fmt(metrics['balanced_accuracy'])}"] + [
        f"{name} {_fmt(values['balanced_accuracy'])}" for name, values in baselines.items()
    ]
    return (
        f"out of sample on {metrics['samples']} rows, balanced accuracy: {', '.join(parts)}; "
        f"log loss model {_fmt(metrics['log_loss'])}, "
        f"majority {_fmt(baselines['majority']['log_loss'])}"
    )


def _importance(model: Any, data: _Data, fold: _Fold, config: TrainConfig) -> list[dict]:
    """Permutation importance (log-loss increase) on the last fold's held-out rows."""
    scorer = make_scorer(
        log_loss,
        greater_is_better=False,
        response_method="predict_proba",
        labels=list(model.classes_),
    )
    result = permutation_importance(
        model,
        data.x[fold.test],
        data.y[fold.test].astype(np.int64),
        scoring=scorer,
        n_repeats=config.importance_repeats,
        random_state=config.random_state,
    )
    rows = [
        {"feature": name, "importance": float(mean), "std": float(std)}
        for name, mean, std in zip(
            FEATURES, result.importances_mean, result.importances_std, strict=True
        )
    ]
    return sorted(rows, key=lambda row: row["importance"], reverse=True)


def signals_from_proba(proba: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """+1 / -1 / 0 (int8) per row: p(up) >= 0.55 long, p(down) >= 0.55 short (binary:
    p(up) <= 0.45), otherwise 0; NaN rows (features undefined) give 0."""
    up = proba[:, len(classes) - 1]
    signal = np.zeros(len(proba), dtype=np.int8)
    signal[up >= SIGNAL_PROBABILITY] = 1
    if len(classes) == 2:
        signal[up <= 1.0 - SIGNAL_PROBABILITY] = -1
    else:
        signal[proba[:, 0] >= SIGNAL_PROBABILITY] = -1
    return signal  # NaN compares False: stays 0


def _backtest(
    candles: pd.DataFrame,
    oos: np.ndarray,
    start: int,
    classes: tuple[str, ...],
    symbol: str | None,
    log: list[str],
) -> dict[str, Any] | None:
    """Backtest the out-of-sample signals over the test candles; None when it cannot run."""
    if symbol is None:
        log.append("backtest: skipped (no symbol)")
        return None
    from trading import engine as core  # the backtester only when asked: keeps imports light
    from trading.backtest import BacktestConfig, run_backtest

    window = candles.iloc[start:]
    signal = signals_from_proba(oos[start:], classes)
    signals = pd.DataFrame(
        {"signal": signal, "stop_loss": np.nan, "take_profit": np.nan}, index=window.index
    )
    name = symbol.upper().replace("/", "")
    try:
        engine = core.Engine(rules={name: core.rules_for(name)})
        result = run_backtest(window, signals, BacktestConfig(name, funding=False), engine=engine)
    except Exception as exc:  # the backtest is a bonus; a failure must not lose the model
        logger.warning("ml backtest of %s failed: %r", name, exc)
        log.append(f"backtest: failed ({type(exc).__name__}: {exc})")
        return None
    out = {
        "symbol": name,
        "start_ms": int(candles_time_ms(window)[0]),
        "end_ms": int(candles_time_ms(window)[-1]),
        "candles": len(window),
        "long_signals": int((signal == 1).sum()),
        "short_signals": int((signal == -1).sum()),
        "thresholds": _thresholds(classes),
        "final_balance": float(result.final_balance),
        "metrics": result.metrics,
    }
    metrics = result.metrics
    log.append(
        f"backtest: {len(window)} candles, {metrics.get('trades')} trades, return "
        f"{_pct(metrics.get('total_return_pct'))} (buy and hold "
        f"{_pct(metrics.get('buy_and_hold_return_pct'))}), long signals "
        f"{out['long_signals']}, short {out['short_signals']}"
    )
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def _thresholds(classes: tuple[str, ...]) -> dict[str, str]:
    if len(classes) == 2:
        low = round(1.0 - SIGNAL_PROBABILITY, 10)
        return {"long": f"p(up) >= {SIGNAL_PROBABILITY}", "short": f"p(up) <= {low}"}
    return {"long": f"p(up) >= {SIGNAL_PROBABILITY}", "short": f"p(down) >= {SIGNAL_PROBABILITY}"}


def _final_bundle(
    data: _Data,
    config: TrainConfig,
    params: dict[str, Any],
    classes: tuple[str, ...],
    log: list[str],
) -> ModelBundle:
    estimator = make_estimator(config.algorithm, params, config.random_state)
    model = _fit(estimator, data.x[data.rows], data.y[data.rows], log, "final fit")
    return ModelBundle(
        pipeline=model,
        features=FEATURES,
        classes=classes,
        horizon=config.horizon,
        threshold=float(config.threshold),
        algorithm=config.algorithm,
        params=dict(params),
    )
