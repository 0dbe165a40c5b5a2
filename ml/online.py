"""Online learning of the candle direction with river, scored prequentially (pure).

The online model sits beside the batch model of :mod:`ml.training`: same features
(:func:`ml.features.feature_frame`), same target (binary: "up" if close[t+h]/close[t] - 1 >
threshold, "down" if < -threshold, the dead zone between left out), but it learns from each
closed candle as soon as that candle's label is known, one sample at a time, so it follows
the market between batch retrainings. No ORM and no network: the Django shell
(ml/services/hybrid.py) feeds candles, stores :meth:`OnlineLearner.to_bytes` and records the
:class:`StepReport`.

Test-then-train with delayed labels (:meth:`OnlineLearner.process`). For each new closed
candle t, in time order:

1. its features come from the frame given (candles <= t only);
2. the model predicts p(up) for t, which is kept *pending* with t's features and close;
3. every pending candle s whose horizon ends at t (s + horizon x period == t) gets its
   label from close[t] / close[s] - 1. In the dead zone it is dropped; otherwise the stored
   prediction is scored (rolling and cumulative accuracy and log loss), its 0/1 error is fed
   to the drift detector, and only then does the model learn (x_s, y_s).

So every score is of a prediction made before the model saw that sample (and before it saw
any label that ends after s's prediction), which is what makes the figures honest.

Gaps. A label is computed only from the candle exactly ``horizon`` periods after s, by open
time, never from "the candle ``horizon`` rows later": if that candle is missing (the data
has a hole), the pending prediction is dropped and counted in ``gap_dropped``. The period is
the smallest spacing between candles seen up to the first prediction (candles must be of
one timeframe and aligned to it; another spacing later is refused).

Warm-up. New candles with fewer than :data:`ml.features.WARMUP_BARS` candles before them in
the frame given, or whose features are undefined, are consumed (their time advances
``last_candle_ms`` and they still close the horizons of pending candles) without a
prediction, and counted as ``skipped``: their recursive indicators would still carry the
seed of where the frame starts, so they would not match the batch model's inputs. Callers
pass WARMUP_BARS candles of history before the new ones (as the shell does).

Drift. ADWIN (river.drift.ADWIN, delta = ``drift_delta``) watches the stream of 0/1
prediction errors. ADWIN flags any significant change of its mean; the learner reports a
*drift* only when the error rate went up (the recent part of ADWIN's window has a higher
error rate than the whole window before it), not when it fell as the model learned.
Detection does not reset the model: logistic regression with constant-step SGD keeps
adapting (its effective memory is a few hundred samples at learning rate 0.01), the
adaptive random forest replaces its own drifting trees, and the hybrid blend moves weight
away from the online model while it is wrong. The report says when drift happened, so the
shell can record it and retrain the batch model, and a user can reset the learner (a reset
is a new :class:`OnlineLearner`).

Algorithms (:data:`ONLINE_ALGORITHMS`): ``logistic_regression`` = standard scaling ->
river LogisticRegression (plain SGD at ``learning_rate``, ``l2``). The scaling keeps the
large-valued features (RSI 0-100 next to returns of 1e-3) from dominating the gradient; it
is :class:`RunningScaler`, river's StandardScaler arithmetic (Welford mean and population
variance, (x - mean) / std, 0 where the variance is 0) fused into one loop that updates and
transforms together, updated with each candle's features when the candle is predicted
(unsupervised: no label is involved; the sample is later learned on exactly the scaled
values it was predicted from). On this machine's cores river's Pipeline(StandardScaler,
LogisticRegression) runs ~13,000 predict + learn rows/s on the 25 features, the fused
scaler about twice that, which is what brings a 10,000-candle replay under half a second.
``adaptive_random_forest`` = river ARFClassifier (``n_models`` Hoeffding trees,
each with its own ADWIN drift detector; trees split on thresholds, so no scaling). The
logistic model's first prediction is exactly 0.5; the forest answers 0.5 until it has
learned a sample.
"""

from __future__ import annotations

import math
import pickle
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import river
from river import drift, forest, linear_model, optim

from ml.features import FEATURES, MIN_CANDLES, WARMUP_BARS, feature_frame
from trading.strategies.frames import candles_time_ms

