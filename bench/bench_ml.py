"""ML core timings on the shipped BTCUSDT 1h history: `python -m bench ml`.

In process, no database, no Django settings:

1. Features: ml.features.feature_frame over the whole shipped history (~65,000 hourly
   candles since 2018), best of RUNS (BENCH_RUNS, default 3).
2. Training: ml.training.train with the default TrainConfig for each algorithm (5-fold
   purged walk-forward, permutation importance on the last fold, backtest of the
   out-of-sample signals, final fit on every labelled row), timed end to end once, with
   the time of each phase taken from the progress calls; the out-of-sample balanced
   accuracy and log loss are printed beside the majority and persistence baselines.
3. predict_last: one model in memory, PREDICTS calls on the latest WARMUP_BARS + 64
   candles (what the live prediction service reads), after a few warm-up calls; p50 / p99
   of the wall time per call, and how it splits between features and the model.
4. Batch: one predict_proba call over BATCH_ROWS hourly candles (the history tiled: each
   copy rescaled to open where the previous one closed, times renumbered hour by hour),
   as rows per second, split between features and the model.

Training and predictions run with one OpenMP / BLAS thread (ml.training.one_thread: on
2 shared cores, two busy-waiting threads lose badly to any other load). Wall time by
time.perf_counter. The machine has 2 slow cores; other work on it shows up
in these figures, so compare runs made on an idle machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from ml.features import FEATURES, WARMUP_BARS, feature_frame
from ml.training import (
    ALGORITHMS,
    ModelBundle,
    TrainConfig,
    TrainingResult,
    one_thread,
    train,
)
from trading.strategies.frames import frame_of, shipped_candles

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SYMBOL = "BTCUSDT"
LIVE_CANDLES = WARMUP_BARS + 64
PREDICTS = 200
WARM_UP_CALLS = 5
BATCH_ROWS = 100_000
HOUR_MS = 3_600_000


def tiled_hours(candles: pd.DataFrame, rows: int = BATCH_ROWS) -> pd.DataFrame:
    """``candles`` repeated to ``rows``, each copy continuing the last one's price."""
    ohlcv = candles[["open", "high", "low", "close", "volume"]].to_numpy()
    parts, factor = [], 1.0
    for _ in range(-(-rows // len(ohlcv))):
        part = ohlcv.copy()
        part[:, :4] *= factor
        parts.append(part)
        factor = part[-1, 3] / ohlcv[0, 0]
    start = int(candles.index[0].value // 1_000_000)
    times = start + np.arange(rows, dtype=np.int64) * HOUR_MS
    return frame_of(times, np.concatenate(parts)[:rows])


def best_of(runs: int, call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def bench_features(candles: pd.DataFrame) -> None:
    seconds = best_of(RUNS, lambda: feature_frame(candles))
    print(
        f"features: {len(FEATURES)} over {len(candles):,} candles in {seconds * 1000:.1f} ms "
        f"({len(candles) / seconds:,.0f} rows/s; best of {RUNS})"
    )


def _phases(marks: list[tuple[float, float, str]]) -> str:
    """Seconds spent per phase, from the (time, fraction, message) progress calls."""
    spans: dict[str, float] = {}
    previous = 0.0
    for at, _, message in marks:
        phase = message.split(" ")[0].rstrip(":")
        phase = "folds" if phase == "fold" else phase
        spans[phase] = spans.get(phase, 0.0) + at - previous
        previous = at
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spans.items())


def timed_training(
    candles: pd.DataFrame, algorithm: str
) -> tuple[TrainingResult, float, list[tuple[float, float, str]]]:
    """One default training of ``algorithm``: result, seconds, progress marks."""
    marks: list[tuple[float, float, str]] = []
    started = time.perf_counter()
    result = train(
        candles,
        TrainConfig(algorithm=algorithm),
        symbol=SYMBOL,
        progress=lambda f, m: marks.append((time.perf_counter() - started, f, m)),
    )
    return result, time.perf_counter() - started, marks


def bench_training(candles: pd.DataFrame) -> dict[str, ModelBundle]:
    bundles = {}
    for algorithm in ALGORITHMS:
        result, seconds, marks = timed_training(candles, algorithm)
        print(
            f"train {algorithm:24s}: {seconds:6.1f} s  ({result.data_range['rows']:,} candles, "
            f"{result.data_range['labelled_rows']:,} labelled rows x {len(FEATURES)} features, "
            f"{len(result.folds)} folds)"
        )
        print(f"    phases: {_phases(marks)}")
        print(f"    {_quality(result)}")
        bundles[algorithm] = result.bundle
    return bundles


def _quality(result: TrainingResult) -> str:
    model, majority = result.metrics, result.baselines["majority"]
    persistence = result.baselines["persistence"]
    backtest = result.backtest or {}
    total = (backtest.get("metrics") or {}).get("total_return_pct")
    hold = (backtest.get("metrics") or {}).get("buy_and_hold_return_pct")
    return (
        f"out of sample ({model['samples']:,} rows): balanced accuracy "
        f"{model['balanced_accuracy']:.4f} (majority {majority['balanced_accuracy']:.4f}, "
        f"persistence {persistence['balanced_accuracy']:.4f}), log loss "
        f"{model['log_loss']:.4f} (majority {majority['log_loss']:.4f}); backtest "
        f"{_pct(total)} vs buy and hold {_pct(hold)}"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


def _model_only(bundle: ModelBundle, x: np.ndarray) -> np.ndarray:
    """The estimator's predict_proba alone, with the thread limit predictions run under."""
    with one_thread():
        return bundle.pipeline.predict_proba(x)


def bench_predict_last(candles: pd.DataFrame, bundles: dict[str, ModelBundle]) -> None:
    live = candles.iloc[-LIVE_CANDLES:]
    features_s = best_of(PREDICTS // 4, lambda: feature_frame(live.iloc[-(WARMUP_BARS + 1) :]))
    row = feature_frame(live).iloc[-1:].to_numpy()
    for algorithm, bundle in bundles.items():
        for _ in range(WARM_UP_CALLS):
            bundle.predict_last(live)
        samples = []
        for _ in range(PREDICTS):
            started = time.perf_counter()
            bundle.predict_last(live)
            samples.append(time.perf_counter() - started)
        model_s = best_of(PREDICTS // 4, lambda b=bundle: _model_only(b, row))
        p50, p99 = np.percentile(samples, [50, 99]) * 1000
        print(
            f"predict_last {algorithm:24s}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"({PREDICTS} calls on {LIVE_CANDLES} candles; features {features_s * 1000:.2f} "
            f"ms + model {model_s * 1000:.2f} ms, best)"
        )


def bench_batch(candles: pd.DataFrame, bundles: dict[str, ModelBundle]) -> None:
    big = tiled_hours(candles)
    features_s = best_of(RUNS, lambda: feature_frame(big))
    x = feature_frame(big).to_numpy()
    x = x[np.isfinite(x).all(axis=1)]
    for algorithm, bundle in bundles.items():
        total_s = best_of(RUNS, lambda b=bundle: b.predict_proba(big))
        model_s = best_of(RUNS, lambda b=bundle: _model_only(b, x))
        print(
            f"batch predict_proba {algorithm:24s}: {len(big):,} rows in {total_s * 1000:7.1f} ms"
            f"  {len(big) / total_s:10,.0f} rows/s  (features {features_s * 1000:.1f} ms, model "
            f"{model_s * 1000:.1f} ms; one call, best of {RUNS})"
        )


def main() -> None:
    # --- ML core, in process (ml/features.py, ml/training.py) -------------------------------
    started = time.perf_counter()
    candles = shipped_candles(SYMBOL, "1h")
    print(
        f"data: {len(candles):,} shipped {SYMBOL} 1h candles, {candles.index[0]:%Y-%m-%d} .. "
        f"{candles.index[-1]:%Y-%m-%d}, read in {time.perf_counter() - started:.2f} s"
    )
    bench_features(candles)
    bundles = bench_training(candles)
    bench_predict_last(candles, bundles)
    bench_batch(candles, bundles)
    # The HTTP side (GET /ml/predict p50/p99 on the live stack): `python -m bench ml_predict`.
