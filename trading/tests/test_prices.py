"""The price poll, the price cache and the /price routes, on the real replay exchange."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import override_settings

from trading.models import Candle
from trading.services.exchange import current_exchange
from trading.services.prices import prices_poll

WATCHED = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
FIELDS = {
    "symbol",
    "price",
    "bid",
    "ask",
    "change_24h_pct",
    "high_24h",
    "low_24h",
    "volume_24h",
    "timestamp",
    "time",
    "source",
    "age_ms",
    "stale",
}


def test_poll_serves_every_watched_symbol(api_client, fast_replay):
    result = prices_poll()
    assert result.ran and result.moved == WATCHED
    body = api_client.get("/price").json()
    assert sorted(p["symbol"] for p in body["prices"]) == WATCHED
    for price in body["prices"]:
        assert set(price) >= FIELDS
        assert Decimal(price["bid"]) < Decimal(price["ask"])
        assert Decimal(price["low_24h"]) <= Decimal(price["price"]) <= Decimal(price["high_24h"])
        assert price["stale"] is False and price["source"] == "replay"
        assert price["time"].endswith("Z")


@pytest.mark.parametrize("spelling", ["BTCUSDT", "btcusdt", "BTC/USDT", "btc-usdt"])
def test_price_accepts_symbol_spellings(api_client, fast_replay, spelling):
    prices_poll()
    response = api_client.get(f"/price/{spelling}")
    assert response.status_code == 200, response.json()
    assert response.json()["symbol"] == "BTCUSDT"
    assert api_client.get("/price", {"symbol": spelling}).json()["prices"][0]["symbol"] == "BTCUSDT"


def test_unknown_symbol_is_404_listing_valid_symbols(api_client, fast_replay):
    prices_poll()
    response = api_client.get("/price/DOGEUSDT")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_symbol"
    assert error["details"]["valid_symbols"] == WATCHED
    assert api_client.get("/price", {"symbol": "NOPE"}).status_code == 404


def test_successive_polls_give_different_prices(api_client, fast_replay):
    seen = set()
    for _ in range(4):
        prices_poll()
        seen.add(api_client.get("/price/BTCUSDT").json()["price"])
        time.sleep(0.15)
    assert len(seen) >= 3


def test_poll_at_the_same_instant_changes_nothing(frozen_replay):
    first = prices_poll()
    assert first.moved == WATCHED
    before = list(Candle.objects.order_by("id").values_list("id", "close", "volume"))
    second = prices_poll()
    assert second.ran and second.moved == []
    assert list(Candle.objects.order_by("id").values_list("id", "close", "volume")) == before


def test_forming_candles_agree_with_the_live_price(api_client, fast_replay):
    prices_poll()
    price = float(api_client.get("/price/BTCUSDT").json()["price"])
    for timeframe in ("1m", "5m", "1h", "1d"):
        forming = Candle.objects.filter(symbol__symbol="BTCUSDT", timeframe=timeframe).latest(
            "open_time"
        )
        assert forming.close == pytest.approx(price, abs=0.01)
        assert forming.low <= forming.close <= forming.high
    minute = Candle.objects.filter(symbol__symbol="BTCUSDT", timeframe="1m").latest("open_time")
    hour = Candle.objects.filter(symbol__symbol="BTCUSDT", timeframe="1h").latest("open_time")
    assert hour.open_time <= minute.open_time and hour.high >= minute.high


def test_price_before_any_poll_is_503_with_a_hint(api_client, markets):
    response = api_client.get("/price/BTCUSDT")
    assert response.status_code == 503
    assert "worker" in response.json()["error"]["message"]


def test_failing_exchange_serves_last_price_as_stale_and_health_degrades(
    api_client, anon_client, fast_replay
):
    prices_poll()
    good = api_client.get("/price/BTCUSDT").json()
    assert anon_client.get("/health").json()["components"]["price_feed"]["ok"] is True
    # A ccxt exchange pointed at a closed port on this machine: every call fails.
    with override_settings(
        EXCHANGE="binance", EXCHANGE_API_URL="http://127.0.0.1:9", EXCHANGE_TIMEOUT_MS=300
    ):
        current_exchange.cache_clear()
        for _ in range(6):
            assert prices_poll().error
        breaker_error = prices_poll().error
        current_exchange.cache_clear()
    assert "circuit" in breaker_error.lower() or "open" in breaker_error.lower()
    stale = api_client.get("/price/BTCUSDT").json()
    assert stale["stale"] is True and stale["price"] == good["price"]
    assert stale["age_ms"] >= 0 and "error" in stale
    feed = anon_client.get("/health").json()["components"]["price_feed"]
    assert feed["ok"] is False and feed["error"]


def test_price_routes_need_auth(anon_client, fast_replay):
    assert anon_client.get("/price").status_code == 401
    assert anon_client.get("/price/BTCUSDT").status_code == 401
