"""The signed spot routes (/api/v3/*) through the real server, driven by real clients:
ccxt's ``binance`` (configured as binance-compat §1) and python-binance. Every figure a
client gets back is checked against the paper account as our own API (/virtual_balance)
and the database rows show it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from trading.binance.client import signed_request
from trading.models import Fill, Order, RiskSettings
from trading.services.api_keys import api_key_create
from trading.services.paper_account import account_get
from trading.services.prices import price_get, prices_poll

pytestmark = pytest.mark.live

SYMBOL = "BTC/USDT"
D = Decimal


@pytest.fixture
def spot(transactional_db, live_server_stack, user, frozen_replay):
    """Prices cached, the user's paper account funded; the live stack's base URL."""
    prices_poll()
    account_get(user=user)
    return live_server_stack.url


def risk_off(user) -> None:
    """No risk limits, so the engine's own refusals (funds, filters) show through."""
    RiskSettings.objects.filter(account__user=user).update(
        max_position_pct=None,
        max_open_trades=None,
        max_risk_per_trade_pct=None,
        min_free_balance=None,
        max_daily_loss_pct=None,
        max_drawdown_pct=None,
    )


def last_price() -> Decimal:
    return D(price_get("BTCUSDT")["price"])


def balances(api_client) -> dict[str, dict]:
    """/virtual_balance: USDT (balance, available) and every other asset (free, locked)."""
    body = api_client.get("/virtual_balance").json()
    out = {a["asset"]: a for a in body["assets"]}
    out["USDT"] = {"balance": D(body["balance"]), "available": D(body["available"])}
    return out


def signed(base: str, method: str, path: str, key: str, secret: str, **params) -> httpx.Response:
    """One Binance-signed request: GET / DELETE in the query, POST in a form body."""
    url, body, headers = signed_request(method, f"/{path}", params, key=key, secret=secret)
    return httpx.request(method, base + url, content=body, headers=headers, timeout=30)


# --------------------------------------------------------------------------- ccxt


def test_ccxt_fetch_balance_matches_virtual_balance(spot, ccxt_spot, api_client):
    balance = ccxt_spot.fetch_balance()
    ours = balances(api_client)
    assert D(str(balance["USDT"]["total"])) == ours["USDT"]["balance"] == D("10000")
    assert D(str(balance["USDT"]["free"])) == ours["USDT"]["available"]
    assert balance["USDT"]["used"] == 0
    assert balance["BTC"]["total"] == 0  # every catalogue asset is listed, zero when not held
    info = balance["info"]
    assert info["updateTime"] > 0 and info["accountType"] == "SPOT"
    assert info["commissionRates"]["taker"] == "0.00100000" and info["takerCommission"] == 10


def test_ccxt_market_buy_then_sell_what_was_bought(spot, ccxt_spot, api_client, user):
    bought = ccxt_spot.create_order(SYMBOL, "market", "buy", 0.001)
    row = Order.objects.get(account__user=user, number=int(bought["id"]))
    fill = Fill.objects.get(account__user=user, order_number=row.number)
    assert bought["status"] == "closed" and row.status == "FILLED" and row.market == "spot"
    assert D(str(bought["filled"])) == row.executed_qty == fill.qty == D("0.001")
    assert D(str(bought["cost"])) == row.cum_quote == fill.quote_qty
    assert bought["clientOrderId"] == row.client_order_id.strip() != ""
    assert bought["fee"]["currency"] == "BTC" and D(str(bought["fee"]["cost"])) == fill.fee
    assert [int(t["id"]) for t in bought["trades"]] == [fill.number]
    ours = balances(api_client)
    assert D(ours["BTC"]["free"]) == fill.qty - fill.fee
    assert ours["USDT"]["balance"] == D("10000") - fill.quote_qty

    held = ccxt_spot.fetch_balance()["BTC"]
    assert D(str(held["free"])) == D(ours["BTC"]["free"]) and held["used"] == 0
    to_sell = ccxt_spot.amount_to_precision(SYMBOL, held["free"])  # rounded down to the step
    sold = ccxt_spot.create_order(SYMBOL, "market", "sell", to_sell)
    sell_fill = Fill.objects.get(account__user=user, order_number=int(sold["id"]))
    assert sold["status"] == "closed" and sold["side"] == "sell"
    assert D(str(sold["filled"])) == sell_fill.qty == D(to_sell)
    assert sold["fee"]["currency"] == "USDT"
    after = balances(api_client)
    expected = D("10000") - fill.quote_qty + sell_fill.quote_qty - sell_fill.fee
    assert after["USDT"]["balance"] == expected
    dust = D(after["BTC"]["free"]) if "BTC" in after else D("0")
    assert dust == fill.qty - fill.fee - sell_fill.qty

    trades = ccxt_spot.fetch_my_trades(SYMBOL)
    assert [(int(t["id"]), t["side"]) for t in trades] == [
        (fill.number, "buy"),
        (sell_fill.number, "sell"),
    ]
    assert all(t["takerOrMaker"] == "taker" for t in trades)
    assert D(str(trades[1]["cost"])) == sell_fill.quote_qty
    assert D(str(trades[1]["fee"]["cost"])) == sell_fill.fee


