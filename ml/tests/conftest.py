"""Fixtures of the ML app's tests: a small real model trained once per session, the
registry rows for it, stored candles to predict on, and CSV files built from real data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rest_framework.test import APIClient

from cryptobot.api.tokens import api_token_get_or_create
from ml.models import ModelVersion, RunStatus, TrainingRun
from ml.services.registry import model_activate, version_record
from ml.training import TrainConfig, TrainingResult, train
from trading.models import Candle, Symbol
from trading.services.exchange import exchange_now_ms
from trading.strategies.frames import candles_time_ms, frame_of, shipped_candles

HOUR = 3_600_000
SMALL = TrainConfig(folds=2, params={"max_iter": 40}, importance_repeats=2)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=user).key}")
    return client


def csv_bytes(candles: pd.DataFrame) -> bytes:
    """Candles as an uploadable CSV (epoch-ms open_time)."""
    frame = candles.reset_index(drop=True)
    frame.insert(0, "open_time", candles_time_ms(candles))
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


@pytest.fixture(autouse=True)
def _fresh_prediction_caches():
    """Each test stores its own candles: forget what the last test's predictions read."""
    from ml.services import predictions

    predictions._newest.clear()
    predictions._recent.clear()


@pytest.fixture(scope="session")
def hours() -> pd.DataFrame:
    return shipped_candles("BTCUSDT", "1h")


@pytest.fixture(scope="session")
def small_training(hours) -> TrainingResult:
    """A real model on the last 3,000 shipped BTCUSDT hours (2 folds, 40 trees: quick)."""
    return train(hours.iloc[-3000:], SMALL, symbol="BTCUSDT")


@pytest.fixture
def ml_dirs(settings, tmp_path) -> Path:
    settings.ML_ARTIFACT_DIR = tmp_path / "models"
    settings.ML_UPLOAD_DIR = tmp_path / "uploads"
    return tmp_path


def record_version(result: TrainingResult, *, owner=None, shared: bool = True) -> ModelVersion:
    """A version row and artifact for ``result``, as a finished training run leaves them."""
    run = TrainingRun.objects.create(
        owner=owner,
        kind=TrainingRun.Kind.MANUAL,
        symbol="BTCUSDT",
        timeframe="1h",
        source="shipped",
        config={},
        status=RunStatus.DONE,
    )
    version = version_record(run=run, result=result)
    if shared and owner is None:
        model_activate(user=None, version=version, shared=True)
    return version


@pytest.fixture
def shared_model(db, markets, ml_dirs, small_training) -> ModelVersion:
    return record_version(small_training)


@pytest.fixture
def stored_hours(markets, frozen_replay, hours) -> pd.DataFrame:
    """The last 400 shipped BTCUSDT hours stored as 1h candles whose newest closed just
    before the market's now (the one after it is still forming)."""
    tail = hours.iloc[-401:]
    last_closed = (exchange_now_ms() // HOUR) * HOUR - HOUR
    times = last_closed - (len(tail) - 2 - np.arange(len(tail))) * HOUR
    symbol = Symbol.objects.get(symbol="BTCUSDT")
    Candle.objects.filter(symbol=symbol, timeframe="1h").delete()
    Candle.objects.bulk_create(
        Candle(
            symbol=symbol,
            timeframe="1h",
            open_time=pd.Timestamp(int(t), unit="ms", tz="UTC").to_pydatetime(),
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
        )
        for t, row in zip(times, tail.itertuples(), strict=True)
    )
    return tail.set_axis(pd.to_datetime(times, unit="ms", utc=True).rename("open_time"))


def store_candles(frame: pd.DataFrame, symbol: str = "BTCUSDT") -> None:
    row = Symbol.objects.get(symbol=symbol)
    Candle.objects.bulk_create(
        Candle(
            symbol=row,
            timeframe="1h",
            open_time=t.to_pydatetime(),
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            volume=c.volume,
        )
        for t, c in zip(frame.index, frame.itertuples(), strict=True)
    )


def replay_frame(hours: pd.DataFrame, count: int) -> pd.DataFrame:
    """``count`` real hours re-timed so that the last one is the market's newest closed
    candle plus one still forming (the replay clock is frozen)."""
    tail = hours.iloc[-count:]
    last_closed = (exchange_now_ms() // HOUR) * HOUR - HOUR
    times = last_closed - (count - 2 - np.arange(count)) * HOUR
    return tail.set_axis(pd.to_datetime(times, unit="ms", utc=True).rename("open_time"))


def volume_regimes(n: int, flip: int, seed: int) -> pd.DataFrame:
    """Hourly candles where a busy hour (high volume) is followed by a rise of ~0.2 % and
    a quiet one by a fall, until candle ``flip`` from which the relation is reversed.

    Volume is independent from hour to hour, so past returns tell nothing about the next
    one: only the volume feature predicts, and after the flip it predicts the opposite.
    """
    rng = np.random.default_rng(seed)
    times = 1_704_067_200_000 + np.arange(n) * HOUR
    busy = rng.random(n) < 0.5
    volume = np.exp(3.0 + busy + rng.normal(0.0, 0.1, n))
    direction = np.where(busy, 1.0, -1.0)
    direction[flip:] *= -1.0
    returns = np.r_[0.0, 0.002 * direction[:-1]] + rng.normal(0.0, 0.001, n)
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = np.r_[100.0, close[:-1]]
    wick = np.abs(rng.normal(0.0, 0.001, n))
    high, low = np.maximum(open_, close) * (1 + wick), np.minimum(open_, close) * (1 - wick)
    return frame_of(times, np.column_stack([open_, high, low, close, volume]))
