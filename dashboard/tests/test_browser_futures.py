"""The Futures tab and the API-keys page in a real browser (Debian chromium via playwright)
against the real serving layout: nginx → gunicorn (pages, API) + daphne, on the test
database. Data is set up in fixtures that run before the browser starts (conftest.py).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import Page, expect

from cryptobot.lib.crypto import secret_decrypt
from cryptobot.testing.factories import UserFactory
from dashboard.tests.test_browser import sign_in
from trading.models import ApiKey, Order
from trading.selectors.orders import futures_account_get
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.services.prices import prices_poll

pytestmark = [pytest.mark.browser, pytest.mark.live]

TIMES = "\N{MULTIPLICATION SIGN}"


@pytest.fixture
def trader(transactional_db):
    """A committed user: the server processes read it through their own connections."""
    symbols_seed()
    watched_symbols_changed()
    return UserFactory()


@pytest.fixture
def priced(trader):
    """One poll's prices in the shared cache; the replay clock practically stands still, so
    the server's orders fill at these prices (no worker polls during the test)."""
    replay_clock_ensure(speed=1e-9)
    current_exchange.cache_clear()
    prices_poll()
    yield
    current_exchange.cache_clear()


def shown_price(value: Decimal) -> str:
    """A price as the dashboard writes it (format.js fmtPrice): digit-grouped, trailing
    zeros dropped, at least two decimals."""
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac.ljust(2, '0')}"


def open_futures_tab(page: Page, base_url: str, username: str) -> None:
    sign_in(page, base_url, username)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    page.get_by_role("tab", name="Futures").click()
    expect(page.locator("#fut-summary")).to_be_visible()
    expect(page.locator('#fut-summary [data-field="wallet_balance"]')).to_have_text("10,000.00")


def test_futures_tab_opens_an_isolated_position_with_its_liquidation_price_and_cancels_an_order(
    live_server_stack, priced, trader, page
):
    open_futures_tab(page, live_server_stack.url, trader.username)

    # Leverage and margin type first: 10x isolated on BTCUSDT.
    settings = page.locator("#fut-settings-form")
    settings.get_by_label("Symbol").select_option("BTCUSDT")
    settings.get_by_label("Leverage").fill("10")
    settings.locator('label:has(input[value="isolated"])').click()
    settings.get_by_role("button", name="Save").click()
    saved = f"BTCUSDT: leverage 10{TIMES} and isolated margin set"
    expect(page.get_by_role("status").filter(has_text=saved)).to_be_visible()
    expect(page.locator("#fut-settings-current")).to_have_text(f"Now 10{TIMES} isolated")

    # A market buy opens the position.
    form = page.locator("#fut-order-form")
    form.get_by_label("Symbol").select_option("BTCUSDT")
    expect(page.locator("#fut-order-settings")).to_contain_text(f"10{TIMES} isolated")
    form.get_by_label("Order type").select_option("MARKET")
    form.get_by_label("Quantity").fill("0.01")
    form.get_by_role("button", name="Buy / Long").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"filled at"))).to_be_visible()

    row = page.locator('#fut-position-rows tr[data-symbol="BTCUSDT"]')
    expect(row).to_have_count(1)
    expect(row.locator('[data-cell="side"]')).to_have_text(f"LONG 10{TIMES} isolated")
    expect(row.locator('[data-cell="size"]')).to_have_text("0.01 BTC")
    [position] = futures_account_get(user=trader).positions
    assert position.liquidation_price > 0
    # Computed to 8 places, shown on the market's tick (0.01 for BTCUSDT).
    liquidation = position.liquidation_price.quantize(Decimal("0.01"), ROUND_HALF_UP)
    expect(row.locator('[data-cell="liq"]')).to_have_text(shown_price(liquidation))
    expect(row.locator('[data-cell="entry"]')).to_have_text(shown_price(position.entry_price))
    expect(row.locator('[data-cell="pnl"]')).to_have_text(re.compile(r"^[+-]?[\d,]+\.\d\d$"))
    expect(page.locator('#fut-summary [data-field="wallet_balance"]')).not_to_have_text("10,000.00")
    expect(page.locator('#balance [data-field="balance"]')).not_to_have_text("10,000.00")

    # A limit buy 10 % under the market rests; its Cancel button cancels it.
    limit = (position.mark_price * Decimal("0.9")).quantize(Decimal("0.01"))
    form.get_by_label("Order type").select_option("LIMIT")
    form.get_by_label("Limit price").fill(str(limit))
    form.get_by_label("Quantity").fill("0.01")
    form.get_by_role("button", name="Buy / Long").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"is open"))).to_be_visible()
    order_row = page.locator("#fut-order-rows tr[data-order-id]")
    expect(order_row).to_have_count(1)
    expect(order_row).to_have_attribute("data-status", "NEW")
    expect(order_row.locator('[data-cell="price"]')).to_have_text(shown_price(limit))
    number = int(order_row.get_attribute("data-order-id"))
    assert Order.objects.get(account__user=trader, number=number).status == "NEW"

    order_row.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status").filter(has_text=f"Canceled order #{number}")).to_be_visible()
    expect(page.locator("#fut-order-rows tr[data-order-id]")).to_have_count(0)
    expect(page.locator("#fut-orders-status")).to_have_text("No open orders.")
    assert Order.objects.get(account__user=trader, number=number).status == "CANCELED"
    expect(row).to_have_count(1)  # the position is untouched
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_futures_tab_explains_a_refused_order_under_its_field(
    live_server_stack, priced, trader, page
):
    open_futures_tab(page, live_server_stack.url, trader.username)
    form = page.locator("#fut-order-form")
    form.get_by_label("Symbol").select_option("ETHUSDT")
    form.get_by_label("Quantity").fill("500")  # far above the 25 % position limit
    form.get_by_role("button", name="Sell / Short").click()
    expect(page.locator("#fut-order-error")).to_contain_text("rule: max_position_pct")
    expect(page.get_by_role("alert").filter(has_text="The order was refused")).to_be_visible()
    expect(page.locator("#fut-positions-status")).to_have_text(
        "No open positions. Place an order to open one."
    )
    assert not Order.objects.filter(account__user=trader).exists()