def test_ccxt_market_buy_with_cost_spends_that_much_quote(spot, ccxt_spot, api_client, user):
    order = ccxt_spot.create_market_buy_order_with_cost(SYMBOL, 100)
    row = Order.objects.get(account__user=user, number=int(order["id"]))
    assert row.quote_quantity == D("100") and row.status == "FILLED"
    assert D(str(order["cost"])) == row.cum_quote and D("99") < row.cum_quote <= D("100")
    assert D(str(order["amount"])) == D(str(order["filled"])) == row.executed_qty > 0
    assert balances(api_client)["USDT"]["balance"] == D("10000") - row.cum_quote


def test_ccxt_limit_buy_below_market_rests_until_canceled(spot, ccxt_spot, api_client, user):
    ccxt_spot.load_markets()
    price = ccxt_spot.price_to_precision(SYMBOL, last_price() * D("0.9"))
    placed = ccxt_spot.create_order(SYMBOL, "limit", "buy", 0.002, price)
    number = int(placed["id"])
    assert placed["status"] == "open" and placed["filled"] == 0
    reserved = D("0.002") * D(price)
    assert Order.objects.get(account__user=user, number=number).reserved == reserved

    fetched = ccxt_spot.fetch_order(placed["id"], SYMBOL)
    assert fetched["status"] == "open" and D(str(fetched["price"])) == D(price)
    assert fetched["clientOrderId"] == placed["clientOrderId"]
    assert [o["id"] for o in ccxt_spot.fetch_open_orders(SYMBOL)] == [placed["id"]]
    assert [o["id"] for o in ccxt_spot.fetch_open_orders()] == [placed["id"]]
    usdt = ccxt_spot.fetch_balance()["USDT"]
    assert D(str(usdt["used"])) == reserved
    assert D(str(usdt["free"])) == balances(api_client)["USDT"]["available"]

    canceled = ccxt_spot.cancel_order(placed["id"], SYMBOL)
    assert canceled["status"] == "canceled" and canceled["id"] == placed["id"]
    assert Order.objects.get(account__user=user, number=number).status == "CANCELED"
    assert ccxt_spot.fetch_open_orders(SYMBOL) == []
    history = ccxt_spot.fetch_orders(SYMBOL)
    assert [(o["id"], o["status"]) for o in history] == [(placed["id"], "canceled")]
    assert ccxt_spot.fetch_balance()["USDT"]["used"] == 0
    assert balances(api_client)["USDT"]["available"] == D("10000")


def test_ccxt_stop_loss_rests_with_its_trigger_and_locks_the_base(spot, ccxt_spot, user):
    bought = ccxt_spot.create_order(SYMBOL, "market", "buy", 0.002)
    trigger = ccxt_spot.price_to_precision(SYMBOL, last_price() * D("0.9"))
    stop = ccxt_spot.create_order(SYMBOL, "market", "sell", 0.001, None, {"triggerPrice": trigger})
    row = Order.objects.get(account__user=user, number=int(stop["id"]))
    assert (row.type, row.status, row.stop_price) == ("STOP_MARKET", "NEW", D(trigger))
    listed = ccxt_spot.fetch_open_orders(SYMBOL)
    assert [(o["id"], o["type"], D(str(o["triggerPrice"]))) for o in listed] == [
        (stop["id"], "market", D(trigger))
    ]
    btc = ccxt_spot.fetch_balance()["BTC"]
    assert D(str(btc["used"])) == row.reserved == D("0.001")
    assert D(str(btc["total"])) == D(str(bought["filled"])) - D(str(bought["fee"]["cost"]))
    assert ccxt_spot.cancel_order(stop["id"], SYMBOL)["status"] == "canceled"
    assert ccxt_spot.fetch_balance()["BTC"]["used"] == 0


