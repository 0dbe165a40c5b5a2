"""Online learning and the hybrid blend on the shipped BTCUSDT 1h history:
`python -m bench online`.

In process, no database:

1. Replay: a fresh logistic-regression OnlineLearner fed the whole history (~65,000
   candles) in one process() call: candles per second, the share spent in feature_frame,
   and predict + learn rows per second, beside river's own Pipeline(StandardScaler,
   LogisticRegression) on PIPELINE_ROWS of the same feature rows (PERFORMANCE.md "ML"; the
   learner fuses the scaler, see ml/online.py); then the prequential figures it ends with
   (cumulative and over the last 500 samples), drift detections, dead-zone and gap drops.
2. Live step: what the shell's hourly task does, one new candle with WARMUP_BARS + horizon
   + 2 candles of history, STEPS times: per-call latency, and to_bytes / from_bytes time
   and size of the state.
3. Adaptive random forest (10 trees) on the last ARF_CANDLES candles: rows per second and
   state size (it grows with the trees).
4. Learning rate: the logistic learner at a few SGD steps over the last SWEEP_CANDLES
   candles, by cumulative log loss (0.693 is a coin).
5. Hybrid: a batch model (ml.training.train, default algorithm, 2 folds) fitted on the
   first half of the history predicts the second half without refitting; the online
   learner's predictions of the same candles (from the replay); the adaptive blend
   recomputes its weights at every candle from the pairs whose label was known by then
   (last ``window``). Accuracy, log loss and the return of following each one's signals
   (close to close, no fees, ml.hybrid.signal_pnl) over that half.

Wall time by time.perf_counter. The machine has 2 slow shared cores; other work on it shows
up in these figures, so compare runs made on an idle machine.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from river import linear_model, optim, preprocessing

from bench.harness import print_table
from ml import hybrid
from ml.features import FEATURES, WARMUP_BARS, feature_frame, label_series
from ml.online import OnlineConfig, OnlineLearner
from ml.training import TrainConfig, train
from trading.strategies.frames import candles_time_ms, shipped_candles

SYMBOL = "BTCUSDT"
STEPS = 200
PIPELINE_ROWS = 10_000
ARF_CANDLES = 3_000
SWEEP_CANDLES = 20_000
SWEEP_RATES = (0.01, 0.003, 0.001, 0.0003)
HOUR_MS = 3_600_000


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _replay(candles: pd.DataFrame) -> tuple[OnlineLearner, object]:
    started = time.perf_counter()
    feature_frame(candles)
    feature_s = time.perf_counter() - started
    learner = OnlineLearner(OnlineConfig())
    started = time.perf_counter()
    report = learner.process(candles)
    total_s = time.perf_counter() - started
    loop_s = max(total_s - feature_s, 1e-9)
    stats = learner.stats()
    print(
        f"replay: {len(candles)} candles in {total_s:.2f} s = {len(candles) / total_s:,.0f} "
        f"candles/s (feature_frame {feature_s:.2f} s); river predict + learn: "
        f"{len(report.predictions)} predictions, {report.learned} learned, "
        f"{len(report.predictions) / loop_s:,.0f} rows/s"
    )
    print_table(
        ["figure", "cumulative", f"last {stats['rolling_samples']}"],
        [
            ["accuracy", _fmt(stats["cumulative_accuracy"]), _fmt(stats["rolling_accuracy"])],
            ["log loss", _fmt(stats["cumulative_log_loss"]), _fmt(stats["rolling_log_loss"])],
        ],
    )
    print(
        f"drift detections {stats['drift_detections']}, dead zone {stats['dead_zone_dropped']}, "
        f"gap dropped {stats['gap_dropped']}, skipped (warm-up) {stats['skipped']}"
    )
    print(
        f"river Pipeline(StandardScaler, LogisticRegression): {_pipeline_rate(candles):,.0f} rows/s"
    )
    return learner, report


def _pipeline_rate(candles: pd.DataFrame) -> float:
    """predict_proba_one + learn_one rows per second of river's plain pipeline."""
    part = candles.iloc[: WARMUP_BARS + PIPELINE_ROWS + 12]
    x = feature_frame(part).to_numpy()[WARMUP_BARS:]
    y = label_series(part, horizon=12, threshold=0.002, classes=2).to_numpy()[WARMUP_BARS:]
    keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
    rows = [dict(zip(FEATURES, row, strict=True)) for row in x[keep].tolist()]
    labels = (y[keep] == 1).tolist()
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(0.01)
    )
    started = time.perf_counter()
    for row, label in zip(rows, labels, strict=True):
        model.predict_proba_one(row)
        model.learn_one(row, label)
    return len(rows) / (time.perf_counter() - started)


def _live_steps(candles: pd.DataFrame) -> None:
    history = WARMUP_BARS + OnlineConfig().horizon + 2
    start = len(candles) - STEPS
    learner = OnlineLearner(OnlineConfig())
    learner.process(candles.iloc[: start - 1])
    step_ms, save_ms, load_ms = [], [], []
    state = b""
    for end in range(start, len(candles) + 1):
        began = time.perf_counter()
        learner.process(candles.iloc[end - 1 - history : end])
        step_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        state = learner.to_bytes()
        save_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        learner = OnlineLearner.from_bytes(state)
        load_ms.append((time.perf_counter() - began) * 1000)
    print_table(
        ["live step (1 new candle)", "p50 ms", "p99 ms"],
        [
            [f"process ({history} + 1 candles)", *_percentiles(step_ms)],
            ["to_bytes", *_percentiles(save_ms)],
            ["from_bytes", *_percentiles(load_ms)],
        ],
    )
    print(f"logistic-regression state: {len(state):,} bytes")