ONLINE_ALGORITHMS: Final = ("logistic_regression", "adaptive_random_forest")
CLASSES: Final = ("down", "up")
PROBA_CLIP: Final = 1e-7  # log loss of a probability of 0 or 1 would be infinite
STATE_VERSION: Final = 1  # bump when the pickled layout changes: old states are refused
DRIFT_HISTORY: Final = 50  # drift events kept in the state (stats()["drift_history"])
MAX_HORIZON: Final = 500
MAX_THRESHOLD: Final = 0.2


class OnlineError(ValueError):
    """An online configuration that cannot run; ``field`` names the input to fix (API 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class OnlineConfig:
    """What the online learner is: algorithm, target, learning and monitoring settings.

    ``horizon`` (bars) and ``threshold`` (fraction: 0.002 = 0.2 %) define the binary label
    as for the batch model. ``learning_rate`` (SGD step) and ``l2`` apply to logistic
    regression; ``n_models`` (trees) and ``seed`` to the adaptive random forest.
    ``drift_delta``: ADWIN's confidence (smaller = fewer, surer detections). ``window``:
    scored samples in the rolling accuracy / log loss. Check with :func:`config_check`.
    """

    algorithm: str = "logistic_regression"
    horizon: int = 12
    threshold: float = 0.002
    learning_rate: float = 0.001
    l2: float = 0.0
    drift_delta: float = 0.002
    window: int = 500
    n_models: int = 10
    seed: int = 42


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
        raise OnlineError(name, f"must be a whole number from {low} to {high}, got {value!r}")


def _check_number(
    name: str, value: object, low: float, high: float, *, low_open: bool = False, unit: str = ""
) -> None:
    ok = _is_number(value) and (
        (low < float(value) if low_open else low <= float(value))  # type: ignore[arg-type]
        and float(value) <= high  # type: ignore[arg-type]
    )
    if not ok:
        above = f"above {low:g}" if low_open else f"from {low:g}"
        raise OnlineError(name, f"must be a number {above} to {high:g}{unit}, got {value!r}")


def config_check(config: OnlineConfig) -> None:
    """Refuse a config the learner cannot run: OnlineError naming the first bad field."""
    if config.algorithm not in ONLINE_ALGORITHMS:
        raise OnlineError(
            "algorithm",
            f"must be one of {', '.join(ONLINE_ALGORITHMS)}, got {config.algorithm!r}",
        )
    _check_int("horizon", config.horizon, 1, MAX_HORIZON)
    _check_number("threshold", config.threshold, 0.0, MAX_THRESHOLD, unit=" (0.002 = 0.2 %)")
    _check_number("learning_rate", config.learning_rate, 0.0, 1.0, low_open=True)
    _check_number("l2", config.l2, 0.0, 1.0)
    _check_number("drift_delta", config.drift_delta, 0.0, 0.5, low_open=True)
    _check_int("window", config.window, 10, 100_000)
    _check_int("n_models", config.n_models, 1, 100)
    _check_int("seed", config.seed, 0, 2**32 - 1)


@dataclass
class StepReport:
    """What one :meth:`OnlineLearner.process` call did.

    processed: new candles consumed; skipped: of those, the ones not predicted (warm-up or
    undefined features); learned / scored: samples whose label arrived in this call (each
    scored sample is then learned, so the two are equal); gap_dropped / dead_zone: pending
    predictions dropped in this call because the horizon's candle is missing, or the move
    fell in the dead zone. drift_detected / drift_at_ms: whether (and at which candles'
    open times, ms) the error rate rose significantly. last_candle_ms: the newest candle
    consumed so far (None before any); pending: predictions still waiting for their label.
    predictions: (open time ms, p(up)) made in this call; outcomes: (open time ms, p(up)
    predicted then, label code 0 = down / 1 = up) scored in this call.
    """

    processed: int = 0
    learned: int = 0
    scored: int = 0
    drift_detected: bool = False
    drift_at_ms: list[int] = field(default_factory=list)
    last_candle_ms: int | None = None
    pending: int = 0
    predictions: list[tuple[int, float]] = field(default_factory=list)
    outcomes: list[tuple[int, float, int]] = field(default_factory=list)
    skipped: int = 0
    gap_dropped: int = 0
    dead_zone: int = 0


class RunningScaler:
    """Standardises feature rows with running statistics (river StandardScaler's arithmetic).

    Per feature: count n, Welford mean and population variance; a value becomes
    (x - mean) / sqrt(variance), or 0 while the variance is 0 (the first row). Rows are
    lists in :data:`ml.features.FEATURES` order; the output is the dict river models take.
    """

    def __init__(self) -> None:
        self.n = 0
        self.mean = [0.0] * len(FEATURES)
        self.var = [0.0] * len(FEATURES)

    def learn_transform(self, row: list[float]) -> dict[str, float]:
        """Update the statistics with ``row``, then scale it with them (one pass)."""
        self.n += 1
        n, mean, var = self.n, self.mean, self.var
        out = {}
        for i, (name, x) in enumerate(zip(FEATURES, row, strict=True)):
            old = mean[i]
            m = old + (x - old) / n
            v = var[i] + ((x - old) * (x - m) - var[i]) / n
            mean[i], var[i] = m, v
            out[name] = (x - m) / math.sqrt(v) if v > 0 else 0.0
        return out

    def transform(self, row: list[float]) -> dict[str, float]:
        """Scale ``row`` with the current statistics (no update)."""
        return {
            name: (x - m) / math.sqrt(v) if v > 0 else 0.0
            for name, x, m, v in zip(FEATURES, row, self.mean, self.var, strict=True)
        }


def _make_model(config: OnlineConfig) -> Any:
    if config.algorithm == "logistic_regression":
        return linear_model.LogisticRegression(
            optimizer=optim.SGD(config.learning_rate), l2=config.l2
        )
    return forest.ARFClassifier(n_models=config.n_models, seed=config.seed)


def _as_dict(row: list[float]) -> dict[str, float]:
    return dict(zip(FEATURES, row, strict=True))


def sample_log_loss(p_up: float, label: int) -> float:
    """Log loss (nats) of p(up) for one label (1 = up), p clipped to [1e-7, 1 - 1e-7]."""
    p = min(max(p_up, PROBA_CLIP), 1.0 - PROBA_CLIP)
    return -math.log(p if label else 1.0 - p)


def predicted_label(p_up: float) -> int:
    """The class a probability calls: 1 (up) when p(up) >= 0.5, else 0 (down)."""
    return 1 if p_up >= 0.5 else 0


class OnlineLearner:
    """One symbol/timeframe's online model with its prequential record and drift detector.

    The object is its whole state (model, scaler, pending predictions, metrics, ADWIN);
    :meth:`to_bytes` / :meth:`from_bytes` persist it, so a restarted worker resumes exactly
    where it stopped. Candles up to :attr:`last_candle_ms` are never processed again, so
    feeding overlapping frames (a retried task) learns nothing twice.
    """

    def __init__(self, config: OnlineConfig) -> None:
        config_check(config)
        self.config = config
        self._model = _make_model(config)
        self._scaler = RunningScaler() if config.algorithm == "logistic_regression" else None
        self._adwin = drift.ADWIN(delta=config.drift_delta)
        # (open time ms, close, model inputs, p(up)) in time order, waiting for the label
        self._pending: deque[tuple[int, float, dict[str, float], float]] = deque()
        self._recent_correct: deque[int] = deque(maxlen=config.window)
        self._recent_log_loss: deque[float] = deque(maxlen=config.window)
        self._drift_history: deque[dict[str, Any]] = deque(maxlen=DRIFT_HISTORY)
        self.period_ms: int | None = None
        self.last_candle_ms: int | None = None
        self.last_learned_ms: int | None = None
        self.samples_seen = 0
        self.correct_total = 0
        self.log_loss_total = 0.0
        self.drift_detections = 0
        self.last_drift_ms: int | None = None
        self.gap_dropped = 0
        self.dead_zone_dropped = 0
        self.skipped = 0
        self._state_version = STATE_VERSION
        self._river_version = river.__version__

    # ------------------------------------------------------------------ learning

    def process(self, candles: pd.DataFrame) -> StepReport:
        """Consume the candles newer than :attr:`last_candle_ms`: predict, score, learn.

        ``candles``: one symbol and timeframe, ascending open time, closed candles only;
        older candles are history for the features. See the module docstring for the order
        of operations, gaps and warm-up. Features are computed once over the whole frame,
        so pass a bounded window (WARMUP_BARS of history + the new candles), not years.
        Raises ValueError for unsorted / duplicate times or another timeframe's spacing,
        before changing anything. Any other exception may leave the object half-updated:
        discard it and reload the saved state (the shell saves only after a success).
        """
        report = StepReport(last_candle_ms=self.last_candle_ms, pending=len(self._pending))
        times = self._check_times(candles)
        start = (
            0
            if self.last_candle_ms is None
            else int(np.searchsorted(times, self.last_candle_ms, side="right"))
        )
        if start >= len(times):
            return report
        x_new = feature_frame(candles).to_numpy(dtype=np.float64)[start:]
        valid = np.isfinite(x_new).all(axis=1)
        valid[: max(0, WARMUP_BARS - start)] = False
        rows = x_new.tolist()
        closes = candles["close"].to_numpy(dtype=np.float64)[start:].tolist()
        new_times = times[start:].tolist()
        horizon_ms = self.config.horizon * (self.period_ms or 0)
        pending = self._pending
        inputs = self._scaler.learn_transform if self._scaler else _as_dict
        for i, t in enumerate(new_times):
            if valid[i]:
                x = inputs(rows[i])
                p = self._p_up(x)
                pending.append((t, closes[i], x, p))
                report.predictions.append((t, p))
            else:
                report.skipped += 1
            while pending and pending[0][0] + horizon_ms <= t:
                s, close_s, x_s, p_s = pending.popleft()
                if s + horizon_ms < t:  # the candle closing s's horizon is missing
                    report.gap_dropped += 1
                    continue
                r = closes[i] / close_s - 1.0  # as ml.features.label_series computes it
                if r > self.config.threshold:
                    label = 1
                elif r < -self.config.threshold:
                    label = 0
                else:  # the dead zone (or a non-finite return): no label
                    report.dead_zone += 1
                    continue
                self._score(s, p_s, label, t, report)
                self._model.learn_one(x_s, label == 1)
                self.samples_seen += 1
                self.last_learned_ms = s
                report.learned += 1
        self.last_candle_ms = new_times[-1]
        self.skipped += report.skipped
        self.gap_dropped += report.gap_dropped
        self.dead_zone_dropped += report.dead_zone
        report.processed = len(new_times)
        report.last_candle_ms = self.last_candle_ms
        report.pending = len(pending)
        report.drift_detected = bool(report.drift_at_ms)
        return report

    def _check_times(self, candles: pd.DataFrame) -> np.ndarray:
        if not isinstance(candles, pd.DataFrame) or "close" not in candles.columns:
            raise ValueError("candles must be a candles frame with a close column")
        times = candles_time_ms(candles)
        if len(times) < 2:
            return times
        steps = np.diff(times)
        if (steps <= 0).any():
            raise ValueError("candle open times must be strictly increasing (sorted, unique)")
        spacing = int(steps.min())
        predicted = self._pending or self.samples_seen or self.dead_zone_dropped or self.gap_dropped
        if self.period_ms is None or (not predicted and spacing < self.period_ms):
            self.period_ms = spacing  # settled once a prediction depends on it
        elif spacing < self.period_ms or ((times - times[0]) % self.period_ms).any():
            raise ValueError(
                f"these candles are not on this learner's timeframe of {self.period_ms} ms "
                f"(closest spacing {spacing} ms): one learner per symbol and timeframe"
            )
        return times

    def _p_up(self, x: dict[str, float]) -> float:
        proba = self._model.predict_proba_one(x)
        total = sum(proba.values())
        if not total:  # a forest that has learned nothing yet
            return 0.5
        return float(proba.get(True, 0.0)) / total

    def _score(self, s: int, p: float, label: int, t: int, report: StepReport) -> None:
        """Score the prediction made for s, then feed its error to ADWIN (before learning)."""
        correct = int(predicted_label(p) == label)
        loss = sample_log_loss(p, label)
        self._recent_correct.append(correct)
        self._recent_log_loss.append(loss)
        self.correct_total += correct
        self.log_loss_total += loss
        report.scored += 1
        report.outcomes.append((s, p, label))
        before = self._adwin.estimation
        self._adwin.update(1 - correct)
        if self._adwin.drift_detected:
            after = self._adwin.estimation  # the recent part ADWIN kept
            if after > before:  # the error rate rose: drift worth reporting
                self.drift_detections += 1
                self.last_drift_ms = t
                self._drift_history.append(
                    {"at_ms": t, "error_rate_before": before, "error_rate_after": after}
                )
                report.drift_at_ms.append(t)

    # ------------------------------------------------------------------ reading

    def predict_proba(self, candles: pd.DataFrame) -> dict[str, float]:
        """p(down) and p(up) for the last candle of ``candles``; learns nothing.

        Uses the last WARMUP_BARS + 1 candles (as the batch model's live prediction) and
        the scaling statistics as they are (this candle's features are not added to them,
        unlike in :meth:`process`: a difference of one row in the running means).
        Raises ValueError when there are fewer than MIN_CANDLES or the last candle's
        features are undefined.
        """
        tail = candles.iloc[-(WARMUP_BARS + 1) :]
        if len(tail) < MIN_CANDLES:
            raise ValueError(
                f"not enough candles to predict: {len(candles)} given, at least {MIN_CANDLES} "
                f"needed ({WARMUP_BARS + 1} for settled indicator values)"
            )
        x = feature_frame(tail).to_numpy(dtype=np.float64)[-1]
        if not np.isfinite(x).all():
            bad = [name for name, v in zip(FEATURES, x, strict=True) if not math.isfinite(v)]
            raise ValueError(
                f"the last candle's features {bad} are undefined (a division by zero: flat "
                "prices or constant volume); pass candles with movement"
            )
        row = x.tolist()
        p = self._p_up(self._scaler.transform(row) if self._scaler else _as_dict(row))
        return {"down": 1.0 - p, "up": p}

    def stats(self) -> dict[str, Any]:
        """The learner's figures as JSON-ready values (None where nothing is measured yet).

        rolling_*: over the last ``window`` scored samples; cumulative_* (also plain
        ``accuracy`` / ``log_loss``): since the start.
        Accuracy calls "up" when p(up) >= 0.5; log loss in nats (ln 2 = 0.693 is a coin).
        """
        recent = len(self._recent_correct)
        scored = self.samples_seen
        return {
            "algorithm": self.config.algorithm,
            "samples_seen": self.samples_seen,
            "predictions_scored": scored,
            "rolling_samples": recent,
            "rolling_accuracy": sum(self._recent_correct) / recent if recent else None,
            "rolling_log_loss": math.fsum(self._recent_log_loss) / recent if recent else None,
            "cumulative_accuracy": self.correct_total / scored if scored else None,
            "cumulative_log_loss": self.log_loss_total / scored if scored else None,
            "accuracy": self.correct_total / scored if scored else None,  # = cumulative_
            "log_loss": self.log_loss_total / scored if scored else None,  # = cumulative_
            "drift_detections": self.drift_detections,
            "last_drift_ms": self.last_drift_ms,
            "drift_history": [dict(event) for event in self._drift_history],
            "last_candle_ms": self.last_candle_ms,
            "last_learned_ms": self.last_learned_ms,
            "pending_labels": len(self._pending),
            "gap_dropped": self.gap_dropped,
            "dead_zone_dropped": self.dead_zone_dropped,
            "skipped": self.skipped,
            "period_ms": self.period_ms,
            "river_version": self._river_version,
            "config": asdict(self.config),
        }

    # ------------------------------------------------------------------ persistence

    def to_bytes(self) -> bytes:
        """The whole state, pickled. Only ever our own object, stored by our own code.

        :meth:`from_bytes` unpickles, which can run arbitrary code: it must only ever be
        given bytes this method produced and the database kept, never anything a user sent
        (uploads are CSV only, see DESIGN.md).
        """
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> OnlineLearner:
        """The learner :meth:`to_bytes` saved (our own stored state only, never user input).

        ValueError when the bytes are not a learner of this state version (or the
        installed river cannot load it): start a new learner.
        """
        try:
            learner = pickle.loads(data)  # our own stored state only: see to_bytes
        except (
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            IndexError,
            KeyError,
            TypeError,
        ) as exc:
            raise ValueError(f"stored online learner state cannot be loaded: {exc}") from exc
        if not isinstance(learner, cls):
            raise ValueError(f"stored state is a {type(learner).__name__}, not an OnlineLearner")
        version = getattr(learner, "_state_version", None)
        if version != STATE_VERSION:
            raise ValueError(
                f"stored online learner state has version {version!r}, this "
                f"code reads {STATE_VERSION}: reset the online model"
            )
        return learner
