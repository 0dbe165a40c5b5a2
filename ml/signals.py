"""The ml_signal strategy's view of the models: p(up) of the shared default model of a
symbol and timeframe for every candle of a frame (installed by ml/apps.py)."""

from __future__ import annotations

import pandas as pd

from cryptobot.api.errors import ApiError
from ml.models import ActiveModel
from ml.services.registry import bundle_of
from trading.strategies.base import StrategyError


def shared_p_up(candles: pd.DataFrame, symbol: str, timeframe: str) -> pd.Series:
    """p(up) per candle from the shared default model (NaN inside its warm-up)."""
    active = (
        ActiveModel.objects.filter(owner=None, symbol=symbol, timeframe=timeframe)
        .select_related("version")
        .first()
    )
    if active is None:
        raise StrategyError(
            "strategy",
            f"ml_signal: no model is active for {symbol} {timeframe}; train one first "
            "(POST /ml/retrain or manage.py train_model).",
        )
    if "up" not in active.version.classes:
        raise StrategyError("strategy", "ml_signal: the active model has no 'up' class.")
    try:
        proba = bundle_of(active.version).predict_proba(candles)
    except ApiError as exc:
        raise StrategyError("strategy", f"ml_signal: {exc.message}") from exc
    return proba["up"]
