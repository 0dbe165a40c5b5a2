"""The friendly futures routes (/futures/*) over HTTP, on the real engine, PostgreSQL and the
price cache: positions with liquidation prices, orders, cancels, leverage, margin type,
per-user isolation and the refusal of bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from cryptobot.api.tokens import api_token_get_or_create
from trading.models import Account, Balance, Order, Position, SymbolSetting
from trading.services.markets import watched_symbols
from trading.services.prices import prices_poll


@pytest.fixture
def priced(frozen_replay):
    """Markets seeded and one poll's prices cached (the replay clock stands still)."""
    prices_poll()


@pytest.fixture
def funded(api_client, priced):
    """The user's paper account exists (created on first use) with its initial balance."""
    assert api_client.get("/futures/account").json()["wallet_balance"] == "10000.00000000"


@pytest.fixture
def other_client(other_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=other_user).key}")
    return client


def _price(client, symbol: str = "BTCUSDT") -> Decimal:
    return Decimal(client.get(f"/price/{symbol}").json()["price"])


def _order(client, **body):
    return client.post("/futures/order", body, format="json")


def _usdt(user) -> Decimal:
    return Balance.objects.get(account__user=user, asset="USDT").amount


def _resting_buy(client, **extra) -> dict:
    """A LIMIT buy 10 % under the price: it rests."""
    price = (_price(client) * Decimal("0.9")).quantize(Decimal("0.01"))
    response = _order(
        client,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        quantity="0.01",
        price=str(price),
        **extra,
    )
    assert response.status_code == 201, response.json()
    return response.json()["order"]


