"""Blending the batch and the online model's p(up), and scoring either one live (pure).

The hybrid prediction is ``w_batch * p_batch + w_online * p_online``. In ``fixed`` mode the
weights are the configured ones. In ``adaptive`` mode they follow both models' scores on the
same recent candles (the shell scores both on every label the online learner resolves):

    n = the number of recent samples compared (at most ``window``, the same for both)
    L = each model's mean loss over its last n samples: log loss in nats (metric
        "log_loss") or error rate 1 - accuracy (metric "accuracy")
    eta = sqrt(8 ln 2 / n) / T
    w_online = 1 / (1 + exp(-eta * n * (L_batch - L_online))),  w_batch = 1 - w_online

then both are clipped to [min_weight, 1 - min_weight]. This is the exponentially weighted
average forecaster (Hedge) over the window: each model's weight is proportional to
exp(-eta x its summed loss), with the learning-rate tuning eta = sqrt(8 ln N / n) (N = 2
models) under which, without the floor and the sliding window, the blend's loss over n
rounds exceeds the better model's by at most sqrt(n ln 2 / 2) for convex losses in [0, 1]
(Cesa-Bianchi & Lugosi, Prediction, Learning, and Games, thm 2.2; log loss is clipped at
16 nats and is usually near 0.69). The exponent is then
sqrt(8 ln 2 n) (L_batch - L_online) = 2.35 sqrt(n) x the mean advantage: it grows with the
evidence, like a test statistic, and one rule serves both metrics. Over 200 samples
(T = 1) a mean advantage of 0.02 (nats, or accuracy points) gives 0.66 / 0.34, of 0.05 gives
0.84 / 0.16, and 0.066 or more the floor; for two equally good models whose per-sample
losses differ by noise of s.d. 0.1 the exponent has s.d. 0.24 whatever n, so the weights
stay near 0.44..0.56. Plain Bayesian model averaging (eta = 1, weights proportional to
exp(-summed log loss)) was rejected: its exponent's s.d. there is 0.1 sqrt(n), so over 200
samples noise alone moves the weights to 0.2..0.8, and to the floor at two s.d.
``temperature`` T softens (> 1) or sharpens (< 1) the rule. ``min_weight`` keeps the losing
model in the blend, so its recent scores keep being measured and it can win back weight.

With no sample scored by both models yet the weights are 0.5 / 0.5 (fixed mode: the fixed
weights, whatever the scores).

:func:`decide` reads a blended p(up): "up" at or above ``threshold``, "down" at or below
1 - threshold, "flat" between. :func:`prequential` and :func:`signal_pnl` measure any of the
three models (batch, online, hybrid) on its live record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import numpy as np

from ml.online import PROBA_CLIP

MODES: Final = ("fixed", "adaptive")
METRICS: Final = ("log_loss", "accuracy")
_EDGE: Final = 1e-12  # decide(): tolerance at the band edges (floating-point rounding)


class HybridError(ValueError):
    """A hybrid configuration that cannot be used; ``field`` names the input (API: 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class HybridConfig:
    """How the blend weighs the two models (see the module docstring for the rule).

    mode: "fixed" or "adaptive"; metric: "log_loss" or "accuracy" (adaptive only); window:
    recent samples scored by both models that the weights look at (10..100000);
    min_weight: floor of either weight in adaptive mode (0..0.5); fixed_batch_weight: the
    batch weight in fixed mode (0..1; the online one is 1 minus it); threshold: p(up) from
    which the blend says "up" (and p <= 1 - threshold "down"; 0.5..0.99); temperature:
    divides the adaptive rule's exponent (0.01..100; > 1 softer, < 1 sharper).
    """

    mode: str = "adaptive"
    metric: str = "log_loss"
    window: int = 200
    min_weight: float = 0.1
    fixed_batch_weight: float = 0.5
    threshold: float = 0.55
    temperature: float = 1.0


_FIELDS: Final = tuple(f.name for f in fields(HybridConfig))


def _number(name: str, value: object, low: float, high: float) -> float:
    if (
        not isinstance(value, int | float | np.integer | np.floating)
        or isinstance(value, bool | np.bool_)
        or not math.isfinite(float(value))
        or not low <= float(value) <= high
    ):
        raise HybridError(name, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise HybridError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _whole(name: str, value: object, low: int, high: int) -> int:
    if (
        not isinstance(value, int | np.integer)
        or isinstance(value, bool | np.bool_)
        or not low <= int(value) <= high
    ):
        raise HybridError(name, f"must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def hybrid_config_from(data: Mapping[str, Any]) -> HybridConfig:
    """A checked HybridConfig from raw JSON-ish values; missing keys take the defaults.

    Raises HybridError naming the first bad field: unknown keys, wrong types (booleans and
    strings are not numbers, a whole number is required for ``window``), NaN or infinity,
    values out of range, unknown mode or metric.
    """
    if not isinstance(data, Mapping):
        raise HybridError("config", f"must be an object of settings, got {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise HybridError(unknown[0], f"unknown setting; known ones: {', '.join(_FIELDS)}")
    merged = {**asdict(HybridConfig()), **data}
    return HybridConfig(
        mode=_choice("mode", merged["mode"], MODES),
        metric=_choice("metric", merged["metric"], METRICS),
        window=_whole("window", merged["window"], 10, 100_000),
        min_weight=_number("min_weight", merged["min_weight"], 0.0, 0.5),
        fixed_batch_weight=_number("fixed_batch_weight", merged["fixed_batch_weight"], 0.0, 1.0),
        threshold=_number("threshold", merged["threshold"], 0.5, 0.99),
        temperature=_number("temperature", merged["temperature"], 0.01, 100.0),
    )


def hybrid_config_dict(config: HybridConfig) -> dict[str, Any]:
    """The config as JSON-ready values (:func:`hybrid_config_from` reads it back)."""
    return asdict(config)


# ---------------------------------------------------------------------- scoring


def _arrays(scores: Sequence[tuple[float, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(p(up), label) pairs as arrays; ValueError for a label other than 0/1 or a bad p."""
    if not len(scores):
        return np.empty(0), np.empty(0, dtype=np.int64)
    pairs = np.asarray(scores, dtype=np.float64).reshape(len(scores), 2)
    p, y = pairs[:, 0], pairs[:, 1]
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 (down) or 1 (up)")
    if not (np.isfinite(p) & (p >= 0.0) & (p <= 1.0)).all():
        raise ValueError("probabilities must be numbers from 0 to 1")
    return p, y.astype(np.int64)


def _losses(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, PROBA_CLIP, 1.0 - PROBA_CLIP)
    return -np.log(np.where(y == 1, clipped, 1.0 - clipped))


def _correct(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (p >= 0.5).astype(np.int64) == y  # p = 0.5 calls "up", as ml.online does


def prequential(scores: Sequence[tuple[float, int]]) -> dict[str, Any]:
    """Accuracy and log loss of (p(up), label 0/1) pairs; None for both when empty.

    Accuracy calls "up" when p >= 0.5; log loss in nats with p clipped to [1e-7, 1 - 1e-7]
    (the online learner's rule, so its own figures and these agree).
    """
    p, y = _arrays(scores)
    if not len(p):
        return {"accuracy": None, "log_loss": None, "samples": 0}
    return {
        "accuracy": float(_correct(p, y).mean()),
        "log_loss": float(_losses(p, y).mean()),
        "samples": len(p),
    }


def _mean_loss(metric: str, p: np.ndarray, y: np.ndarray) -> float:
    if metric == "log_loss":
        return float(_losses(p, y).mean())
    return 1.0 - float(_correct(p, y).mean())


def _metric(metric: str, p: np.ndarray, y: np.ndarray) -> float | None:
    if not len(p):
        return None
    loss = _mean_loss(metric, p, y)
    return loss if metric == "log_loss" else 1.0 - loss


def hybrid_weights(
    config: HybridConfig,
    batch_scores: Sequence[tuple[float, int]],
    online_scores: Sequence[tuple[float, int]],
) -> dict[str, Any]:
    """The blend's weights from both models' recent (p(up), label) scores, oldest first.

    Only the last ``config.window`` of each are read, and the weights compare the last n
    of both, n = the shorter (pass the scores of the same candles for a paired
    comparison). Returns {"batch", "online"} (summing to 1), "batch_metric" and
    "online_metric" (each over its last ``window`` samples, in the configured metric:
    log loss or accuracy; None when it has none), "samples" (n), "metric" and "mode".
    """
    b_p, b_y = _arrays(batch_scores[-config.window :])
    o_p, o_y = _arrays(online_scores[-config.window :])
    n = min(len(b_p), len(o_p))
    out: dict[str, Any] = {
        "batch_metric": _metric(config.metric, b_p, b_y),
        "online_metric": _metric(config.metric, o_p, o_y),
        "samples": n,
        "metric": config.metric,
        "mode": config.mode,
    }
    if config.mode == "fixed":
        w_batch = float(config.fixed_batch_weight)
    elif n == 0:
        w_batch = 0.5
    else:
        advantage = _mean_loss(config.metric, b_p[-n:], b_y[-n:]) - _mean_loss(
            config.metric, o_p[-n:], o_y[-n:]
        )  # > 0: the online model did better
        z = math.sqrt(8.0 * math.log(2.0) * n) * advantage / float(config.temperature)
        w_batch = 1.0 / (1.0 + math.exp(min(z, 700.0)))
        w_batch = min(max(w_batch, config.min_weight), 1.0 - config.min_weight)
    out["batch"] = w_batch
    out["online"] = 1.0 - w_batch
    return out


def _known(p: float | None) -> bool:
    return p is not None and math.isfinite(p)


def blend(p_batch: float | None, p_online: float | None, weights: Mapping[str, Any]) -> float:
    """The weighted p(up) of both models; one alone when the other is missing.

    None or NaN counts as missing (e.g. the batch model's warm-up). ``weights``: the
    "batch" and "online" entries of :func:`hybrid_weights`. ValueError when both are
    missing. The result is clipped to [0, 1].
    """
    has_batch, has_online = _known(p_batch), _known(p_online)
    if not has_batch and not has_online:
        raise ValueError("neither model gave a probability to blend")
    if not has_online:
        p = float(p_batch)  # type: ignore[arg-type]
    elif not has_batch:
        p = float(p_online)  # type: ignore[arg-type]
    else:
        w_batch, w_online = float(weights["batch"]), float(weights["online"])
        total = w_batch + w_online
        if total <= 0:
            raise ValueError("blend weights must not both be zero")
        p = (w_batch * float(p_batch) + w_online * float(p_online)) / total  # type: ignore[arg-type]
    return min(max(p, 0.0), 1.0)


def decide(p_up: float, threshold: float) -> str:
    """ "up" if p_up >= threshold, "down" if p_up <= 1 - threshold, else "flat".

    ``threshold`` from 0.5 to 1 (0.5: never flat; p = 0.5 then says "up"). The band edges
    count within 1e-12, so the two sides are symmetric despite rounding (1 - 0.55 is
    0.44999999999999996 in floating point, and p = 0.45 must still say "down").
    """
    if not 0.5 <= threshold <= 1.0:
        raise ValueError(f"threshold must be from 0.5 to 1, got {threshold!r}")
    if not math.isfinite(p_up):
        raise ValueError(f"p_up must be a number, got {p_up!r}")
    if p_up >= threshold - _EDGE:
        return "up"
    if p_up <= 1.0 - threshold + _EDGE:
        return "down"
    return "flat"


def signal_positions(p_up: Sequence[float | None], threshold: float) -> np.ndarray:
    """+1 (long) where p >= threshold, -1 (short) where p <= 1 - threshold, else 0.

    The bands of :func:`decide` ("up" is long, "down" short); None / NaN probabilities give
    0 (no signal, no position).
    """
    p = np.array([np.nan if v is None else v for v in p_up], dtype=np.float64)
    long, short = p >= threshold - _EDGE, p <= 1.0 - threshold + _EDGE
    return np.where(long, 1.0, np.where(short, -1.0, 0.0))


def signal_returns(
    p_up: Sequence[float | None],
    closes: Sequence[float],
    threshold: float,
    *,
    fee: float = 0.0,
) -> np.ndarray:
    """Per-step returns (fractions) of following the signals; one fewer than the closes.

    Step i holds position_i (:func:`signal_positions`) from close i to close i + 1:
    position_i * (close[i+1] / close[i] - 1), minus ``fee`` (a fraction of the position
    traded, e.g. 0.001 = 0.1 %) times |position_i - position_{i-1}| (flat before the
    first), so entering costs one fee and reversing two.
    """
    if len(p_up) != len(closes):
        raise ValueError(f"{len(p_up)} probabilities for {len(closes)} closes")
    if not 0.0 <= fee < 1.0:
        raise ValueError(f"fee must be a fraction from 0 to 1, got {fee!r}")
    c = np.asarray(closes, dtype=np.float64)
    if len(c) and not (np.isfinite(c) & (c > 0)).all():
        raise ValueError("closes must be positive numbers")
    if len(c) < 2:
        return np.empty(0)
    position = signal_positions(p_up, threshold)[:-1]
    moved = np.abs(np.diff(position, prepend=0.0))
    return position * (c[1:] / c[:-1] - 1.0) - fee * moved


def signal_pnl(
    times_ms: Sequence[int],
    p_up: Sequence[float | None],
    closes: Sequence[float],
    threshold: float,
    *,
    fee: float = 0.0,
) -> float:
    """Return (percent) of following a model's signals over a close series, compounded.

    Rows are (open time, p(up) predicted at that candle's close, that close), oldest
    first, strictly increasing times. Long when p >= threshold, short when p <= 1 -
    threshold, flat otherwise, each held close to close until the next row (so across
    missing rows the position is held); no fees unless ``fee`` (see :func:`signal_returns`),
    no funding, 1x, the last position is marked at the last close. 0.0 with fewer than
    two rows.
    """
    times = np.asarray(times_ms, dtype=np.int64)
    if len(times) != len(closes):
        raise ValueError(f"{len(times)} times for {len(closes)} closes")
    if len(times) > 1 and (np.diff(times) <= 0).any():
        raise ValueError("times must be strictly increasing")
    returns = signal_returns(p_up, closes, threshold, fee=fee)
    return float((np.prod(1.0 + returns) - 1.0) * 100.0)
