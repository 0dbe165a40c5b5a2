"""The signed USD-M futures routes (/fapi/*) through the real server: real ccxt
(binanceusdm, configured as binance-compat §1 says) for every flow a ccxt bot uses, and
raw signed requests for the Binance error codes ccxt hides. Every answer is checked
against the paper account as our own API (/virtual_balance, /trades) and the database
show it."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import httpx
import pytest

from cryptobot.testing.prices import cached_price_set
from trading.binance.client import signed_request
from trading.models import Account, Order, RiskSettings
from trading.selectors.orders import futures_account_get
from trading.services.api_keys import api_key_create
from trading.services.paper import ticks_process
from trading.services.paper_account import account_get, cached_prices
from trading.services.prices import prices_poll

pytestmark = pytest.mark.live

SYMBOL = "BTC/USDT:USDT"
BTC = "BTCUSDT"


def _send(base: str, method: str, path: str, params: dict, key: str, secret: str):
    url, body, headers = signed_request(method, path, params, key=key, secret=secret)
    return httpx.request(method, base + url, content=body, headers=headers, timeout=30)


def _error(response: httpx.Response, code: int, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body["msg"]


def _ok(response: httpx.Response):
    assert response.status_code == 200, response.text
    return response.json()


def _price(symbol: str = BTC) -> Decimal:
    return cached_prices()[symbol]


def _no_risk_limits(user) -> None:
    """Only the engine's own rules (margin, filters) judge orders in these tests."""
    RiskSettings.objects.filter(account=account_get(user=user)).update(
        max_position_pct=None,
        max_open_trades=None,
        max_risk_per_trade_pct=None,
        min_free_balance=None,
        max_daily_loss_pct=None,
        max_drawdown_pct=None,
    )


@pytest.fixture
def live(transactional_db, live_server_stack, frozen_replay, user):
    prices_poll()
    _no_risk_limits(user)
    return live_server_stack.url


@pytest.fixture
def raw(live, api_key):
    """send(method, path, params) signed with the user's key against the live server."""
    key, secret = api_key

    def send(method: str, path: str, params: dict | None = None) -> httpx.Response:
        return _send(live, method, path, params or {}, key, secret)

    return send


def _market(raw, side: str, quantity: str, **extra) -> dict:
    params = {"symbol": BTC, "side": side, "type": "MARKET", "quantity": quantity}
    return _ok(raw("POST", "/fapi/v1/order", {**params, "newOrderRespType": "RESULT", **extra}))


# --------------------------------------------------------------------------- raw requests


