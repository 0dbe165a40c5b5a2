"""Paper trading through the HTTP API, on the real engine, PostgreSQL and the price cache."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from trading.models import Account, Balance, LedgerEntry, Trade
from trading.services.prices import prices_poll


@pytest.fixture
def priced(frozen_replay):
    """Markets seeded and one poll's prices cached (the replay clock stands still)."""
    prices_poll()


def _ledger_matches(user) -> None:
    account = Account.objects.get(user=user)
    for balance in Balance.objects.filter(account=account):
        total = LedgerEntry.objects.filter(account=account, asset=balance.asset).aggregate(
            s=Sum("amount")
        )["s"]
        assert total == balance.amount, balance.asset


def test_new_account_has_the_initial_balance(api_client, user, priced):
    body = api_client.get("/virtual_balance").json()
    assert body["balance"] == "10000.00000000" and body["equity"] == "10000.00000000"
    assert body["currency"] == "USDT" and body["assets"] == []
    _ledger_matches(user)


def test_open_long_with_stops_then_close_it(api_client, user, priced):
    price = Decimal(api_client.get("/price/BTCUSDT").json()["price"])
    response = api_client.post(
        "/trade",
        {
            "symbol": "BTC/USDT",
            "direction": "long",
            "quote_amount": "1000",
            "leverage": 5,
            "margin_type": "isolated",
            "stop_loss_pct": "2",
            "take_profit_pct": "4",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    trade = response.json()
    assert trade["status"] == "open" and trade["symbol"] == "BTCUSDT"
    assert Decimal(trade["stop_loss"]) < price < Decimal(trade["take_profit"])
    assert Decimal(trade["liquidation_price"]) < Decimal(trade["stop_loss"])
    # Taker fee: 0.05 % of what the fill cost (the book walk's exact quote amount).
    entry_fill = api_client.get(f"/trades/{trade['id']}").json()["fills"][0]
    fee = (Decimal(entry_fill["quote_qty"]) * Decimal("0.0005")).quantize(Decimal("1e-8"))
    assert Decimal(trade["fees"]) == fee == Decimal(entry_fill["fee"])
    listed = api_client.get("/trades", {"status": "open"}).json()
    assert [t["id"] for t in listed["results"]] == [trade["id"]]
    closed = api_client.post(f"/trades/{trade['id']}/close", {}, format="json").json()
    assert closed["status"] == "closed" and closed["close_reason"] == "manual"
    sizes = {closed["quantity"], closed["entered_qty"], closed["exited_qty"], trade["quantity"]}
    assert len({Decimal(q) for q in sizes}) == 1
    # Quantities on the step (0.00001 BTC), prices on the tick (0.01).
    assert Decimal(trade["quantity"]) % Decimal("0.00001") == 0
    assert Decimal(trade["stop_loss"]) % Decimal("0.01") == 0
    detail = api_client.get(f"/trades/{trade['id']}").json()
    assert len(detail["fills"]) == 2 and len(detail["orders"]) == 2
    balance = Decimal(api_client.get("/virtual_balance").json()["balance"])
    assert balance == Decimal("10000") + Decimal(closed["net_pnl"])
    _ledger_matches(user)


def test_spot_buy_pays_fee_in_the_coin(api_client, user, priced):
    response = api_client.post(
        "/trade",
        {"symbol": "ETHUSDT", "direction": "long", "market": "spot", "quantity": "0.1"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assets = api_client.get("/virtual_balance").json()["assets"]
    assert assets[0]["asset"] == "ETH" and Decimal(assets[0]["free"]) == Decimal("0.0999")
    _ledger_matches(user)


def test_update_and_wrong_side_stop(api_client, priced):
    trade = api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "short", "quote_amount": "500"}, format="json"
    ).json()
    price = Decimal(api_client.get("/price/BTCUSDT").json()["price"])
    ok = api_client.post(
        f"/trades/{trade['id']}/update",
        {"stop_loss": str(price * Decimal("1.05")), "trailing_stop_pct": "1.5"},
        format="json",
    )
    assert ok.status_code == 200 and Decimal(ok.json()["trailing_stop_pct"]) == Decimal("1.5")
    bad = api_client.post(
        f"/trades/{trade['id']}/update", {"stop_loss": str(price * Decimal("0.9"))}, format="json"
    )
    assert bad.status_code == 400 and "stop" in bad.json()["error"]["message"].lower()


def test_safety_check_names_each_rule(api_client, priced):
    api_client.post(
        "/risk_settings", {"max_leverage": 10, "stop_loss_required": True}, format="json"
    )
    body = api_client.post(
        "/safety/check",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "100", "leverage": 20},
        format="json",
    ).json()
    assert body["allowed"] is False
    failed = {c["rule"] for c in body["checks"] if not c["passed"]}
    # Without the required stop, the per-trade risk is unbounded too.
    assert failed == {"max_leverage", "stop_loss_required", "max_risk_per_trade_pct"}
    refused = api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "100", "leverage": 20},
        format="json",
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["rule"] == "max_leverage"
    assert Trade.objects.count() == 0


