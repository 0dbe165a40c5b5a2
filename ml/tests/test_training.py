"""Walk-forward training on real and synthetic candles (pure: no database).

Real data: slices of the shipped BTCUSDT 1h history, small models, few folds, so the
whole file runs in seconds; the full-size run is bench/bench_ml.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES, MIN_CANDLES, WARMUP_BARS
from ml.training import (
    ALGORITHMS,
    ModelBundle,
    TrainConfig,
    TrainingError,
    config_check,
    train,
    walk_forward_folds,
)
from trading.strategies.frames import candles_time_ms, frame_of, shipped_candles

HOUR = 3_600_000
FAST = TrainConfig(folds=3, params={"max_iter": 60}, importance_repeats=2)
METRIC_KEYS = {
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
FOLD_KEYS = {
    "train_start_ms",
    "train_end_ms",
    "test_start_ms",
    "test_end_ms",
    "train_rows",
    "test_rows",
    "accuracy",
    "balanced_accuracy",
    "log_loss",
}


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return shipped_candles("BTCUSDT", "1h").iloc[-4000:]


@pytest.fixture(scope="module")
def trained(btc):
    """One real training (3 folds, 60 boosting rounds) with its progress calls."""
    calls: list[tuple[float, str]] = []
    result = train(btc, FAST, symbol="BTCUSDT", progress=lambda f, m: calls.append((f, m)))
    return result, calls


def position(candles: pd.DataFrame, ms: int) -> int:
    return int(np.searchsorted(candles_time_ms(candles), ms))


def test_training_reports_pooled_metrics_beside_both_baselines(trained):
    result, _ = trained
    assert set(result.metrics) == METRIC_KEYS
    assert set(result.baselines) == {"majority", "persistence"}
    for baseline in result.baselines.values():
        assert set(baseline) == METRIC_KEYS
        assert baseline["samples"] == result.metrics["samples"]
    assert result.metrics["samples"] == sum(fold["test_rows"] for fold in result.folds)
    assert 0.3 < result.metrics["accuracy"] < 0.7  # hourly BTC: near a coin flip, not broken
    assert result.baselines["majority"]["balanced_accuracy"] == 0.5
    assert sum(result.class_counts.values()) == result.data_range["labelled_rows"]


def test_everything_reported_is_json_without_nan(trained):
    result, _ = trained
    report = {
        "metrics": result.metrics,
        "baselines": result.baselines,
        "folds": result.folds,
        "importance": result.feature_importance,
        "backtest": result.backtest,
        "data_range": result.data_range,
        "class_counts": result.class_counts,
        "log": result.log,
    }
    json.dumps(report, allow_nan=False)


def test_folds_are_consecutive_with_a_purge_gap_before_each_test_block(btc, trained):
    result, _ = trained
    assert len(result.folds) == FAST.folds
    purge = FAST.horizon
    previous_end = -1
    for fold in result.folds:
        assert set(fold) >= FOLD_KEYS
        train_end = position(btc, fold["train_end_ms"])
        test_start = position(btc, fold["test_start_ms"])
        assert train_end + purge < test_start  # no training label reaches the test period
        assert position(btc, fold["train_start_ms"]) >= WARMUP_BARS
        assert test_start > previous_end
        previous_end = position(btc, fold["test_end_ms"])
        assert fold["train_rows"] > 0 and fold["test_rows"] > 0
    # the test blocks cover the later half of the labelled rows
    tested = sum(fold["test_rows"] for fold in result.folds)
    assert tested == result.data_range["labelled_rows"] // 2
    assert result.folds[1]["train_rows"] > result.folds[0]["train_rows"]  # expanding


def test_walk_forward_folds_respect_any_purge():
    rows = np.flatnonzero(np.random.default_rng(0).uniform(size=3000) < 0.7) + 400
    for purge in (0, 1, 30, 200):
        folds = walk_forward_folds(rows, 3500, 4, purge)
        starts = [int(fold.test[0]) for fold in folds]
        assert starts == sorted(starts)
        for fold in folds:
            assert fold.train.max() + purge < fold.test.min()
            assert set(fold.train) == {r for r in rows if r < fold.test.min() - purge}
            assert fold.span[0] == fold.test.min()
        assert folds[-1].span[1] == 3500
        assert np.array_equal(np.concatenate([f.test for f in folds]), rows[-(len(rows) // 2) :])


def test_importance_covers_every_feature_sorted_by_importance(trained):
    result, _ = trained
    assert {row["feature"] for row in result.feature_importance} == set(FEATURES)
    values = [row["importance"] for row in result.feature_importance]
    assert values == sorted(values, reverse=True)
    assert all(row["std"] >= 0 for row in result.feature_importance)


def test_progress_rises_to_one(trained):
    _, calls = trained
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert sum("fold" in message for _, message in calls) >= FAST.folds


def test_the_log_tells_the_story(trained):
    result, _ = trained
    text = "\n".join(result.log)
    for needle in ("data:", "fold 1/3", "fold 3/3", "importance", "backtest:", "final fit"):
        assert needle in text
    assert result.train_seconds > 0


def test_the_backtest_trades_the_out_of_sample_signals(btc, trained):
    result, _ = trained
    backtest = result.backtest
    assert backtest is not None
    assert backtest["start_ms"] == result.folds[0]["test_start_ms"]
    assert backtest["end_ms"] == int(candles_time_ms(btc)[-1])
    assert backtest["thresholds"] == {"long": "p(up) >= 0.55", "short": "p(up) <= 0.45"}
    assert {"total_return_pct", "sharpe", "trades", "buy_and_hold_return_pct"} <= set(
        backtest["metrics"]
    )


def test_the_bundle_predicts_probabilities_that_sum_to_one(btc, trained):
    bundle = trained[0].bundle
    assert isinstance(bundle, ModelBundle)
    assert bundle.features == FEATURES and bundle.classes == ("down", "up")
    assert bundle.params["max_iter"] == 60 and bundle.horizon == FAST.horizon
    proba = bundle.predict_proba(btc)
    assert list(proba.columns) == ["down", "up"]
    assert proba.index.equals(btc.index)
    assert proba.iloc[: MIN_CANDLES - 1].isna().all().all()
    valid = proba.iloc[MIN_CANDLES - 1 :].to_numpy()
    np.testing.assert_allclose(valid.sum(axis=1), 1.0)


def test_predict_last_answers_for_the_last_candle(btc, trained):
    bundle = trained[0].bundle
    last = bundle.predict_last(btc)
    assert last["as_of_ms"] == int(candles_time_ms(btc)[-1])
    assert sum(last["probability"].values()) == pytest.approx(1.0)
    assert last["direction"] == max(last["probability"], key=last["probability"].get)
    expected = bundle.predict_proba(btc).iloc[-1]
    assert last["probability"]["up"] == pytest.approx(expected["up"], abs=1e-6)


def test_predict_last_says_how_many_candles_it_needs(btc, trained):
    bundle = trained[0].bundle
    with pytest.raises(ValueError, match=f"at least {MIN_CANDLES} needed"):
        bundle.predict_last(btc.iloc[: MIN_CANDLES - 1])
    assert bundle.predict_last(btc.iloc[:MIN_CANDLES])["direction"] in bundle.classes


@pytest.mark.parametrize(
    ("algorithm", "classes", "params"),
    [
        ("hist_gradient_boosting", 3, {"max_iter": 30, "max_depth": 3}),
        ("logistic_regression", 2, {"C": 0.5}),
        ("random_forest", 3, {"n_estimators": 20, "max_depth": None}),
    ],
)
def test_each_algorithm_trains(btc, algorithm, classes, params):
    config = TrainConfig(
        algorithm=algorithm, classes=classes, folds=2, params=params, importance_repeats=1
    )
    result = train(btc.iloc[-2000:], config)
    assert result.bundle.algorithm == algorithm
    assert len(result.bundle.classes) == classes
    assert set(result.class_counts) == set(result.bundle.classes)
    assert result.metrics["samples"] > 0
    assert len(result.metrics["confusion_matrix"]) == classes
    assert result.backtest is None  # no symbol, no backtest
    assert set(result.bundle.predict_last(btc)["probability"]) == set(result.bundle.classes)
    assert set(ALGORITHMS) >= {result.bundle.algorithm}


def test_training_is_deterministic(btc):
    config = TrainConfig(folds=2, params={"max_iter": 20}, importance_repeats=2)
    first, second = train(btc.iloc[-1500:], config), train(btc.iloc[-1500:], config)
    assert first.metrics == second.metrics
    assert first.feature_importance == second.feature_importance


def test_a_backtest_that_cannot_run_is_logged_not_fatal(btc):
    config = TrainConfig(algorithm="logistic_regression", folds=2, importance_repeats=1)
    result = train(btc.iloc[-1500:], config, symbol="NOSUCHUSDT")
    assert result.backtest is None
    assert any("backtest: failed" in line for line in result.log)


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"algorithm": "xgboost"}, "algorithm", "hist_gradient_boosting"),
        ({"horizon": 0}, "horizon", "1 to 500"),
        ({"horizon": 501}, "horizon", "1 to 500"),
        ({"horizon": 2.5}, "horizon", "whole number"),
        ({"horizon": True}, "horizon", "whole number"),
        ({"threshold": -0.001}, "threshold", "0 to 0.2"),
        ({"threshold": 0.3}, "threshold", "0 to 0.2"),
        ({"threshold": math.nan}, "threshold", "0 to 0.2"),
        ({"threshold": "0.01"}, "threshold", "0 to 0.2"),
        ({"classes": 4}, "classes", "2 or 3"),
        ({"folds": 1}, "folds", "2 to 10"),
        ({"folds": 11}, "folds", "2 to 10"),
        ({"purge": -1}, "purge", ">= 0"),
        ({"params": {"bogus": 1}}, "params", "max_iter (a whole number from 10 to 2000)"),
        ({"params": {"max_iter": 5}}, "params", "from 10 to 2000"),
        ({"params": {"learning_rate": "fast"}}, "params", "learning_rate"),
        ({"params": {"max_depth": 0}}, "params", "or null"),
        (
            {"algorithm": "logistic_regression", "params": {"n_estimators": 10}},
            "params",
            "C (a number from 0.0001 to 10000)",
        ),
        ({"algorithm": "random_forest", "params": {"n_estimators": 5}}, "params", "10 to 2000"),
        ({"importance_repeats": 0}, "importance_repeats", "1 to 100"),
        ({"min_rows": 5}, "min_rows", "20"),
    ],
)
def test_config_check_refuses_each_bad_field_naming_it(changes, field, hint):
    config = TrainConfig(**changes)
    with pytest.raises(TrainingError) as caught:
        config_check(config)
    assert caught.value.field == field
    assert hint in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_config_check_accepts_the_defaults_and_nullable_params():
    config_check(TrainConfig())
    config_check(TrainConfig(params={"max_depth": None, "learning_rate": 1}, purge=0))
    config_check(TrainConfig(algorithm="random_forest", classes=3, threshold=0))


def test_too_few_candles_is_refused_naming_the_candles(btc):
    with pytest.raises(TrainingError) as caught:
        train(btc.iloc[:600], TrainConfig())
    assert caught.value.field == "candles"
    assert "300 needed" in caught.value.message
    assert "from 600 candles" in caught.value.message


def learnable_candles(n: int = 2500, seed: int = 7) -> pd.DataFrame:
    """Hourly candles that rise in the UTC morning and fall in the afternoon, plus noise."""
    rng = np.random.default_rng(seed)
    times = 1_704_067_200_000 + np.arange(n, dtype=np.int64) * HOUR
    hour = (times // HOUR) % 24
    returns = np.where(hour < 12, 0.003, -0.003) + rng.normal(0, 0.002, n)
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    volume = rng.lognormal(3, 0.3, n)
    return frame_of(times, np.column_stack([open_, high, low, close, volume]))


def test_a_learnable_pattern_is_learnt_and_beats_the_baselines():
    config = TrainConfig(
        horizon=1, threshold=0.001, folds=2, params={"max_iter": 50}, importance_repeats=1
    )
    result = train(learnable_candles(), config)
    model = result.metrics["balanced_accuracy"]
    assert model > result.baselines["majority"]["balanced_accuracy"] + 0.2
    assert model > result.baselines["persistence"]["balanced_accuracy"] + 0.1
    assert result.metrics["log_loss"] < result.baselines["majority"]["log_loss"]
    assert result.feature_importance[0]["feature"] in {"hour_sin", "hour_cos"}