def test_conditional_type_on_the_order_route_is_4120_and_ids_stay_apart(raw):
    price = _price()
    stop = {"symbol": BTC, "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01"}
    msg = _error(raw("POST", "/fapi/v1/order", {**stop, "stopPrice": str(price - 1000)}), -4120)
    assert "Algo Order" in msg
    _market(raw, "BUY", "0.01")
    algo = _ok(
        raw(
            "POST",
            "/fapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": BTC,
                "side": "SELL",
                "type": "STOP_MARKET",
                "quantity": "0.01",
                "triggerPrice": str(int(price * Decimal("0.9"))),
                "reduceOnly": "true",
                "clientAlgoId": "my-stop-1",
            },
        )
    )
    assert algo["algoStatus"] == "NEW" and algo["clientAlgoId"] == "my-stop-1"
    stored = Order.objects.get(number=algo["algoId"])
    assert stored.type == "STOP_MARKET" and stored.stop_price == Decimal(algo["triggerPrice"])
    # The algo id is unknown to the plain order routes, and a plain id to the algo ones.
    plain = Order.objects.exclude(number=algo["algoId"]).get()
    by_algo_id = {"symbol": BTC, "orderId": algo["algoId"]}
    _error(raw("GET", "/fapi/v1/order", by_algo_id), -2013)
    _error(raw("DELETE", "/fapi/v1/order", by_algo_id), -2011)
    _error(raw("GET", "/fapi/v1/algoOrder", {"algoId": plain.number}), -2013)
    _error(raw("DELETE", "/fapi/v1/algoOrder", {"algoId": plain.number}), -2011)
    open_plain = _ok(raw("GET", "/fapi/v1/openOrders", {"symbol": BTC}))
    assert open_plain == []
    by_client = _ok(raw("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "my-stop-1"}))
    assert by_client["algoId"] == algo["algoId"]
    canceled = _ok(raw("DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": "my-stop-1"}))
    assert canceled == {
        "algoId": algo["algoId"],
        "clientAlgoId": "my-stop-1",
        "code": "200",
        "msg": "success",
    }
    assert Order.objects.get(number=algo["algoId"]).status == "CANCELED"
    history = _ok(raw("GET", "/fapi/v1/allAlgoOrders", {"symbol": BTC}))
    assert [(a["algoId"], a["algoStatus"]) for a in history] == [(algo["algoId"], "CANCELED")]


def test_another_users_order_ids_are_unknown(raw, live, other_user):
    price = _price()
    limit = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "quantity": "0.01"}
    mine = _ok(
        raw(
            "POST",
            "/fapi/v1/order",
            {**limit, "price": str(int(price * Decimal("0.9"))), "timeInForce": "GTC"},
        )
    )
    key, secret = api_key_create(user=other_user, label="other")
    key = key.key
    ref = {"symbol": BTC, "orderId": mine["orderId"]}
    _error(_send(live, "GET", "/fapi/v1/order", ref, key, secret), -2013)
    _error(_send(live, "DELETE", "/fapi/v1/order", ref, key, secret), -2011)
    by_client = {"symbol": BTC, "origClientOrderId": mine["clientOrderId"]}
    _error(_send(live, "GET", "/fapi/v1/order", by_client, key, secret), -2013)
    assert _ok(_send(live, "GET", "/fapi/v1/openOrders", {}, key, secret)) == []
    assert Order.objects.get(number=mine["orderId"]).status == "NEW"


def test_duplicate_open_client_order_id_is_4116_until_the_first_closes(raw):
    price = _price()
    order = {
        "symbol": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.01",
        "price": str(int(price * Decimal("0.9"))),
        "timeInForce": "GTC",
        "newClientOrderId": "dup-1",
    }
    first = _ok(raw("POST", "/fapi/v1/order", order))
    assert first["status"] == "NEW" and first["clientOrderId"] == "dup-1"
    refused = raw("POST", "/fapi/v1/order", order)
    assert _error(refused, -4116) == "ClientOrderId is duplicated."
    assert not any(h.startswith("x-mbx-order-count") for h in refused.headers)
    _ok(raw("DELETE", "/fapi/v1/order", {"symbol": BTC, "origClientOrderId": "dup-1"}))
    again = raw("POST", "/fapi/v1/order", order)
    assert _ok(again)["clientOrderId"] == "dup-1"
    assert int(again.headers["X-MBX-ORDER-COUNT-1M"]) >= 2
    assert Order.objects.filter(client_order_id="dup-1").count() == 2


