"""GET /features/indicators: a window requested through the route equals TA-Lib computed
over the whole shipped series (so the warm-up history hides the recursive seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from django.conf import settings
from django.core.management import call_command

from trading.models import Candle

LIMIT = 300


@pytest.fixture
def btc_minutes(markets):
    path = settings.REPLAY_DATA_DIR / "BTCUSDT-1m.csv.gz"
    call_command("candles_import", str(path), "--no-progress")
    frame = pd.read_csv(path)
    assert Candle.objects.filter(timeframe="1m").count() == len(frame)
    return frame


def _reference(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    h, low, c = (frame[k].to_numpy(float) for k in ("high", "low", "close"))
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    slow_k, slow_d = talib.STOCH(h, low, c, 14, 3, 0, 3, 0)
    return {
        "sma_20": talib.SMA(c, 20),
        "sma_50": talib.SMA(c, 50),
        "ema_20": talib.EMA(c, 20),
        "rsi_14": talib.RSI(c, 14),
        "rsi_7": talib.RSI(c, 7),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": hist,
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "atr_14": talib.ATR(h, low, c, 14),
        "stoch_k": slow_k,
        "stoch_d": slow_d,
        "adx_14": talib.ADX(h, low, c, 14),
        "adx_21": talib.ADX(h, low, c, 21),
    }


def _compare(rows: list[dict], reference: dict[str, np.ndarray], columns: list[str]) -> None:
    for column in columns:
        got = np.array([r[column] for r in rows], dtype=float)
        want = reference[column][-len(rows) :]
        assert np.allclose(got, want, rtol=1e-6, atol=1e-9), column


def test_window_through_the_route_equals_talib_on_the_full_series(api_client, btc_minutes):
    reference = _reference(btc_minutes)
    body = api_client.get(
        "/features/indicators", {"symbol": "BTCUSDT", "timeframe": "1m", "limit": LIMIT}
    ).json()
    rows = body["rows"]
    assert len(rows) == LIMIT
    assert rows[-1]["open_time"] == int(btc_minutes["open_time_ms"].iloc[-1])
    _compare(
        rows,
        reference,
        [
            "sma_20",
            "ema_20",
            "rsi_14",
            "macd",
            "macd_signal",
            "macd_hist",
            "bb_upper",
            "bb_middle",
            "bb_lower",
            "atr_14",
            "stoch_k",
            "stoch_d",
            "adx_14",
        ],
    )
    assert {"obv", "vwap"} <= set(rows[0])


def test_changed_periods_rename_columns(api_client, btc_minutes):
    reference = _reference(btc_minutes)
    rows = api_client.get(
        "/features/indicators",
        {
            "symbol": "BTCUSDT",
            "timeframe": "1m",
            "limit": 100,
            "indicators": "sma,rsi,adx",
            "sma_period": 50,
            "rsi_period": 7,
            "adx_period": 21,
        },
    ).json()["rows"]
    assert set(rows[0]) == {"open_time", "close", "sma_50", "rsi_7", "adx_21"}
    _compare(rows, reference, ["sma_50", "rsi_7", "adx_21"])


def test_values_before_warm_up_are_null(api_client, markets, tmp_path):
    path = tmp_path / "BTCUSDT-1m.csv"
    pd.read_csv(settings.REPLAY_DATA_DIR / "BTCUSDT-1m.csv.gz").head(30).to_csv(path, index=False)
    call_command("candles_import", str(path), "--no-progress")
    rows = api_client.get(
        "/features/indicators", {"symbol": "BTCUSDT", "timeframe": "1m", "limit": 30}
    ).json()["rows"]
    assert rows[0]["sma_20"] is None and rows[19]["sma_20"] is not None
    assert rows[-1]["macd"] is None  # MACD needs 34 candles


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"sma_period": "0"}, "sma_period"),
        ({"rsi_period": "abc"}, "rsi_period"),
        ({"macd_fast": "30", "macd_slow": "26"}, "macd_fast"),
        ({"bb_std": "-1"}, "bb_std"),
        ({"indicators": "sma,voodoo"}, "indicators"),
        ({"timeframe": "2h"}, "timeframe"),
        ({"limit": "-5"}, "limit"),
    ],
)
def test_bad_indicator_parameters_are_400_naming_them(api_client, markets, params, parameter):
    response = api_client.get("/features/indicators", {"symbol": "BTCUSDT", **params})
    assert response.status_code == 400, response.json()
    assert parameter in response.json()["error"]["message"]