def test_insufficient_margin_is_refused_and_changes_nothing(api_client, user, priced):
    limits = {
        "max_position_pct": "5000",
        "max_leverage": 125,
        "max_risk_per_trade_pct": None,
        "min_free_balance": None,
    }
    assert api_client.post("/risk_settings", limits, format="json").status_code == 200
    before = api_client.get("/virtual_balance").json()
    response = api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "400000", "leverage": 2},
        format="json",
    )
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["details"]["rule"] == "insufficient_margin"
    assert api_client.get("/virtual_balance").json() == before
    _ledger_matches(user)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": "long", "quantity": "1"}, "symbol"),
        ({"symbol": "BTCUSDT", "direction": "up", "quantity": "1"}, "direction"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "-1"}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "0"}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "NaN"}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "1e40"}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "abc"}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": True}, "quantity"),
        ({"symbol": "BTCUSDT", "direction": "long"}, "quantity"),
        (
            {"symbol": "BTCUSDT", "direction": "long", "quantity": "1", "equity_pct": "5"},
            "quantity",
        ),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "1", "leverage": 0}, "leverage"),
        ({"symbol": "BTCUSDT", "direction": "long", "quantity": "1", "leverage": 200}, "leverage"),
        (
            {"symbol": "BTCUSDT", "direction": "long", "quantity": "1", "order_type": "limit"},
            "price",
        ),
        (
            {"symbol": "BTCUSDT", "direction": "short", "market": "spot", "quantity": "1"},
            "direction",
        ),
    ],
)
def test_bad_trade_bodies_are_400_and_change_nothing(api_client, priced, body, field):
    response = api_client.post("/trade", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert Trade.objects.count() == 0 and LedgerEntry.objects.exclude(kind="deposit").count() == 0


def test_unknown_symbol_is_404(api_client, priced):
    response = api_client.post(
        "/trade", {"symbol": "DOGEUSDT", "direction": "long", "quantity": "1"}, format="json"
    )
    assert response.status_code == 404


def test_malformed_json_is_400(api_client, priced):
    response = api_client.post("/trade", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


def test_other_users_trades_are_404(api_client, other_user, priced):
    from rest_framework.test import APIClient

    from cryptobot.api.tokens import api_token_get_or_create

    trade = api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "200"}, format="json"
    ).json()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=other_user).key}")
    assert other.get(f"/trades/{trade['id']}").status_code == 404
    assert other.post(f"/trades/{trade['id']}/close", {}, format="json").status_code == 404
    assert (
        other.post(f"/trades/{trade['id']}/update", {"stop_loss": "1"}, format="json").status_code
        == 404
    )
    assert other.get("/trades").json()["count"] == 0
    assert api_client.get(f"/trades/{trade['id']}").json()["status"] == "open"


def test_reset_needs_confirmation_and_restores_balance(api_client, user, priced):
    api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "300"}, format="json"
    )
    assert api_client.post("/virtual_balance/reset", {}, format="json").status_code == 400
    body = api_client.post(
        "/virtual_balance/reset", {"confirm": True, "initial_balance": "5000"}, format="json"
    ).json()
    assert body["balance"] == "5000.00000000" and body["initial_balance"] == "5000.00000000"
    assert Trade.objects.filter(status="open").count() == 0
    _ledger_matches(user)


def test_analytics_after_a_round_trip(api_client, priced):
    trade = api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "500"}, format="json"
    ).json()
    api_client.post(f"/trades/{trade['id']}/close", {}, format="json")
    body = api_client.get("/trades/analytics").json()
    assert body["trades_count"] == 1
    assert Decimal(body["fees_paid"]) > 0 and Decimal(body["realized_pnl"]) < 0
    assert body["equity_curve"] and body["per_symbol"]["BTCUSDT"]["trades"] == 1


def test_risk_settings_validation(api_client, priced):
    assert api_client.post("/risk_settings", {"max_leverage": 0}, format="json").status_code == 400
    bad = api_client.post("/risk_settings", {"allowed_symbols": ["NOPE"]}, format="json")
    assert bad.status_code == 400 and "allowed_symbols" in bad.json()["error"]["message"]
    ok = api_client.post("/risk_settings", {"allowed_symbols": ["eth/usdt"]}, format="json").json()
    assert ok["allowed_symbols"] == ["ETHUSDT"]
