"""Every model has an admin whose list, search and filters render."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from trading.services.prices import prices_poll


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_every_project_model_is_registered():
    from django.apps import apps

    ours = [
        m
        for app in ("trading", "ml", "notifications", "dashboard")
        for m in apps.get_app_config(app).get_models()
    ]
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert missing == []


def test_every_changelist_renders_with_search(staff_client, api_client, frozen_replay):
    prices_poll()
    api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "100"}, format="json"
    )
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = staff_client.get(url, {"q": "x"} if model_admin.search_fields else {})
        assert response.status_code == 200, url


def test_admin_action_closes_a_trade_through_the_service(staff_client, api_client, frozen_replay):
    from trading.models import Trade

    prices_poll()
    trade = api_client.post(
        "/trade", {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "100"}, format="json"
    ).json()
    pk = Trade.objects.get(number=trade["id"]).pk
    staff_client.post("/admin/trading/trade/", {"action": "close_trades", "_selected_action": [pk]})
    assert Trade.objects.get(pk=pk).status == "closed"