def test_market_order_opens_an_isolated_position_with_its_liquidation_price(
    api_client, user, priced
):
    response = _order(
        api_client,
        symbol="btc/usdt",
        direction="long",
        quantity="0.01",
        leverage=10,
        margin_type="isolated",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    order, fills = body["order"], body["fills"]
    assert order["status"] == "FILLED" and order["symbol"] == "BTCUSDT" and order["side"] == "BUY"
    assert order["executed_qty"] == "0.01000000" and order["leverage"] == 10
    assert order["source"] == "api"  # a token: a script's order
    assert len(fills) >= 1 and sum(Decimal(f["qty"]) for f in fills) == Decimal("0.01")
    fee = sum(Decimal(f["fee"]) for f in fills)
    assert fee > 0

    row = Position.objects.get(account__user=user, symbol="BTCUSDT")
    assert row.quantity == Decimal("0.01") and row.leverage == 10 and row.margin_type == "ISOLATED"

    [position] = api_client.get("/futures/positions").json()["positions"]
    assert position["symbol"] == "BTCUSDT" and position["direction"] == "long"
    assert position["quantity"] == "0.01000000" and position["leverage"] == 10
    assert position["margin_type"] == "isolated"
    entry = Decimal(position["entry_price"])
    assert entry == Decimal(order["avg_price"])
    # 10x isolated long: liquidated roughly 10 % below the entry, never above it.
    liquidation = Decimal(position["liquidation_price"])
    assert entry * Decimal("0.85") < liquidation < entry * Decimal("0.95")
    assert Decimal(position["isolated_wallet"]) > 0
    assert Decimal(position["unrealized_pnl"]) == (
        (Decimal(position["mark_price"]) - entry) * Decimal("0.01")
    ).quantize(Decimal("1e-8"))

    account = api_client.get("/futures/account").json()
    assert Decimal(account["wallet_balance"]) == Decimal("10000") - fee == _usdt(user)
    assert Decimal(account["equity"]) == Decimal(account["wallet_balance"]) + Decimal(
        account["unrealized_pnl"]
    )
    assert Decimal(account["available_balance"]) < Decimal(account["wallet_balance"])
    assert account["positions"] == [position] and account["open_orders"] == 0
    settings = {s["symbol"]: s for s in account["settings"]}
    assert set(watched_symbols()) <= set(settings)
    assert settings["BTCUSDT"] == {"symbol": "BTCUSDT", "leverage": 10, "margin_type": "isolated"}
    assert settings["ETHUSDT"] == {"symbol": "ETHUSDT", "leverage": 20, "margin_type": "cross"}


def test_reduce_only_market_order_closes_the_position(api_client, user, priced):
    _order(api_client, symbol="ETHUSDT", side="SELL", quantity="0.5")
    assert api_client.get("/futures/positions").json()["positions"][0]["direction"] == "short"
    closing = _order(
        api_client, symbol="ETHUSDT", side="buy", type="market", quantity="5", reduce_only=True
    )
    assert closing.status_code == 201, closing.json()
    assert closing.json()["order"]["executed_qty"] == "0.50000000"  # clipped to the position
    assert api_client.get("/futures/positions").json()["positions"] == []
    assert not Position.objects.filter(account__user=user).exists()


def test_limit_order_rests_is_listed_and_cancels_once(api_client, user, priced):
    order = _resting_buy(api_client, client_order_id="dip-buy-1", time_in_force="gtc")
    assert order["status"] == "NEW" and order["client_order_id"] == "dip-buy-1"
    assert order["time_in_force"] == "GTC" and Decimal(order["reserved"]) > 0

    listed = api_client.get("/futures/orders").json()["orders"]
    assert [o["id"] for o in listed] == [order["id"]]
    account = api_client.get("/futures/account").json()
    assert account["open_orders"] == 1
    assert Decimal(account["open_order_initial_margin"]) == Decimal(order["reserved"])

    canceled = api_client.delete(f"/futures/order/{order['id']}")
    assert canceled.status_code == 200, canceled.json()
    assert canceled.json()["status"] == "CANCELED"
    assert Order.objects.get(account__user=user, number=order["id"]).status == "CANCELED"
    assert api_client.get("/futures/orders").json()["orders"] == []
    history = api_client.get("/futures/orders", {"status": "all"}).json()["orders"]
    assert [(o["id"], o["status"]) for o in history] == [(order["id"], "CANCELED")]
    assert Decimal(api_client.get("/futures/account").json()["open_order_initial_margin"]) == 0

    again = api_client.delete(f"/futures/order/{order['id']}")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "order_not_open" and "CANCELED" in error["message"]


def test_orders_filter_by_symbol(api_client, priced):
    _resting_buy(api_client)
    assert len(api_client.get("/futures/orders", {"symbol": "BTC/USDT"}).json()["orders"]) == 1
    assert api_client.get("/futures/orders", {"symbol": "ETHUSDT"}).json()["orders"] == []
    for query in ({"status": "closed"}, {"symbol": "NOPEUSDT"}, {"limit": "0"}):
        response = api_client.get("/futures/orders", query)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid"


def test_cancel_of_unknown_order_is_404(api_client, priced):
    response = api_client.delete("/futures/order/999")
    assert response.status_code == 404
    assert "no futures order 999" in response.json()["error"]["message"]


def test_other_users_orders_and_positions_are_invisible_and_their_cancel_is_404(
    api_client, other_client, user, other_user, priced
):
    order = _resting_buy(api_client)
    _order(api_client, symbol="ETHUSDT", side="BUY", quantity="0.1")

    assert other_client.get("/futures/orders", {"status": "all"}).json()["orders"] == []
    assert other_client.get("/futures/positions").json()["positions"] == []
    account = other_client.get("/futures/account").json()
    assert account["wallet_balance"] == "10000.00000000" and account["open_orders"] == 0
    response = other_client.delete(f"/futures/order/{order['id']}")
    assert response.status_code == 404
    assert Order.objects.get(account__user=user, number=order["id"]).status == "NEW"
    assert not Order.objects.filter(account__user=other_user).exists()


def test_leverage_and_margin_type_are_set_per_symbol(api_client, user, priced):
    response = api_client.post(
        "/futures/leverage", {"symbol": "ethusdt", "leverage": 15}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["symbol"] == "ETHUSDT" and body["leverage"] == 15
    assert Decimal(body["max_notional"]) > 0

    response = api_client.post(
        "/futures/margin_type", {"symbol": "ETHUSDT", "margin_type": "ISOLATED"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"symbol": "ETHUSDT", "margin_type": "isolated"}
    setting = SymbolSetting.objects.get(account__user=user, symbol="ETHUSDT")
    assert (setting.leverage, setting.margin_type) == (15, "ISOLATED")
    settings = {s["symbol"]: s for s in api_client.get("/futures/account").json()["settings"]}
    assert settings["ETHUSDT"] == {"symbol": "ETHUSDT", "leverage": 15, "margin_type": "isolated"}

    # The order uses them: a 15x isolated position.
    assert _order(api_client, symbol="ETHUSDT", side="BUY", quantity="0.1").status_code == 201
    [position] = api_client.get("/futures/positions").json()["positions"]
    assert (position["leverage"], position["margin_type"]) == (15, "isolated")


def test_margin_type_refusals_name_the_rule_and_change_nothing(api_client, user, priced):
    same = api_client.post(
        "/futures/margin_type", {"symbol": "BTCUSDT", "margin_type": "cross"}, format="json"
    )
    assert same.status_code == 422
    assert same.json()["error"]["details"]["rule"] == "no_need_to_change"

    _order(api_client, symbol="BTCUSDT", side="BUY", quantity="0.01")
    response = api_client.post(
        "/futures/margin_type", {"symbol": "BTCUSDT", "margin_type": "isolated"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["rule"] == "position_open"
    assert Position.objects.get(account__user=user, symbol="BTCUSDT").margin_type == "CROSSED"


def test_stop_market_close_position_rests_until_its_trigger(api_client, user, priced):
    _order(api_client, symbol="BTCUSDT", side="BUY", quantity="0.01")
    stop = (_price(api_client) * Decimal("0.95")).quantize(Decimal("0.01"))
    response = _order(
        api_client,
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        stop_price=str(stop),
        close_position=True,
    )
    assert response.status_code == 201, response.json()
    order = response.json()["order"]
    assert order["status"] == "NEW" and order["close_position"] is True
    assert Decimal(order["stop_price"]) == stop and response.json()["fills"] == []
    assert [o["id"] for o in api_client.get("/futures/orders").json()["orders"]] == [order["id"]]


def test_risk_and_engine_refusals_are_422_and_change_nothing(api_client, user, funded):
    too_big = _order(api_client, symbol="BTCUSDT", side="BUY", quantity="5")
    assert too_big.status_code == 422
    assert too_big.json()["error"]["code"] == "risk_check_failed"
    assert too_big.json()["error"]["details"]["rule"] == "max_position_pct"

    nothing = _order(api_client, symbol="BTCUSDT", side="SELL", quantity="0.01", reduce_only=True)
    assert nothing.status_code == 422
    assert nothing.json()["error"]["details"]["rule"] == "reduce_only"

    assert not Order.objects.filter(account__user=user).exists()
    assert _usdt(user) == Decimal("10000")


MISSING = object()

BAD_ORDERS = [
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "1e30"}, "quantity"),
    ({"quantity": "100000000000"}, "quantity"),
    ({"quantity": "NaN"}, "quantity"),
    ({"quantity": "Infinity"}, "quantity"),
    ({"quantity": "lots"}, "quantity"),
    ({"quantity": [1]}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"quantity": MISSING}, "quantity"),
    ({"symbol": "DOGEUSDT"}, "symbol"),
    ({"symbol": ""}, "symbol"),
    ({"symbol": 42}, "symbol"),
    ({"side": "UP"}, "side"),
    ({"side": MISSING}, "side"),
    ({"direction": "long"}, "side"),  # disagrees with side SELL below
    ({"type": "OCO"}, "type"),
    ({"type": "LIMIT"}, "price"),
    ({"price": "100"}, "price"),
    ({"type": "LIMIT", "price": "-5"}, "price"),
    ({"type": "STOP_MARKET"}, "stop_price"),
    ({"stop_price": "100"}, "stop_price"),
    ({"time_in_force": "GTC"}, "time_in_force"),
    ({"type": "LIMIT", "price": "100", "time_in_force": "DAY"}, "time_in_force"),
    ({"leverage": 0}, "leverage"),
    ({"leverage": 200}, "leverage"),
    ({"leverage": "ten"}, "leverage"),
    ({"leverage": 2.5}, "leverage"),
    ({"margin_type": "both"}, "margin_type"),
    ({"reduce_only": "maybe"}, "reduce_only"),
    ({"close_position": True}, "close_position"),
    ({"client_order_id": "no spaces allowed"}, "client_order_id"),
    ({"client_order_id": "x" * 37}, "client_order_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_ORDERS)
def test_bad_order_bodies_are_400_naming_the_field_and_change_nothing(
    api_client, user, funded, change, field
):
    body = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", **change}
    body = {name: value for name, value in body.items() if value is not MISSING}
    response = api_client.post("/futures/order", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["details"], error
    assert error["message"]
    assert not Order.objects.filter(account__user=user).exists()
    assert _usdt(user) == Decimal("10000")


def test_unknown_symbol_message_lists_the_valid_ones(api_client, priced):
    response = _order(api_client, symbol="DOGEUSDT", side="BUY", quantity="1")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "DOGEUSDT" in message and "BTCUSDT" in message


def test_malformed_json_and_nan_literal_are_400(api_client, user, priced):
    for raw in ('{"symbol": "BTCUSDT", "side": "BUY", "quantity": NaN}', "{not json"):
        response = api_client.post("/futures/order", raw, content_type="application/json")
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "parse_error"
    assert not Order.objects.filter(account__user=user).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/futures/leverage", {"symbol": "BTCUSDT", "leverage": 0}, "leverage"),
        ("/futures/leverage", {"symbol": "BTCUSDT", "leverage": 200}, "leverage"),
        ("/futures/leverage", {"symbol": "BTCUSDT", "leverage": "x"}, "leverage"),
        ("/futures/leverage", {"symbol": "BTCUSDT"}, "leverage"),
        ("/futures/leverage", {"symbol": "NOPE", "leverage": 5}, "symbol"),
        ("/futures/margin_type", {"symbol": "BTCUSDT", "margin_type": "full"}, "margin_type"),
        ("/futures/margin_type", {"symbol": "NOPE", "margin_type": "cross"}, "symbol"),
        ("/futures/margin_type", {"margin_type": "cross"}, "symbol"),
    ],
)
def test_bad_settings_are_400_and_change_nothing(api_client, user, priced, path, body, field):
    response = api_client.post(path, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert not SymbolSetting.objects.filter(account__user=user).exists()


def test_signals_list_each_watched_symbol_with_no_signal_yet(api_client, priced):
    signals = api_client.get("/futures/signals").json()["signals"]
    assert [s["symbol"] for s in signals] == sorted(watched_symbols())
    for signal in signals:
        assert signal["strategy"] is None and signal["ml"] is None
        assert "No signal yet" in signal["note"]


def test_session_sign_in_places_a_manual_order(user, priced):
    client = APIClient()
    client.force_login(user)
    response = _order(client, symbol="BTCUSDT", side="BUY", quantity="0.001")
    assert response.status_code == 201, response.json()
    assert response.json()["order"]["source"] == "manual"
    assert Order.objects.get(account__user=user).source == "manual"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/futures/account"),
        ("get", "/futures/positions"),
        ("get", "/futures/orders"),
        ("post", "/futures/order"),
        ("delete", "/futures/order/1"),
        ("post", "/futures/leverage"),
        ("post", "/futures/margin_type"),
        ("get", "/futures/signals"),
    ],
)
def test_futures_routes_need_sign_in(anon_client, db, method, path):
    response = getattr(anon_client, method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not Account.objects.exists()


def test_schema_documents_the_futures_routes(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/futures/account",
        "/futures/positions",
        "/futures/orders",
        "/futures/order",
        "/futures/order/{number}",
        "/futures/leverage",
        "/futures/margin_type",
        "/futures/signals",
    ):
        assert path in paths, path
    order_body = paths["/futures/order"]["post"]["requestBody"]["content"]["application/json"]
    assert order_body["schema"]["$ref"].endswith("FuturesOrderInRequest")
    assert "201" in paths["/futures/order"]["post"]["responses"]
