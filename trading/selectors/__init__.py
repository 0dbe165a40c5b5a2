"""Read-side queries of the trading app: markets and candles here, paper accounts in
selectors/paper.py."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from trading.errors import InvalidParameter
from trading.exchange.base import TIMEFRAMES
from trading.indicators import compute_indicators, warmup_bars
from trading.models import Candle, Symbol


def symbol_list(*, watched_only: bool = True) -> QuerySet[Symbol]:
    """The market catalogue, watched symbols only by default."""
    qs = Symbol.objects.all()
    return qs.filter(watched=True) if watched_only else qs


def candle_list(
    *,
    symbol: Symbol,
    timeframe: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> list[Candle]:
    """Up to ``limit`` candles ascending; the newest ones when no start is given."""
    qs = Candle.objects.filter(symbol=symbol, timeframe=timeframe)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    if start is not None:
        return list(qs.filter(open_time__gte=start).order_by("open_time")[:limit])
    return list(reversed(qs.order_by("-open_time")[:limit]))


def candle_rows(candles: list[Candle]) -> list[dict]:
    """Candles as the API shows them (open_time in epoch ms)."""
    return [
        {
            "open_time": int(c.open_time.timestamp() * 1000),
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume,
        }
        for c in candles
    ]


def indicator_rows(*, symbol: Symbol, timeframe: str, limit: int, spec) -> list[dict]:
    """The last ``limit`` candles' indicator values, computed with enough earlier candles
    that recursive seeds (EMA, RSI, ATR, ADX, MACD) no longer show; NaN becomes null."""
    warmup = warmup_bars(spec, timeframe_ms=TIMEFRAMES[timeframe])
    candles = candle_list(symbol=symbol, timeframe=timeframe, limit=limit + warmup)
    if not candles:
        return []
    frame = pd.DataFrame(candle_rows(candles))
    values = compute_indicators(frame, spec).tail(limit)
    values.insert(0, "close", frame["close"].tail(limit).to_numpy())
    values.insert(0, "open_time", frame["open_time"].tail(limit).to_numpy())
    values = values.astype(object).where(pd.notna(values), None)
    records = values.to_dict(orient="records")
    for record in records:
        record["open_time"] = int(record["open_time"])
        for key, value in record.items():
            if isinstance(value, np.floating):
                record[key] = float(value)
    return records


def parse_time(name: str, raw: str):
    """An epoch-ms or ISO-8601 query value, or InvalidParameter naming ``name``."""
    from trading.api.serializers import EpochOrIsoField  # the API's own time parsing

    try:
        return EpochOrIsoField().to_internal_value(raw)
    except ValidationError as exc:
        raise InvalidParameter(name, "use epoch milliseconds or ISO-8601") from exc