def test_ack_reply_and_order_lookup_by_client_id(raw):
    placed = _ok(
        raw(
            "POST",
            "/fapi/v1/order",
            {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.002"},
        )
    )
    stored = Order.objects.get(number=placed["orderId"])
    assert stored.status == "FILLED"
    got = _ok(
        raw("GET", "/fapi/v1/order", {"symbol": BTC, "origClientOrderId": placed["clientOrderId"]})
    )
    assert got["orderId"] == placed["orderId"] and got["status"] == "FILLED"
    assert Decimal(got["executedQty"]) == stored.executed_qty == Decimal("0.002")
    assert Decimal(got["avgPrice"]) == stored.avg_price and got["time"] > 0
    _error(raw("DELETE", "/fapi/v1/order", {"symbol": BTC, "orderId": placed["orderId"]}), -2011)
    _error(raw("GET", "/fapi/v1/order", {"symbol": BTC, "orderId": 999_999}), -2013)
    _error(raw("GET", "/fapi/v1/order", {"symbol": "NOPEUSDT", "orderId": 1}), -1121)
    _error(raw("GET", "/fapi/v1/order", {"symbol": BTC}), -1102)


def test_margin_type_changes_are_refused_with_open_orders_or_a_position(raw):
    price = _price()
    _ok(raw("POST", "/fapi/v1/marginType", {"symbol": BTC, "marginType": "ISOLATED"}))
    same = raw("POST", "/fapi/v1/marginType", {"symbol": BTC, "marginType": "ISOLATED"})
    assert _error(same, -4046) == "No need to change margin type."
    resting = _ok(
        raw(
            "POST",
            "/fapi/v1/order",
            {
                "symbol": BTC,
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "0.01",
                "price": str(int(price * Decimal("0.9"))),
                "timeInForce": "GTC",
            },
        )
    )
    cross = {"symbol": BTC, "marginType": "CROSSED"}
    _error(raw("POST", "/fapi/v1/marginType", cross), -4047)
    assert _ok(raw("DELETE", "/fapi/v1/allOpenOrders", {"symbol": BTC}))["code"] == 200
    assert Order.objects.get(number=resting["orderId"]).status == "CANCELED"
    _market(raw, "BUY", "0.01")
    _error(raw("POST", "/fapi/v1/marginType", cross), -4048)
    [position] = _ok(raw("GET", "/fapi/v3/positionRisk", {"symbol": BTC}))
    wallet = Account.objects.get().positions.get(symbol=BTC).isolated_wallet
    assert Decimal(position["isolatedWallet"]) == wallet > 0
    assert Decimal(position["isolatedMargin"]) == wallet + Decimal(position["unRealizedProfit"])
    _error(raw("POST", "/fapi/v1/marginType", {"symbol": BTC, "marginType": "X"}), -1100)


def test_leverage_out_of_range_is_4028_and_v2_routes_carry_leverage(raw):
    bad = raw("POST", "/fapi/v1/leverage", {"symbol": BTC, "leverage": 0})
    assert _error(bad, -4028) == "Leverage 0 is not valid"
    _error(raw("POST", "/fapi/v1/leverage", {"symbol": BTC, "leverage": 126}), -4028)
    _error(raw("POST", "/fapi/v1/leverage", {"symbol": BTC, "leverage": "x"}), -1100)
    assert _ok(raw("POST", "/fapi/v1/leverage", {"symbol": BTC, "leverage": 7}))["leverage"] == 7
    rows = {r["symbol"]: r for r in _ok(raw("GET", "/fapi/v2/positionRisk"))}
    assert rows[BTC]["leverage"] == "7" and rows[BTC]["marginType"] == "cross"
    assert rows["ETHUSDT"]["leverage"] == "20" and rows[BTC]["positionAmt"] == "0.00000000"
    assert _ok(raw("GET", "/fapi/v3/positionRisk")) == []  # v3: open positions only
    account = _ok(raw("GET", "/fapi/v2/account"))
    v2_btc = next(p for p in account["positions"] if p["symbol"] == BTC)
    assert v2_btc["leverage"] == "7" and v2_btc["isolated"] is False
    assert _ok(raw("GET", "/fapi/v3/account"))["positions"] == []
    [balance] = _ok(raw("GET", "/fapi/v2/balance"))
    assert balance["asset"] == "USDT" and Decimal(balance["balance"]) == Decimal("10000")
    assert balance["updateTime"] > 0
    _error(raw("GET", "/fapi/v4/account"), -1, status=404)


def test_hedge_mode_is_not_offered(raw):
    assert _ok(raw("GET", "/fapi/v1/positionSide/dual")) == {"dualSidePosition": False}
    one_way = raw("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
    assert _ok(one_way)["code"] == 200
    _error(raw("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"}), -1130)


def test_close_position_stop_closes_the_whole_position_when_triggered(raw):
    price = _price()
    _market(raw, "BUY", "0.02")
    trigger = (price * Decimal("0.95")).quantize(Decimal("0.01"))
    algo = _ok(
        raw(
            "POST",
            "/fapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": BTC,
                "side": "SELL",
                "type": "STOP_MARKET",
                "closePosition": "true",
                "triggerPrice": str(trigger),
            },
        )
    )
    assert algo["closePosition"] is True and algo["algoStatus"] == "NEW"
    cached_price_set(BTC, trigger - 5)
    ticks_process(symbols=[BTC])
    done = _ok(raw("GET", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]}))
    assert done["algoStatus"] == "FINISHED" and Decimal(done["executedQty"]) == Decimal("0.02")
    assert _ok(raw("GET", "/fapi/v3/positionRisk")) == []


