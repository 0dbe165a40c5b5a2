"""Dashboard pages through the Django test client: sign-in, the shell, the profile token."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dashboard.tabs import Tab, register, tab_list
from trading.models import Symbol


def _symbol(name: str, base: str, *, watched: bool = True) -> Symbol:
    return Symbol.objects.create(
        symbol=name,
        base=base,
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"),
        watched=watched,
    )


@pytest.fixture
def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/profile"])
def test_pages_redirect_anonymous_users_to_login_with_next(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={path}"


def test_login_page_renders_the_form(client, db):
    response = client.get("/login")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_login_with_the_right_password_lands_on_next(client, user, password):
    response = client.post(
        "/login", {"username": user.username, "password": password, "next": "/profile"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/profile"
    assert client.get("/profile").status_code == 200


def test_login_with_a_wrong_password_says_so_and_signs_nobody_in(client, user):
    response = client.post("/login", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_shell_shows_sidebar_dashboard_tab_and_only_watched_symbols(signed_in):
    _symbol("BTCUSDT", "BTC")
    _symbol("ETHUSDT", "ETH")
    _symbol("XRPUSDT", "XRP", watched=False)
    response = signed_in.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="symbol-select"' in body
    assert 'id="realtime-toggle"' in body
    assert 'id="connection"' in body
    assert 'role="tab"' in body and ">Dashboard</button>" in body
    assert '<option value="BTCUSDT">BTC/USDT</option>' in body
    assert '<option value="ETHUSDT">ETH/USDT</option>' in body
    assert 'data-symbol="BTCUSDT"' in body and 'data-symbol="ETHUSDT"' in body
    assert "XRPUSDT" not in body
    assert "/static/vendor/plotly/plotly.min.js" in body
    assert "/static/js/dashboard.js" in body


def test_shell_shows_the_registered_tabs_and_no_others(signed_in):
    body = signed_in.get("/").content.decode()
    tabs = tab_list()
    assert tabs[0].key == "dashboard"
    assert body.count('role="tab"') == len(tabs)
    for tab in tabs:
        assert f'data-tab="{tab.key}"' in body and f">{tab.title}</button>" in body
    # Tabs of features that have not landed are not shown, not even disabled.
    registered = {tab.title for tab in tabs}
    for later in ("ML Prediction", "Open Trade", "Model Analytics", "Backtests", "Auto-trading"):
        if later not in registered:
            assert later not in body


def test_tabs_follow_the_design_order():
    keys = [tab.key for tab in tab_list()]
    assert keys[:1] == ["dashboard"]
    assert keys.index("trade") > keys.index("dashboard")
    assert [tab.order for tab in tab_list()] == sorted(tab.order for tab in tab_list())


def test_open_trade_tab_renders_its_form_for_a_signed_in_user(signed_in):
    _symbol("BTCUSDT", "BTC")
    _symbol("ETHUSDT", "ETH")
    body = signed_in.get("/").content.decode()
    assert re.search(r'id="tab-trade"[^>]*>Open Trade</button>', body)
    assert body.index('id="tab-dashboard"') < body.index('id="tab-trade"')
    form = body[
        body.index('<form id="order-form"') : body.index("</form>", body.index('id="order-form"'))
    ]
    symbol_select = form[form.index('id="order-symbol"') : form.index("</select>")]
    assert '<option value="BTCUSDT">BTC/USDT</option>' in symbol_select
    assert '<option value="ETHUSDT">ETH/USDT</option>' in symbol_select
    radios = dict(re.findall(r'type="radio" name="(\w+)" value="(\w+)" checked', form))
    assert radios == {
        "market": "futures",
        "size_mode": "quote_amount",
        "margin_type": "cross",
        "order_type": "market",
        "sl_mode": "pct",
        "tp_mode": "pct",
    }
    sizes = re.findall(r'name="size_mode" value="(\w+)"', form)
    assert sizes == ["quantity", "quote_amount", "equity_pct"]
    for control in (
        'id="order-size"',
        'id="order-leverage-range" min="1" max="125"',
        'id="order-leverage" name="leverage" min="1" max="125"',
        'id="order-price"',
        'id="order-sl"',
        'id="order-tp"',
        'id="order-trailing"',
    ):
        assert control in form, control
    # Both sides start disabled: they are enabled only by a passing safety check.
    assert re.search(r'id="submit-long" value="long" disabled>Buy / Long<', form)
    assert re.search(r'id="submit-short" value="short" disabled>Sell / Short<', form)
    for part in ('id="check-table"', 'id="open-trades"', 'id="risk-form"'):
        assert part in body, part
    assert "/static/js/trade.js" in body


def test_sidebar_shows_the_balance_and_a_reset_dialog(signed_in):
    body = signed_in.get("/").content.decode()
    for field in ("equity", "balance", "available", "unrealized_pnl"):
        assert f'data-field="{field}"' in body
    assert 'id="balance-reset-open"' in body
    dialog = body[body.index('<dialog class="modal" id="reset-dialog"') : body.index("</dialog>")]
    assert 'id="reset-initial" name="initial_balance" value="10000"' in dialog
    assert ">Reset account</button>" in dialog and ">Cancel</button>" in dialog
    assert "/static/js/balance.js" in body


def test_dashboard_tab_has_the_trade_list_and_analytics(signed_in):
    _symbol("BTCUSDT", "BTC")
    body = signed_in.get("/").content.decode()
    for part in (
        'id="trade-list"',
        'id="trade-filter-status"',
        'id="trade-filter-symbol"',
        'id="trade-pager"',
        'id="analytics-stats"',
        'id="equity-chart"',
        'data-overlay="trades"',
    ):
        assert part in body, part


def test_a_tab_key_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already registered"):
        register(Tab("dashboard", "Again", "dashboard/tabs/dashboard.html", 99))


def test_shell_without_watched_symbols_says_so(signed_in):
    body = signed_in.get("/").content.decode()
    assert "No watched symbols." in body
    assert 'id="symbol-select"' not in body


def test_admin_link_only_for_staff(client, user, db):
    client.force_login(user)
    assert 'href="/admin/"' not in client.get("/").content.decode()
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_profile_shows_the_users_api_token_and_a_usage_example(signed_in):
    body = signed_in.get("/profile").content.decode()
    key = signed_in.get("/api/token").json()["token"]
    assert key in body
    assert f'curl -H "Authorization: Token {key}" http://testserver/price' in body


def test_rotating_the_token_replaces_it_and_the_old_one_gets_401(signed_in):
    old = signed_in.get("/api/token").json()["token"]
    response = signed_in.post("/profile/token/rotate")
    assert response.status_code == 302
    assert response["Location"] == "/profile"
    page = signed_in.get("/profile").content.decode()
    new = signed_in.get("/api/token").json()["token"]
    assert new != old
    assert new in page and old not in page
    assert "A new API token was issued" in page

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/token").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get("/api/token").json()["token"] == new


def test_token_rotation_needs_post_and_csrf(user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    before = strict.get("/api/token").json()["token"]
    assert strict.get("/profile/token/rotate").status_code == 405
    assert strict.post("/profile/token/rotate").status_code == 403
    assert strict.get("/api/token").json()["token"] == before


def test_logout_is_post_only(signed_in):
    assert signed_in.get("/logout").status_code == 405
    assert signed_in.get("/").status_code == 200
    response = signed_in.post("/logout")
    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert signed_in.get("/").status_code == 302


def test_signed_in_user_visiting_login_goes_to_the_dashboard(signed_in):
    response = signed_in.get("/login")
    assert response.status_code == 302
    assert response["Location"] == "/"
