"""python-binance's futures client against the real server: its URL is the only change
(FUTURES_URL = <server>/fapi). Account, orders, positions and leverage as a python-binance
bot uses them, each answer checked against the paper account (our own API and the DB)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance.client import Client
from binance.exceptions import BinanceAPIException

from trading.models import Order, RiskSettings
from trading.selectors.orders import futures_account_get
from trading.services.paper_account import account_get, cached_prices
from trading.services.prices import prices_poll

pytestmark = pytest.mark.live

BTC = "BTCUSDT"


@pytest.fixture
def client(transactional_db, live_server_stack, frozen_replay, user, api_key) -> Client:
    prices_poll()
    RiskSettings.objects.filter(account=account_get(user=user)).update(
        max_position_pct=None, max_open_trades=None, min_free_balance=None
    )
    key, secret = api_key
    client = Client(key, secret, ping=False)
    client.FUTURES_URL = live_server_stack.url + "/fapi"
    return client


def test_market_order_opens_the_position_the_account_and_our_api_show(client, user, api_client):
    leverage = client.futures_change_leverage(symbol=BTC, leverage=5)
    assert leverage["leverage"] == 5 and leverage["symbol"] == BTC
    placed = client.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    assert placed["symbol"] == BTC and placed["clientOrderId"].startswith("x-")

    got = client.futures_get_order(symbol=BTC, orderId=placed["orderId"])
    stored = Order.objects.get(number=placed["orderId"])
    assert got["status"] == stored.status == "FILLED"
    assert Decimal(got["executedQty"]) == stored.executed_qty == Decimal("0.01")
    assert Decimal(got["avgPrice"]) == stored.avg_price > 0

    [position] = client.futures_position_information(symbol=BTC)
    risk = futures_account_get(user=user).positions[0]
    assert Decimal(position["positionAmt"]) == risk.quantity == Decimal("0.01")
    assert Decimal(position["entryPrice"]) == risk.entry_price == stored.avg_price
    assert Decimal(position["initialMargin"]) == risk.initial_margin
    assert risk.initial_margin == (risk.notional / 5).quantize(Decimal("0.00000001"))
    # 10,000 USDT of cross wallet behind a 0.01 BTC long: no price liquidates it.
    assert position["liquidationPrice"] == "0" and risk.liquidation_price == 0

    account = client.futures_account()
    balance = api_client.get("/virtual_balance").json()
    assert Decimal(account["totalWalletBalance"]) == Decimal(balance["balance"])
    assert Decimal(account["availableBalance"]) == Decimal(balance["available"])
    assert Decimal(account["totalInitialMargin"]) == Decimal(balance["margin_used"])
    btc = next(p for p in account["positions"] if p["symbol"] == BTC)
    assert btc["leverage"] == "5" and Decimal(btc["positionAmt"]) == Decimal("0.01")
    fee = stored.account.fills.get().fee
    assert Decimal(account["totalWalletBalance"]) == Decimal("10000") - fee


def test_limit_order_rests_lists_and_cancels(client, api_client):
    before = Decimal(api_client.get("/virtual_balance").json()["available"])
    price = int(cached_prices()[BTC] * Decimal("0.9"))
    placed = client.futures_create_order(
        symbol=BTC, side="BUY", type="LIMIT", quantity="0.01", price=str(price), timeInForce="GTC"
    )
    [listed] = client.futures_get_open_orders(symbol=BTC)
    assert listed["orderId"] == placed["orderId"] and listed["status"] == "NEW"
    assert Decimal(listed["price"]) == price and Decimal(listed["origQty"]) == Decimal("0.01")
    held = Decimal(api_client.get("/virtual_balance").json()["available"])
    assert held < before  # the open order holds its margin

    canceled = client.futures_cancel_order(symbol=BTC, orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"
    assert Order.objects.get(number=placed["orderId"]).status == "CANCELED"
    assert client.futures_get_open_orders(symbol=BTC) == []
    assert Decimal(api_client.get("/virtual_balance").json()["available"]) == before
    with pytest.raises(BinanceAPIException) as unknown:
        client.futures_cancel_order(symbol=BTC, orderId=placed["orderId"])
    assert unknown.value.code == -2011


def test_stop_market_goes_to_the_algo_service(client):
    client.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    trigger = int(cached_prices()[BTC] * Decimal("0.95"))
    algo = client.futures_create_order(
        symbol=BTC,
        side="SELL",
        type="STOP_MARKET",
        quantity="0.01",
        stopPrice=str(trigger),
        reduceOnly="true",
    )
    assert algo["algoStatus"] == "NEW" and Decimal(algo["triggerPrice"]) == trigger
    got = client.futures_get_order(symbol=BTC, algoId=algo["algoId"])
    assert got["clientAlgoId"] == algo["clientAlgoId"] and got["reduceOnly"] is True
    [waiting] = client.futures_get_open_orders(symbol=BTC, conditional=True)
    assert waiting["algoId"] == algo["algoId"]
    assert client.futures_get_open_orders(symbol=BTC) == []
    client.futures_cancel_order(symbol=BTC, algoId=algo["algoId"])
    assert Order.objects.get(number=algo["algoId"]).status == "CANCELED"


def test_refusals_are_binance_errors(client):
    with pytest.raises(BinanceAPIException) as margin:
        client.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="100")
    assert (margin.value.code, margin.value.message) == (-2019, "Margin is insufficient.")
    with pytest.raises(BinanceAPIException) as unknown:
        client.futures_get_order(symbol=BTC, orderId=424242)
    assert unknown.value.code == -2013
    with pytest.raises(BinanceAPIException) as leverage:
        client.futures_change_leverage(symbol=BTC, leverage=500)
    assert leverage.value.code == -4028
    assert Order.objects.count() == 0
