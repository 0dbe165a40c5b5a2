"""The hybrid blend's weights, configuration, decisions and live measures (pure)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.hybrid import (
    HybridConfig,
    HybridError,
    blend,
    decide,
    hybrid_config_dict,
    hybrid_config_from,
    hybrid_weights,
    prequential,
    signal_pnl,
    signal_positions,
    signal_returns,
)

ADAPTIVE = HybridConfig()


def _labels(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < 0.5).astype(int)


def _scores(labels: np.ndarray, right: float) -> list[tuple[float, int]]:
    """Scores that give the true class probability ``right`` (0.5 = a coin, < 0.5 wrong)."""
    return [(right if y else 1.0 - right, int(y)) for y in labels]


# ------------------------------------------------------------------ weights


def test_weights_move_to_the_online_model_when_the_batch_one_is_inverted():
    y = _labels(200)
    weights = hybrid_weights(ADAPTIVE, _scores(y, 0.3), _scores(y, 0.8))
    assert weights["online"] == pytest.approx(0.9) and weights["batch"] == pytest.approx(0.1)
    assert weights["samples"] == 200
    assert weights["batch_metric"] == pytest.approx(-math.log(0.3))
    assert weights["online_metric"] == pytest.approx(-math.log(0.8))


def test_weights_move_to_the_batch_model_when_the_online_one_is_random():
    y = _labels(200)
    rng = np.random.default_rng(1)
    random_online = [(float(p), int(t)) for p, t in zip(rng.random(200), y, strict=True)]
    weights = hybrid_weights(ADAPTIVE, _scores(y, 0.7), random_online)
    assert weights["batch"] == pytest.approx(0.9) and weights["online"] == pytest.approx(0.1)


def test_a_small_edge_moves_the_weights_partly_and_more_with_more_evidence():
    y = _labels(2000)
    few = hybrid_weights(ADAPTIVE, _scores(y[:20], 0.5), _scores(y[:20], 0.502))
    many = hybrid_weights(ADAPTIVE, _scores(y[:200], 0.5), _scores(y[:200], 0.502))
    assert 0.5 < few["online"] < many["online"] < 0.9
    # Hedge at eta = sqrt(8 ln 2 / n): exponent sqrt(8 ln 2 n) x the mean log-loss edge
    edge = math.sqrt(8 * math.log(2) * 200) * (math.log(2) + math.log(0.502))
    assert many["online"] == pytest.approx(1 / (1 + math.exp(-edge)))
    softer = hybrid_weights(
        HybridConfig(temperature=10), _scores(y[:200], 0.5), _scores(y[:200], 0.502)
    )
    assert 0.5 < softer["online"] < many["online"]
    assert softer["online"] == pytest.approx(1 / (1 + math.exp(-edge / 10)))


def test_two_equally_good_models_stay_near_even_despite_noise():
    y = _labels(200, seed=3)
    rng = np.random.default_rng(4)

    def noisy() -> list[tuple[float, int]]:  # p(true class) 0.55 +- 0.05, independently
        return [(p + rng.normal(0, 0.05) * (1 if t else -1), t) for p, t in _scores(y, 0.55)]

    online = [hybrid_weights(ADAPTIVE, noisy(), noisy())["online"] for _ in range(20)]
    # per-sample log-loss differences of s.d. ~0.13: the exponent's s.d. is ~0.3
    assert min(online) > 0.3 and max(online) < 0.7
    assert abs(np.mean(online) - 0.5) < 0.05


def test_weights_respect_the_floor_and_sum_to_one():
    y = _labels(300)
    config = HybridConfig(min_weight=0.3)
    weights = hybrid_weights(config, _scores(y, 0.1), _scores(y, 0.9))
    assert weights["batch"] == pytest.approx(0.3) and weights["online"] == pytest.approx(0.7)
    for right in (0.2, 0.45, 0.5, 0.55, 0.99):
        w = hybrid_weights(ADAPTIVE, _scores(y, 0.6), _scores(y, right))
        assert w["batch"] + w["online"] == pytest.approx(1.0)
        assert 0.1 <= w["batch"] <= 0.9


def test_accuracy_metric_follows_the_model_that_calls_more_directions_right():
    y = _labels(200)
    online = [(0.6 if t else 0.4, int(t)) for t in y]  # always right, barely confident
    batch = [(0.99 if i % 2 else 0.01, int(t)) for i, t in enumerate(y)]  # right half the time
    by_accuracy = hybrid_weights(HybridConfig(metric="accuracy"), batch, online)
    assert by_accuracy["online"] == pytest.approx(0.9)
    assert by_accuracy["online_metric"] == 1.0
    assert by_accuracy["batch_metric"] == pytest.approx(np.mean(_correct(batch)))


def _correct(scores):
    return [(p >= 0.5) == bool(t) for p, t in scores]


def test_only_the_last_window_counts():
    y = _labels(600)
    batch = _scores(y[:400], 0.9) + _scores(y[400:], 0.4)  # good long ago, bad lately
    online = _scores(y, 0.6)
    weights = hybrid_weights(HybridConfig(window=200), batch, online)
    assert weights["online"] == pytest.approx(0.9) and weights["samples"] == 200
    assert weights["batch_metric"] == pytest.approx(-math.log(0.4))  # the last 200 only
    longer = hybrid_weights(HybridConfig(window=600), batch, online)
    assert longer["batch"] > 0.5


def test_without_scores_both_weigh_half_and_fixed_mode_ignores_scores():
    empty = hybrid_weights(ADAPTIVE, [], [])
    assert (empty["batch"], empty["online"], empty["samples"]) == (0.5, 0.5, 0)
    assert empty["batch_metric"] is None and empty["online_metric"] is None
    y = _labels(100)
    one_sided = hybrid_weights(ADAPTIVE, _scores(y, 0.9), [])
    assert (one_sided["batch"], one_sided["online"]) == (0.5, 0.5)
    fixed = HybridConfig(mode="fixed", fixed_batch_weight=0.8, min_weight=0.3)
    for batch, online in (([], []), (_scores(y, 0.1), _scores(y, 0.9))):
        weights = hybrid_weights(fixed, batch, online)
        assert weights["batch"] == pytest.approx(0.8) and weights["online"] == pytest.approx(0.2)


def test_scores_with_bad_labels_or_probabilities_are_refused():
    with pytest.raises(ValueError, match="labels"):
        hybrid_weights(ADAPTIVE, [(0.5, 2)], [(0.5, 1)])
    with pytest.raises(ValueError, match="probabilities"):
        prequential([(1.5, 1)])


# ------------------------------------------------------------------ configuration


def test_config_from_empty_is_the_defaults_and_round_trips():
    assert hybrid_config_from({}) == HybridConfig()
    custom = hybrid_config_from(
        {"mode": "fixed", "metric": "accuracy", "window": 50, "temperature": 2}
    )
    assert custom.window == 50 and custom.temperature == 2.0
    assert hybrid_config_from(hybrid_config_dict(custom)) == custom
    assert hybrid_config_dict(HybridConfig()) == {
        "mode": "adaptive",
        "metric": "log_loss",
        "window": 200,
        "min_weight": 0.1,
        "fixed_batch_weight": 0.5,
        "threshold": 0.55,
        "temperature": 1.0,
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fixed_batch_weight": 1.5}, "fixed_batch_weight"),
        ({"fixed_batch_weight": -0.1}, "fixed_batch_weight"),
        ({"min_weight": 0.6}, "min_weight"),
        ({"min_weight": -0.01}, "min_weight"),
        ({"window": -5}, "window"),
        ({"window": 0}, "window"),
        ({"window": 12.5}, "window"),
        ({"window": True}, "window"),
        ({"mode": "magic"}, "mode"),
        ({"mode": None}, "mode"),
        ({"metric": "f1"}, "metric"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "abc"}, "threshold"),
        ({"threshold": "0.6"}, "threshold"),
        ({"threshold": 0.3}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"min_weight": True}, "min_weight"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": None}, "temperature"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_config_from_names_each_bad_input(data, field):
    with pytest.raises(HybridError) as caught:
        hybrid_config_from(data)
    assert caught.value.field == field
    assert caught.value.message


def test_config_from_refuses_what_is_not_an_object():
    with pytest.raises(HybridError) as caught:
        hybrid_config_from([("mode", "fixed")])  # type: ignore[arg-type]
    assert caught.value.field == "config"


# ------------------------------------------------------------------ blend and decide


def test_blend_weighs_both_or_uses_the_one_present():
    weights = {"batch": 0.25, "online": 0.75}
    assert blend(0.8, 0.4, weights) == pytest.approx(0.25 * 0.8 + 0.75 * 0.4)
    assert blend(None, 0.4, weights) == 0.4
    assert blend(0.8, None, weights) == 0.8
    assert blend(float("nan"), 0.4, weights) == 0.4
    assert blend(0.7, 0.7, {"batch": 0.0, "online": 1.0}) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="neither"):
        blend(None, float("nan"), weights)


def test_decide_says_up_down_or_flat_at_the_band_edges():
    assert decide(0.55, 0.55) == "up"
    assert decide(0.549, 0.55) == "flat"
    assert decide(0.5, 0.55) == "flat"
    assert decide(0.451, 0.55) == "flat"
    assert decide(0.45, 0.55) == "down"
    assert decide(0.0, 0.55) == "down" and decide(1.0, 0.55) == "up"
    assert decide(0.5, 0.5) == "up" and decide(0.4999, 0.5) == "down"
    with pytest.raises(ValueError):
        decide(0.6, 0.4)
    with pytest.raises(ValueError):
        decide(float("nan"), 0.55)


# ------------------------------------------------------------------ live measures


def test_prequential_on_a_hand_computed_example():
    measured = prequential([(0.8, 1), (0.4, 1), (0.5, 0)])
    assert measured["samples"] == 3
    assert measured["accuracy"] == pytest.approx(1 / 3)  # 0.5 calls "up": wrong for a down
    assert measured["log_loss"] == pytest.approx(
        -(math.log(0.8) + math.log(0.4) + math.log(0.5)) / 3
    )
    assert prequential([]) == {"accuracy": None, "log_loss": None, "samples": 0}
    assert prequential([(0.0, 1)])["log_loss"] == pytest.approx(-math.log(1e-7))


def test_signal_pnl_on_a_hand_computed_example():
    times = [0, 1, 2, 3, 4]
    closes = [100.0, 110.0, 99.0, 99.0, 100.0]
    p_up = [0.9, 0.1, 0.5, 0.2, None]  # long, short, flat, short, (no next close)
    expected = 1.1 * 1.1 * 1.0 * (1 - (100 / 99 - 1)) - 1
    assert signal_pnl(times, p_up, closes, 0.55) == pytest.approx(100 * expected)
    # a fee per unit of position changed: in 1, reverse 2, out 1, in 1
    returns = signal_returns(p_up, closes, 0.55, fee=0.001)
    assert returns == pytest.approx([0.099, 0.098, -0.001, -(100 / 99 - 1) - 0.001])
    with_fee = signal_pnl(times, p_up, closes, 0.55, fee=0.001)
    assert with_fee == pytest.approx(100 * (np.prod(1 + returns) - 1))
    assert signal_pnl([], [], [], 0.55) == 0.0 and signal_pnl([0], [0.9], [100.0], 0.55) == 0.0
    assert signal_pnl(times, [0.5] * 5, closes, 0.55) == 0.0  # never a signal
    assert signal_positions([0.55, 0.45, 0.5, None, float("nan")], 0.55).tolist() == [
        1.0,
        -1.0,
        0.0,
        0.0,
        0.0,
    ]


def test_signal_pnl_refuses_unsorted_times_or_mismatched_lengths():
    with pytest.raises(ValueError, match="increasing"):
        signal_pnl([0, 2, 1], [0.9, 0.9, 0.9], [1.0, 2.0, 3.0], 0.55)
    with pytest.raises(ValueError):
        signal_pnl([0, 1], [0.9], [1.0, 2.0], 0.55)