def test_read_only_key_reads_but_cannot_trade(live, user):
    key, secret = api_key_create(user=user, label="reader", permission="read")
    key = key.key
    account = _ok(_send(live, "GET", "/fapi/v3/account", {}, key, secret))
    assert account["assets"][0]["asset"] == "USDT"
    order = {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    _error(_send(live, "POST", "/fapi/v1/order", order, key, secret), -2015, status=401)
    lever = {"symbol": BTC, "leverage": 5}
    _error(_send(live, "POST", "/fapi/v1/leverage", lever, key, secret), -2015, status=401)
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "params", "code"),
    [
        ("GET", "/fapi/v1/allOrders", {"startTime": "99999999999999999999"}, -1100),
        ("GET", "/fapi/v1/userTrades", {"symbol": BTC, "endTime": "-1"}, -1100),
        ("GET", "/fapi/v1/userTrades", {}, -1102),
        ("GET", "/fapi/v1/allAlgoOrders", {"limit": "0"}, -1100),
        ("GET", "/fapi/v1/openOrders", {"symbol": "btc"}, -1121),
        ("GET", "/fapi/v1/algoOrder", {}, -1102),
        ("GET", "/fapi/v1/algoOrder", {"algoId": "x"}, -1100),
        ("DELETE", "/fapi/v1/algoOrder", {"algoId": "99999999999999999999"}, -2011),
        ("DELETE", "/fapi/v1/allOpenOrders", {}, -1102),
        ("POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "type": "MARKET"}, -1102),
        ("POST", "/fapi/v1/order", {"symbol": BTC, "side": "UP", "type": "MARKET"}, -1117),
        (
            "POST",
            "/fapi/v1/order",
            {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "1", "reduceOnly": "x"},
            -1100,
        ),
        (
            "POST",
            "/fapi/v1/algoOrder",
            {"algoType": "VP", "symbol": BTC, "side": "BUY", "type": "STOP_MARKET"},
            -1100,
        ),
        (
            "POST",
            "/fapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": BTC,
                "side": "SELL",
                "type": "STOP_MARKET",
                "quantity": "0.01",
                "triggerPrice": "1000",
                "reduceOnly": "true",
            },
            -2022,
        ),
        ("POST", "/fapi/v1/leverage", {"symbol": BTC}, -1102),
        ("POST", "/fapi/v1/marginType", {"marginType": "CROSSED"}, -1102),
        ("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "maybe"}, -1100),
    ],
)
def test_bad_input_gets_a_binance_error_never_a_500(raw, method, path, params, code):
    _error(raw(method, path, params), code)
    assert Order.objects.count() == 0


# --------------------------------------------------------------------------- real ccxt


@pytest.fixture
def usdm(live, ccxt_usdm):
    ccxt_usdm.load_markets()
    return ccxt_usdm


def _balance(api_client) -> dict[str, Decimal]:
    body = api_client.get("/virtual_balance").json()
    return {k: Decimal(body[k]) for k in ("balance", "equity", "available", "margin_used")}


def _open_trade(api_client, symbol: str = BTC) -> dict:
    [trade] = api_client.get("/trades", {"status": "open", "symbol": symbol}).json()["results"]
    return trade