def test_ccxt_insufficient_balance_is_insufficient_funds(spot, ccxt_spot, user):
    import ccxt

    risk_off(user)
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        ccxt_spot.create_market_buy_order_with_cost(SYMBOL, 20000)
    with pytest.raises(ccxt.InsufficientFunds):
        ccxt_spot.create_order(SYMBOL, "market", "sell", 0.01)  # holds no BTC
    assert not Order.objects.filter(account__user=user).exists()


def test_ccxt_unknown_order_is_order_not_found(spot, ccxt_spot):
    import ccxt

    with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
        ccxt_spot.fetch_order("987654", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        ccxt_spot.cancel_order("987654", SYMBOL)


# --------------------------------------------------------------------------- python-binance


def test_python_binance_core_flows(spot, api_key, api_client, user):
    from binance.client import Client
    from binance.exceptions import BinanceAPIException

    key, secret = api_key
    client = Client(key, secret, ping=False)
    client.API_URL = spot + "/api"  # python-binance 1.0.x builds API_URL + "/v3/" + path

    account = client.get_account()
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert D(usdt["free"]) == D("10000") and account["canTrade"] is True

    bought = client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    row = Order.objects.get(account__user=user, number=bought["orderId"])
    assert bought["status"] == "FILLED" and D(bought["executedQty"]) == row.executed_qty
    assert bought["clientOrderId"] == row.client_order_id
    assert [f["tradeId"] for f in bought["fills"]] == list(
        Fill.objects.filter(order_number=row.number).values_list("number", flat=True)
    )
    assert D(bought["cummulativeQuoteQty"]) == row.cum_quote

    got = client.get_order(symbol="BTCUSDT", orderId=bought["orderId"])
    assert got["status"] == "FILLED" and got["time"] > 0 and got["isWorking"] is False
    by_client_id = client.get_order(symbol="BTCUSDT", origClientOrderId=bought["clientOrderId"])
    assert by_client_id["orderId"] == bought["orderId"]

    price = str((last_price() * D("0.8")).quantize(D("0.01")))
    resting = client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price=price
    )
    assert resting["status"] == "NEW" and resting["fills"] == []
    assert [o["orderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == [resting["orderId"]]
    canceled = client.cancel_order(symbol="BTCUSDT", orderId=resting["orderId"])
    assert canceled["status"] == "CANCELED"
    assert canceled["origClientOrderId"] == resting["clientOrderId"]
    assert client.get_open_orders(symbol="BTCUSDT") == []

    trades = client.get_my_trades(symbol="BTCUSDT")
    fill = Fill.objects.get(order_number=bought["orderId"])
    assert [(t["id"], t["orderId"], t["isBuyer"]) for t in trades] == [
        (fill.number, bought["orderId"], True)
    ]
    assert D(trades[0]["commission"]) == fill.fee and trades[0]["commissionAsset"] == "BTC"
    btc = next(
        a for a in api_client.get("/virtual_balance").json()["assets"] if a["asset"] == "BTC"
    )
    assert D(btc["free"]) == fill.qty - fill.fee

    with pytest.raises(BinanceAPIException) as info:
        client.cancel_order(symbol="BTCUSDT", orderId=resting["orderId"])  # already canceled
    assert info.value.code == -2011


# --------------------------------------------------------------------------- raw requests


def test_order_replies_follow_new_order_resp_type_and_count_orders(spot, api_key, user):
    key, secret = api_key
    base = dict(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    ack = signed(spot, "POST", "api/v3/order", key, secret, **base, newOrderRespType="ACK")
    assert ack.status_code == 200, ack.text
    assert set(ack.json()) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    assert ack.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert ack.headers["X-MBX-ORDER-COUNT-1D"] == "1"
    assert int(ack.headers["X-MBX-USED-WEIGHT-1M"]) >= 1
    result = signed(spot, "POST", "api/v3/order", key, secret, **base, newOrderRespType="RESULT")
    body = result.json()
    assert body["status"] == "FILLED" and "fills" not in body and body["orderListId"] == -1
    assert result.headers["X-MBX-ORDER-COUNT-10S"] == "2"
    assert Order.objects.filter(account__user=user).count() == 2

    refused = signed(spot, "POST", "api/v3/order", key, secret, **base, price="1")
    assert refused.status_code == 400
    assert refused.json() == {"code": -1106, "msg": "Parameter 'price' sent when not required."}
    assert not any(h.startswith("x-mbx-order-count") for h in refused.headers)


def test_order_test_validates_and_places_nothing(spot, api_key, user):
    key, secret = api_key
    ok = signed(
        spot,
        "POST",
        "api/v3/order/test",
        key,
        secret,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        quantity="0.001",
        price="100",
        timeInForce="GTC",
    )
    assert (ok.status_code, ok.json()) == (200, {})
    bad = signed(
        spot,
        "POST",
        "api/v3/order/test",
        key,
        secret,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        quantity="0.001",
    )
    assert bad.json()["code"] == -1102
    unknown = signed(
        spot,
        "POST",
        "api/v3/order/test",
        key,
        secret,
        symbol="NOPEUSDT",
        side="BUY",
        type="MARKET",
        quantity="1",
    )
    assert (unknown.status_code, unknown.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert not Order.objects.filter(account__user=user).exists()


def test_other_users_orders_are_unknown(spot, api_key, user, other_user):
    key, secret = api_key
    placed = signed(
        spot,
        "POST",
        "api/v3/order",
        key,
        secret,
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.001",
    ).json()
    other_key, other_secret = api_key_create(user=other_user, label="other")
    number = placed["orderId"]
    got = signed(
        spot, "GET", "api/v3/order", other_key.key, other_secret, symbol="BTCUSDT", orderId=number
    )
    assert (got.status_code, got.json()) == (400, {"code": -2013, "msg": "Order does not exist."})
    by_id = signed(
        spot,
        "GET",
        "api/v3/order",
        other_key.key,
        other_secret,
        symbol="BTCUSDT",
        origClientOrderId=placed["clientOrderId"],
    )
    assert by_id.json()["code"] == -2013
    listed = signed(spot, "GET", "api/v3/allOrders", other_key.key, other_secret, symbol="BTCUSDT")
    trades = signed(spot, "GET", "api/v3/myTrades", other_key.key, other_secret, symbol="BTCUSDT")
    assert listed.json() == [] and trades.json() == []
    mine = signed(spot, "GET", "api/v3/order", key, secret, symbol="BTCUSDT", orderId=number)
    assert mine.json()["orderId"] == number


def test_read_only_key_reads_but_cannot_trade(spot, user):
    key, secret = api_key_create(user=user, label="read", permission="read")
    account = signed(spot, "GET", "api/v3/account", key.key, secret)
    assert account.status_code == 200 and account.json()["balances"]
    order = dict(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    placed = signed(spot, "POST", "api/v3/order", key.key, secret, **order)
    assert (placed.status_code, placed.json()["code"]) == (401, -2015)
    canceled = signed(spot, "DELETE", "api/v3/openOrders", key.key, secret, symbol="BTCUSDT")
    assert canceled.json()["code"] == -2015
    assert signed(spot, "GET", "api/v3/openOrders", key.key, secret).json() == []
    assert not Order.objects.filter(account__user=user).exists()


def test_cancel_all_open_orders_of_a_symbol(spot, api_key, user):
    key, secret = api_key
    price = str((last_price() * D("0.8")).quantize(D("0.01")))
    for _ in range(2):
        placed = signed(
            spot,
            "POST",
            "api/v3/order",
            key,
            secret,
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            quantity="0.001",
            price=price,
            timeInForce="GTC",
        )
        assert placed.json()["status"] == "NEW"
    canceled = signed(spot, "DELETE", "api/v3/openOrders", key, secret, symbol="BTCUSDT")
    assert [o["status"] for o in canceled.json()] == ["CANCELED", "CANCELED"]
    assert not Order.objects.filter(account__user=user, status="NEW").exists()
    again = signed(spot, "DELETE", "api/v3/openOrders", key, secret, symbol="BTCUSDT")
    assert again.json() == {"code": -2011, "msg": "Unknown order sent."}


def test_list_parameters_are_checked(spot, api_key):
    key, secret = api_key
    missing = signed(spot, "GET", "api/v3/allOrders", key, secret)
    assert missing.json()["code"] == -1102
    too_many = signed(spot, "GET", "api/v3/myTrades", key, secret, symbol="BTCUSDT", limit=1001)
    assert too_many.json()["code"] == -1100
    no_ref = signed(spot, "GET", "api/v3/order", key, secret, symbol="BTCUSDT")
    assert no_ref.json()["code"] == -1102
    bad_id = signed(spot, "DELETE", "api/v3/order", key, secret, symbol="BTCUSDT", orderId="x")
    assert bad_id.json()["code"] == -1100


def test_risk_setting_refusal_is_a_2010_with_our_reason(spot, api_key, user):
    key, secret = api_key
    RiskSettings.objects.filter(account__user=user).update(allowed_symbols=["ETHUSDT"])
    refused = signed(
        spot,
        "POST",
        "api/v3/order",
        key,
        secret,
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.001",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == -2010 and "allowed list" in refused.json()["msg"]
    assert not Order.objects.filter(account__user=user).exists()