def test_api_keys_page_creates_a_key_shows_the_secret_once_and_revokes_it(
    live_server_stack, trader, page
):
    sign_in(page, live_server_stack.url, trader.username)
    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{live_server_stack.url}/profile/api-keys")
    expect(page.locator("#key-status")).to_have_text("No API keys yet. Create one above.")

    page.get_by_label("Label").fill("ccxt bot")
    page.locator('#key-form label:has(input[value="read"])').click()
    page.get_by_role("button", name="Create key").click()

    box = page.get_by_role("region", name="Copy your secret now")
    expect(box).to_be_visible()
    expect(box).to_contain_text("only time the secret is shown")
    secret = page.locator("#key-new-secret").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", secret), secret
    row = ApiKey.objects.get(user=trader)
    assert (row.label, row.permission) == ("ccxt bot", "read")
    assert page.locator("#key-new-key").inner_text() == row.key
    assert secret_decrypt(row.secret_encrypted) == secret != row.secret_encrypted
    box.get_by_role("button", name="Copy secret").click()
    expect(page.locator("#key-copy-status")).to_have_text(re.compile(r"Copied|Selected"))

    listed = page.locator(f'#key-rows tr[data-key-id="{row.pk}"]')
    expect(listed).to_have_attribute("data-active", "true")
    expect(listed.locator('[data-cell="label"]')).to_have_text("ccxt bot")
    expect(listed.locator('[data-cell="permission"]')).to_have_text("Read only")
    expect(listed.locator('[data-cell="last-used"]')).to_have_text("never")

    # Shown once: after a reload the secret is nowhere on the page.
    page.reload()
    expect(listed).to_have_attribute("data-active", "true")
    expect(page.locator("#key-secret-box")).to_be_hidden()
    assert secret not in page.content()

    listed.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke this API key?")
    expect(dialog).to_contain_text("ccxt bot")
    dialog.get_by_role("button", name="Revoke key").click()
    expect(
        page.get_by_role("status").filter(has_text=re.compile(r"API key ccxt bot .* revoked"))
    ).to_be_visible()
    expect(listed).to_have_attribute("data-active", "false")
    expect(listed.locator('[data-cell="status"]')).to_contain_text("revoked")
    expect(listed.get_by_role("button", name="Revoke")).to_have_count(0)
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log