def _percentiles(values: list[float]) -> list[str]:
    p50, p99 = np.percentile(values, [50, 99])
    return [f"{p50:.2f}", f"{p99:.2f}"]


def _forest(candles: pd.DataFrame) -> None:
    learner = OnlineLearner(OnlineConfig(algorithm="adaptive_random_forest"))
    started = time.perf_counter()
    report = learner.process(candles)
    seconds = time.perf_counter() - started
    began = time.perf_counter()
    state = learner.to_bytes()
    save_s = time.perf_counter() - began
    stats = learner.stats()
    print(
        f"adaptive random forest (10 trees): {len(candles)} candles in {seconds:.1f} s, "
        f"{len(report.predictions) / seconds:,.0f} rows/s; cumulative accuracy "
        f"{_fmt(stats['cumulative_accuracy'])}, log loss {_fmt(stats['cumulative_log_loss'])}; "
        f"state {len(state) / 1e6:.1f} MB, to_bytes {save_s * 1000:.0f} ms"
    )


def _sweep(candles: pd.DataFrame) -> None:
    rows = []
    for rate in SWEEP_RATES:
        learner = OnlineLearner(OnlineConfig(learning_rate=rate))
        learner.process(candles)
        stats = learner.stats()
        rows.append(
            [
                f"{rate:g}",
                stats["samples_seen"],
                _fmt(stats["cumulative_accuracy"]),
                _fmt(stats["cumulative_log_loss"]),
                stats["drift_detections"],
            ]
        )
    print(f"learning rate on the last {len(candles)} candles (logistic regression, SGD):")
    print_table(["learning rate", "samples", "accuracy", "log loss", "drifts"], rows)


def _hybrid(candles: pd.DataFrame, report) -> None:
    half = len(candles) // 2
    times = candles_time_ms(candles)
    started = time.perf_counter()
    result = train(candles.iloc[:half], TrainConfig(folds=2, importance_repeats=1), symbol=SYMBOL)
    batch_p = result.bundle.predict_proba(candles)["up"].to_numpy()
    print(
        f"batch ({result.bundle.algorithm}) fitted on the first {half} candles in "
        f"{time.perf_counter() - started:.1f} s; its own walk-forward log loss "
        f"{_fmt(result.metrics['log_loss'])}"
    )
    p_batch = dict(zip(times.tolist(), batch_p.tolist(), strict=True))
    first_ms = int(times[half])
    horizon_ms = OnlineConfig().horizon * HOUR_MS
    online = [(t, p) for t, p in report.predictions if t >= first_ms]
    outcomes = [(s, p, y) for s, p, y in report.outcomes if s >= first_ms]
    known_at = np.array([s + horizon_ms for s, _, _ in outcomes], dtype=np.int64)
    b_scores = [(p_batch[s], y) for s, _, y in outcomes]
    o_scores = [(p, y) for _, p, y in outcomes]
    labels = {s: y for s, _, y in outcomes}
    config = hybrid.HybridConfig()
    blended, weights_online = {}, []
    for t, p_online in online:
        known = int(np.searchsorted(known_at, t, side="right"))
        low = max(0, known - config.window)
        weights = hybrid.hybrid_weights(config, b_scores[low:known], o_scores[low:known])
        weights_online.append(weights["online"])
        blended[t] = hybrid.blend(p_batch[t], p_online, weights)
    close = dict(zip(times.tolist(), candles["close"].tolist(), strict=True))
    series = {
        "batch (static)": {t: p_batch[t] for t, _ in online},
        "online": dict(online),
        "hybrid (adaptive)": blended,
        "hybrid (fixed 0.5)": {t: 0.5 * p_batch[t] + 0.5 * p for t, p in online},
    }
    rows = []
    for name, probabilities in series.items():
        scored = hybrid.prequential([(probabilities[s], y) for s, y in labels.items()])
        ordered = sorted(probabilities)
        pnl = hybrid.signal_pnl(
            ordered,
            [probabilities[t] for t in ordered],
            [close[t] for t in ordered],
            config.threshold,
        )
        rows.append(
            [
                name,
                scored["samples"],
                _fmt(scored["accuracy"]),
                _fmt(scored["log_loss"]),
                f"{pnl:,.1f}",
            ]
        )
    print(f"second half ({len(online)} candles, {len(labels)} labelled):")
    print_table(["model", "samples", "accuracy", "log loss", "signal return %"], rows)
    print(
        f"adaptive online weight: mean {np.mean(weights_online):.2f}, "
        f"at the floor {np.mean(np.isclose(weights_online, config.min_weight)):.0%} of candles"
    )


def main() -> None:
    candles = shipped_candles(SYMBOL, "1h")
    _, report = _replay(candles)
    _live_steps(candles)
    _forest(candles.iloc[-ARF_CANDLES:])
    _sweep(candles.iloc[-SWEEP_CANDLES:])
    _hybrid(candles, report)
