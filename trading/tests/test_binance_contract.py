"""The Binance-compatible API's signing, error and limit contract, with raw signed requests
against the real server (ccxt and python-binance flows are in test_binance_spot/futures)."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import httpx
import pytest
from django.test import override_settings

from trading.binance.client import signed_request
from trading.models import Order, RiskSettings
from trading.services.api_keys import api_key_create
from trading.services.paper_account import account_get
from trading.services.prices import prices_poll

pytestmark = pytest.mark.live


def _send(base: str, method: str, path: str, params: dict, key: str, secret: str, **kw):
    url, body, headers = signed_request(method, path, params, key=key, secret=secret, **kw)
    return httpx.request(method, base + url, content=body, headers=headers, timeout=30)


def _binance_error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    return body["msg"]


def _tamper(text: str, index: int) -> str:
    """The same text with one byte changed."""
    char = text[index]
    return text[:index] + ("1" if char != "1" else "2") + text[index + 1 :]


@pytest.fixture
def live(transactional_db, live_server_stack, frozen_replay):
    prices_poll()
    return live_server_stack.url


def test_one_changed_byte_in_query_body_key_or_signature_is_refused(live, api_key):
    key, secret = api_key
    url, _, headers = signed_request("GET", "/api/v3/account", {}, key=key, secret=secret)
    ok = httpx.get(live + url, headers=headers)
    assert ok.status_code == 200, ok.text
    query_at = url.index("recvWindow=") + len("recvWindow=")
    bad_query = httpx.get(live + _tamper(url, query_at), headers=headers)
    msg = _binance_error(bad_query, 400, -1022)
    assert msg == "Signature for this request is not valid."
    bad_signature = httpx.get(live + _tamper(url, len(url) - 1), headers=headers)
    _binance_error(bad_signature, 400, -1022)
    bad_key = httpx.get(live + url, headers={"X-MBX-APIKEY": _tamper(key, 0)})
    assert _binance_error(bad_key, 401, -2015) == "Invalid API-key, IP, or permissions for action."

    path, body, headers = signed_request(
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"},
        key=key,
        secret=secret,
    )
    bad_body = httpx.post(
        live + path, content=_tamper(body, body.index("0.001") + 4), headers=headers
    )
    _binance_error(bad_body, 400, -1022)
    assert Order.objects.count() == 0  # nothing was placed


def test_timestamp_outside_recv_window_or_ahead_is_refused(live, api_key):
    key, secret = api_key
    now = int(time.time() * 1000)
    old = _send(live, "GET", "/api/v3/account", {}, key, secret, timestamp_ms=now - 20_000)
    msg = _binance_error(old, 400, -1021)
    assert msg == "Timestamp for this request is outside of the recvWindow."
    ahead = _send(live, "GET", "/fapi/v3/account", {}, key, secret, timestamp_ms=now + 5_000)
    _binance_error(ahead, 400, -1021)
    short_window = _send(
        live, "GET", "/api/v3/account", {}, key, secret, timestamp_ms=now - 3_000, recv_window=1000
    )
    _binance_error(short_window, 400, -1021)


def test_unknown_symbol_insufficient_funds_and_unknown_orders(live, user, api_key):
    key, secret = api_key
    # The engine's own refusals, not the risk settings' (their refusals are tested apart).
    account = account_get(user=user)
    RiskSettings.objects.filter(account=account).update(
        max_position_pct=None, max_risk_per_trade_pct=None, min_free_balance=None
    )
    ticker = httpx.get(live + "/api/v3/ticker/24hr", params={"symbol": "NOPEUSDT"})
    assert _binance_error(ticker, 400, -1121) == "Invalid symbol."
    unknown = _send(
        live,
        "POST",
        "/fapi/v1/order",
        {"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"},
        key,
        secret,
    )
    _binance_error(unknown, 400, -1121)
    margin = _send(
        live,
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "50"},
        key,
        secret,
    )
    assert _binance_error(margin, 400, -2019) == "Margin is insufficient."
    balance = _send(
        live,
        "POST",
        "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "5"},
        key,
        secret,
    )
    msg = _binance_error(balance, 400, -2010)
    assert msg == "Account has insufficient balance for requested action."
    for path in ("/api/v3/order", "/fapi/v1/order"):
        query = {"symbol": "BTCUSDT", "orderId": "987654"}
        _binance_error(_send(live, "GET", path, query, key, secret), 400, -2013)
        _binance_error(_send(live, "DELETE", path, query, key, secret), 400, -2011)
    assert Order.objects.count() == 0


async def _same_client_id(base: str, key: str, secret: str, price: str, n: int):
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.002",
        "price": price,
        "newClientOrderId": "same-id-42",
    }
    requests = [
        signed_request("POST", "/fapi/v1/order", params, key=key, secret=secret) for _ in range(n)
    ]
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(path, content=body, headers=headers) for path, body, headers in requests)
        )


def test_parallel_orders_with_one_client_order_id_make_exactly_one(live, api_key):
    key, secret = api_key
    price = Decimal(
        httpx.get(live + "/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"}).json()["price"]
    )
    resting = str((price * Decimal("0.8")).quantize(Decimal("0.1")))  # stays open
    responses = asyncio.run(_same_client_id(live, key, secret, resting, 100))
    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    accepted = [r.json() for r in responses if r.status_code == 200]
    refused = [r.json() for r in responses if r.status_code != 200]
    assert len(accepted) == 1 and accepted[0]["clientOrderId"] == "same-id-42"
    assert {(r["code"], r["msg"]) for r in refused} == {(-4116, "ClientOrderId is duplicated.")}
    assert Order.objects.filter(client_order_id="same-id-42").count() == 1


def test_read_only_key_cannot_trade_and_users_never_see_each_others_orders(
    live, user, other_user, api_key
):
    key, secret = api_key
    read_only, read_secret = api_key_create(user=user, permission="read")
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    refused = _send(live, "POST", "/fapi/v1/order", order, read_only.key, read_secret)
    _binance_error(refused, 401, -2015)
    assert Order.objects.count() == 0
    account = _send(live, "GET", "/fapi/v3/account", {}, read_only.key, read_secret)
    assert account.status_code == 200  # reading is allowed

    placed = _send(live, "POST", "/fapi/v1/order", order, key, secret)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["orderId"]
    other, other_secret = api_key_create(user=other_user)
    lookup = {"symbol": "BTCUSDT", "orderId": order_id}
    _binance_error(
        _send(live, "GET", "/fapi/v1/order", lookup, other.key, other_secret), 400, -2013
    )
    _binance_error(
        _send(live, "DELETE", "/fapi/v1/order", lookup, other.key, other_secret), 400, -2011
    )
    listed = _send(
        live, "GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"}, other.key, other_secret
    )
    assert listed.status_code == 200 and listed.json() == []
    mine = _send(live, "GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"}, key, secret)
    assert [o["orderId"] for o in mine.json()] == [order_id]


def test_errors_and_unknown_routes_are_binance_json(live):
    missing = httpx.get(live + "/api/v3/account", headers={"X-MBX-APIKEY": "a" * 64})
    _binance_error(missing, 401, -2015)
    no_route = httpx.get(live + "/fapi/v1/nothing-here")
    assert no_route.status_code == 404 and json.loads(no_route.text)["code"] == -1
    assert "X-MBX-USED-WEIGHT-1M" in httpx.get(live + "/api/v3/time").headers


@override_settings(BINANCE_SPOT_WEIGHT_PER_MINUTE=5, BINANCE_BAN_AFTER_429=2)
def test_past_the_weight_limit_429_with_retry_after_then_418(client, markets):
    if time.time() % 60 > 50:  # the counts live in one wall-clock minute: start in a fresh one
        time.sleep(61 - time.time() % 60)
    ip = {"REMOTE_ADDR": f"10.9.{int(time.time()) % 250}.{time.time_ns() % 250}"}
    weights = [int(client.get("/api/v3/time", **ip)["X-MBX-USED-WEIGHT-1M"]) for _ in range(5)]
    assert weights == sorted(weights) and weights[-1] >= 5
    limited = client.get("/api/v3/time", **ip)
    assert limited.status_code == 429 and limited.json()["code"] == -1003
    assert int(limited["Retry-After"]) >= 1
    statuses = [client.get("/api/v3/time", **ip).status_code for _ in range(3)]
    assert statuses[-1] == 418
    banned = client.get("/api/v3/time", **ip)
    assert banned.status_code == 418 and "banned until" in banned.json()["msg"]
    assert int(banned["Retry-After"]) >= 1