def test_fetch_balance_is_the_paper_wallet(usdm, user, api_client):
    fresh = usdm.fetch_balance()
    ours = _balance(api_client)
    assert fresh["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    assert ours["available"] == ours["balance"] == Decimal("10000")
    usdm.create_order(SYMBOL, "market", "buy", 0.01)
    after = usdm.fetch_balance()["USDT"]
    ours = _balance(api_client)
    assert Decimal(str(after["free"])) == ours["available"] < Decimal("10000")
    assert Decimal(str(after["used"])) == ours["margin_used"] > 0
    summary = futures_account_get(user=user).summary
    assert Decimal(str(after["total"])) == summary.margin_balance


def test_market_and_limit_orders_as_ccxt_sees_them(usdm, api_client):
    bought = usdm.create_order(SYMBOL, "market", "buy", 0.01)
    stored = Order.objects.get(number=int(bought["id"]))
    assert bought["status"] == "closed" and stored.status == "FILLED"
    assert bought["filled"] == 0.01 and bought["average"] == float(stored.avg_price)
    assert bought["clientOrderId"] == stored.client_order_id
    assert bought["cost"] == float(stored.cum_quote)
    trade = _open_trade(api_client)
    assert Decimal(trade["quantity"]) == Decimal("0.01") and trade["direction"] == "long"
    position_margin = _balance(api_client)["margin_used"]

    below = (_price() * Decimal("0.9")).quantize(Decimal("0.01"))
    resting = usdm.create_order(SYMBOL, "limit", "buy", 0.01, float(below))
    maker = usdm.create_order(SYMBOL, "limit", "buy", 0.01, float(below - 10), {"postOnly": True})
    assert resting["status"] == "open" and resting["price"] == float(below)
    assert maker["postOnly"] is True
    assert Order.objects.get(number=int(maker["id"])).time_in_force == "GTX"
    open_ids = {o["id"] for o in usdm.fetch_open_orders(SYMBOL)}
    assert open_ids == {resting["id"], maker["id"]}
    assert set(Order.objects.filter(status="NEW").values_list("number", flat=True)) == {
        int(resting["id"]),
        int(maker["id"]),
    }
    assert _balance(api_client)["margin_used"] > position_margin  # open orders hold margin

    fetched = usdm.fetch_order(resting["id"], SYMBOL)
    assert fetched["status"] == "open" and fetched["amount"] == 0.01 and fetched["filled"] == 0
    canceled = usdm.cancel_order(resting["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    assert Order.objects.get(number=int(resting["id"])).status == "CANCELED"
    with pytest.raises(ccxt.OrderNotFound):
        usdm.cancel_order(resting["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        usdm.fetch_order("987654", SYMBOL)

    history = {o["id"]: o["status"] for o in usdm.fetch_orders(SYMBOL)}
    assert history == {bought["id"]: "closed", resting["id"]: "canceled", maker["id"]: "open"}
    [mine] = usdm.fetch_my_trades(SYMBOL)
    fill = Account.objects.get().fills.get()
    assert (mine["id"], mine["order"]) == (str(fill.number), bought["id"])
    assert mine["amount"] == float(fill.qty) and mine["price"] == float(fill.price)
    assert mine["fee"] == {"cost": float(fill.fee), "currency": "USDT"}
    assert mine["side"] == "buy" and mine["takerOrMaker"] == "taker"


def test_post_only_that_would_take_is_refused(usdm):
    above = (_price() * Decimal("1.05")).quantize(Decimal("0.01"))
    with pytest.raises(ccxt.ExchangeError) as refused:
        usdm.create_order(SYMBOL, "limit", "buy", 0.01, float(above), {"postOnly": True})
    assert "-5022" in str(refused.value)
    assert Order.objects.count() == 0


def test_stop_market_reduce_only_waits_in_the_algo_service_and_triggers(usdm, api_client):
    usdm.create_order(SYMBOL, "market", "buy", 0.02)
    trigger = (_price() * Decimal("0.95")).quantize(Decimal("0.01"))
    stop = usdm.create_order(
        SYMBOL, "market", "sell", 0.01, None, {"triggerPrice": float(trigger), "reduceOnly": True}
    )
    stored = Order.objects.get(number=int(stop["id"]))
    assert (stored.type, stored.stop_price, stored.reduce_only) == ("STOP_MARKET", trigger, True)
    assert stop["status"] == "open" and stop["triggerPrice"] == float(trigger)
    assert stop["reduceOnly"] is True and stop["clientOrderId"] == stored.client_order_id
    assert usdm.fetch_open_orders(SYMBOL) == []  # stops live in the algo service
    [waiting] = usdm.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert waiting["id"] == stop["id"] and waiting["amount"] == 0.01

    cached_price_set(BTC, trigger + 20)
    ticks_process(symbols=[BTC])
    assert usdm.fetch_order(stop["id"], SYMBOL, {"trigger": True})["status"] == "open"
    cached_price_set(BTC, trigger - Decimal("0.5"))
    ticks_process(symbols=[BTC])
    done = usdm.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    assert done["status"] == "closed" and done["filled"] == 0.01
    assert done["info"]["algoStatus"] == "FINISHED"
    assert done["info"]["actualOrderId"] == stop["id"]
    assert usdm.fetch_open_orders(SYMBOL, params={"trigger": True}) == []
    [position] = usdm.fetch_positions([SYMBOL])
    assert position["contracts"] == 0.01 and position["side"] == "long"
    assert Decimal(_open_trade(api_client)["quantity"]) == Decimal("0.01")
    [every] = usdm.fetch_orders(SYMBOL, params={"trigger": True})
    assert every["id"] == stop["id"] and every["status"] == "closed"


def test_trigger_order_cancels_with_the_trigger_flag(usdm):
    usdm.create_order(SYMBOL, "market", "buy", 0.01)
    trigger = float((_price() * Decimal("1.05")).quantize(Decimal("0.01")))
    take = usdm.create_order(
        SYMBOL, "market", "sell", 0.01, None, {"takeProfitPrice": trigger, "reduceOnly": True}
    )
    assert Order.objects.get(number=int(take["id"])).type == "TAKE_PROFIT_MARKET"
    with pytest.raises(ccxt.OrderNotFound):
        usdm.cancel_order(take["id"], SYMBOL)  # not a plain order
    usdm.cancel_order(take["id"], SYMBOL, {"trigger": True})
    assert Order.objects.get(number=int(take["id"])).status == "CANCELED"
    assert usdm.fetch_order(take["id"], SYMBOL, {"trigger": True})["status"] == "canceled"
    assert usdm.fetch_open_orders(SYMBOL, params={"trigger": True}) == []


def test_positions_leverage_and_margin_mode(usdm, user, api_client):
    assert usdm.set_margin_mode("isolated", SYMBOL)["code"] == 200
    with pytest.raises(ccxt.MarginModeAlreadySet):
        usdm.set_margin_mode("isolated", SYMBOL)
    assert usdm.set_leverage(10, SYMBOL)["leverage"] == 10
    usdm.create_order(SYMBOL, "market", "buy", 0.02)

    [position] = usdm.fetch_positions([SYMBOL])
    risk = futures_account_get(user=user).positions[0]
    assert position["marginMode"] == "isolated" and position["side"] == "long"
    assert position["contracts"] == 0.02 and position["entryPrice"] == float(risk.entry_price)
    assert position["liquidationPrice"] == float(risk.liquidation_price) > 0
    assert position["notional"] == float(risk.notional)
    assert position["initialMargin"] == float(risk.initial_margin)
    assert position["collateral"] == float(risk.isolated_wallet + risk.unrealized_pnl)
    trade = _open_trade(api_client)
    assert Decimal(trade["liquidation_price"]) == risk.liquidation_price
    assert trade["leverage"] == 10 and trade["margin_type"] == "isolated"
    with pytest.raises(ccxt.ExchangeError):  # -4048: a position is open
        usdm.set_margin_mode("cross", SYMBOL)

    usdm.create_order(SYMBOL, "market", "sell", 0.02, None, {"reduceOnly": True})
    assert usdm.fetch_positions([SYMBOL]) == []
    assert usdm.set_margin_mode("cross", SYMBOL)["code"] == 200


def test_insufficient_margin_is_binance_2019(usdm):
    with pytest.raises(ccxt.ExchangeError) as plain:
        usdm.create_order(SYMBOL, "market", "buy", 5)
    assert "Margin is insufficient." in str(plain.value)
    assert not isinstance(plain.value, ccxt.InsufficientFunds)  # custom URL: generic table
    usdm.exceptions["exact"].update(usdm.exceptions["linear"]["exact"])  # binance-compat §5
    with pytest.raises(ccxt.InsufficientFunds):
        usdm.create_order(SYMBOL, "market", "buy", 5)
    assert Order.objects.count() == 0
    assert usdm.fetch_balance()["USDT"]["free"] == 10000.0
