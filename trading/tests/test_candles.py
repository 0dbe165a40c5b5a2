"""Candle storage: backfill from the exchange, import from files, and GET /candles."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from trading.models import Candle, Symbol
from trading.services.candles import candles_backfill

DATA = Path(settings.REPLAY_DATA_DIR)


def _shared_rows(name: str, count: int) -> list[list[str]]:
    with gzip.open(DATA / name, "rt") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [row for _, row in zip(range(count), reader, strict=False)]


def test_backfill_then_candles_route_returns_500_hourly(api_client, frozen_replay):
    stored = candles_backfill(symbol=Symbol.objects.get(symbol="BTCUSDT"), count=600)
    assert stored["1h"] == 600 and stored["1m"] == 600 and stored["1d"] == 600
    body = api_client.get("/candles", {"symbol": "BTCUSDT", "timeframe": "1h", "limit": 500}).json()
    candles = body["candles"]
    assert body["symbol"] == "BTCUSDT" and len(candles) == 500
    times = [c["open_time"] for c in candles]
    assert times == sorted(times) and all(t % 3_600_000 == 0 for t in times)
    assert all(c["low"] <= min(c["open"], c["close"]) for c in candles)
    # Re-running the backfill changes nothing.
    count = Candle.objects.count()
    candles_backfill(symbol=Symbol.objects.get(symbol="BTCUSDT"), count=600)
    assert Candle.objects.count() == count


def test_candles_window_by_start_and_end(api_client, fast_replay):
    candles_backfill(symbol=Symbol.objects.get(symbol="ETHUSDT"), timeframes=["1h"], count=100)
    all_rows = api_client.get("/candles", {"symbol": "ETHUSDT", "limit": 100}).json()["candles"]
    start, end = all_rows[10]["open_time"], all_rows[19]["open_time"]
    window = api_client.get(
        "/candles", {"symbol": "ETH/USDT", "start": start, "end": end, "limit": 1000}
    ).json()["candles"]
    assert [c["open_time"] for c in window] == [c["open_time"] for c in all_rows[10:20]]
    iso = pd.Timestamp(start, unit="ms", tz="UTC").isoformat()
    by_iso = api_client.get("/candles", {"symbol": "ETHUSDT", "start": iso, "limit": 3}).json()
    assert by_iso["candles"][0]["open_time"] == start


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"symbol": "BTCUSDT", "timeframe": "7m"}, "timeframe"),
        ({"symbol": "BTCUSDT", "limit": "0"}, "limit"),
        ({"symbol": "BTCUSDT", "limit": "100000"}, "limit"),
        ({"symbol": "BTCUSDT", "limit": "ten"}, "limit"),
        ({"symbol": "BTCUSDT", "start": "yesterday"}, "start"),
        ({"symbol": "BTCUSDT", "start": "2025-06-02T00:00:00Z", "end": "2025-06-01"}, "start"),
        ({}, "symbol"),
    ],
)
def test_bad_candle_queries_are_400_naming_the_parameter(api_client, markets, params, parameter):
    response = api_client.get("/candles", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert parameter in error["details"] and error["message"].startswith(parameter)


def test_candles_unknown_symbol_is_404(api_client, markets):
    response = api_client.get("/candles", {"symbol": "FOOUSDT"})
    assert response.status_code == 404
    assert "BTCUSDT" in response.json()["error"]["details"]["valid_symbols"]


def _write_shared(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["open_time_ms", "open", "high", "low", "close", "volume"])
        writer.writerows(rows)
    return path


def test_import_shared_csv_is_idempotent_and_builds_coarser_timeframes(markets, tmp_path):
    rows = _shared_rows("BTCUSDT-1m.csv.gz", 600)
    path = _write_shared(tmp_path / "BTCUSDT-1m.csv", rows)
    call_command("candles_import", str(path), "--no-progress")
    assert Candle.objects.filter(timeframe="1m").count() == 600
    hourly = list(
        Candle.objects.filter(timeframe="1h").order_by("open_time").values_list("high", "volume")
    )
    # Independent of the code under test: group the raw rows by hour with pandas.
    frame = pd.DataFrame(
        [[int(r[0]), *map(float, r[1:])] for r in rows],
        columns=["open_time", "open", "high", "low", "close", "volume"],
    )
    grouped = frame.groupby(frame["open_time"] // 3_600_000)
    assert [h for h, _ in hourly] == grouped["high"].max().tolist()
    assert [v for _, v in hourly] == pytest.approx(grouped["volume"].sum().tolist())
    call_command("candles_import", str(path), "--no-progress")
    assert Candle.objects.filter(timeframe="1m").count() == 600


def test_import_binance_kline_csv_with_microseconds(markets, tmp_path):
    rows = _shared_rows("ETHUSDT-1m.csv.gz", 120)
    path = tmp_path / "ETHUSDT-1m-2025-06.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for r in rows:
            open_us = int(r[0]) * 1000
            writer.writerow([open_us, *r[1:6], open_us + 59_999_999, "0", "10", "0", "0", "0"])
    call_command("candles_import", str(path), "--no-progress")
    first = Candle.objects.filter(timeframe="1m").order_by("open_time").first()
    assert int(first.open_time.timestamp() * 1000) == int(rows[0][0])
    assert first.close == float(rows[0][4])


def test_malformed_csv_names_the_line_and_writes_nothing(markets, tmp_path):
    rows = _shared_rows("BTCUSDT-1m.csv.gz", 50)
    rows[30][2] = "not-a-number"
    path = _write_shared(tmp_path / "BTCUSDT-1m.csv", rows)
    with pytest.raises(CommandError, match="line 32"):
        call_command("candles_import", str(path), "--no-progress")
    assert Candle.objects.count() == 0


def test_import_refuses_high_below_close(markets, tmp_path):
    rows = _shared_rows("BTCUSDT-1m.csv.gz", 5)
    rows[2][2] = str(float(rows[2][4]) - 100)
    path = _write_shared(tmp_path / "BTCUSDT-1m.csv", rows)
    with pytest.raises(CommandError, match="line 4"):
        call_command("candles_import", str(path), "--no-progress")
    assert Candle.objects.count() == 0
