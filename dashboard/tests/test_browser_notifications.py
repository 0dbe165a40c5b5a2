"""The E-mail tab, the sidebar's e-mail switch and the notification bell in a real browser
(Debian chromium via playwright) against the real serving layout (nginx → gunicorn +
daphne) and a real SMTP server (aiosmtpd on 127.0.0.1, login required).

The trade whose closing becomes a toast is opened and closed through the REST API with
the user's token, so the server processes store the notification and push it over
/ws/notifications as they do for any trade. Data is set up in fixtures that run before the
browser starts (see conftest.py).
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.lib.crypto import secret_decrypt
from cryptobot.testing.factories import UserFactory
from dashboard.tests.test_browser import sign_in
from notifications.models import EmailConfig, Notification, UserSettings
from notifications.services.notifications import notification_create
from trading.models import Trade
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.services.prices import prices_poll

pytestmark = [pytest.mark.browser, pytest.mark.live]

EARLIER = 21  # notifications the user already has: more than one page of the panel (20)


@pytest.fixture
def trader(transactional_db):
    """A committed user and the markets: the server processes read them through their own
    connections (and keep the market catalogue they first read for their lifetime)."""
    symbols_seed()
    watched_symbols_changed()
    return UserFactory()


@pytest.fixture
def noted(trader, frozen_replay):
    """Markets with one poll's prices cached (the replay clock stands still, so the trade
    fills at these prices) and EARLIER unread notifications, oldest first."""
    prices_poll()
    for i in range(EARLIER):
        notification_create(
            user_id=trader.pk, kind="custom", title=f"Earlier note {i}", message="Hello."
        )
    return trader


def shell_ready(page: Page) -> None:
    """The page's modules have run: the e-mail switch and the bell's socket answered."""
    expect(page.locator("#email-toggle")).to_be_enabled()
    expect(page.locator("#notif-bell")).to_have_attribute("data-socket", "live", timeout=20_000)


def no_page_errors(page: Page) -> None:
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_email_settings_are_saved_tested_and_the_sidebar_switch_follows(
    live_server_stack, trader, smtp_server, page
):
    sign_in(page, live_server_stack.url, trader.username)
    shell_ready(page)

    # Unconfigured: switching e-mail on is refused, the switch stays off, a link helps.
    switch = page.get_by_role("switch", name="E-mail notifications")
    expect(switch).not_to_be_checked()
    page.locator("label.toggle-switch").click()
    status = page.locator("#email-toggle-status")
    expect(status).to_contain_text("E-mail is not configured")
    expect(switch).not_to_be_checked()
    assert not EmailConfig.objects.filter(user=trader, enabled=True).exists()
    page.get_by_role("button", name="Set up e-mail in the E-mail tab").click()
    expect(page.get_by_role("tab", name="E-mail")).to_have_attribute("aria-selected", "true")

    # Fill the form and save.
    form = page.locator("#email-form")
    expect(form).to_be_visible()
    form.get_by_label("Send notifications by e-mail").check()
    form.get_by_label("SMTP server").fill(smtp_server.host)
    form.get_by_label("Port", exact=True).fill(str(smtp_server.port))
    form.get_by_label("STARTTLS").uncheck()
    form.get_by_label("Username").fill(smtp_server.username)
    form.get_by_label("Password", exact=True).fill(smtp_server.password)
    form.get_by_label("From", exact=True).fill("cryptobot@example.org")
    form.get_by_label("Recipients").fill("trader@example.org, desk@example.org")
    form.get_by_label("Trade closed", exact=True).check()
    form.get_by_label("Take-profit hit").check()
    form.get_by_label("Lowest level").select_option("warning")
    form.get_by_role("button", name="Save e-mail settings").click()
    expect(page.get_by_role("status").filter(has_text="E-mail settings saved")).to_have_count(2)
    expect(switch).to_be_checked()  # the sidebar follows the tab's save

    cfg = EmailConfig.objects.get(user=trader)
    assert cfg.enabled and cfg.smtp_host == smtp_server.host and cfg.smtp_port == smtp_server.port
    assert (cfg.use_tls, cfg.use_ssl, cfg.username) == (False, False, smtp_server.username)
    assert secret_decrypt(cfg.password_encrypted) == smtp_server.password
    assert cfg.from_email == "cryptobot@example.org"
    assert cfg.recipients == ["trader@example.org", "desk@example.org"]
    assert cfg.kinds == ["trade_closed", "take_profit"] and cfg.min_level == "warning"

    # After a reload (the tab is remembered) the values come back; the password does not.
    page.reload()
    shell_ready(page)
    expect(page.get_by_role("tab", name="E-mail")).to_have_attribute("aria-selected", "true")
    expect(form.get_by_label("SMTP server")).to_have_value(smtp_server.host)
    expect(form.get_by_label("Port", exact=True)).to_have_value(str(smtp_server.port))
    expect(form.get_by_label("Recipients")).to_have_value("trader@example.org, desk@example.org")
    expect(form.get_by_label("Trade closed", exact=True)).to_be_checked()
    expect(form.get_by_label("Trade opened", exact=True)).not_to_be_checked()
    expect(form.get_by_label("Lowest level")).to_have_value("warning")
    expect(form.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.locator("#em-password-hint")).to_have_text(re.compile("A password is stored"))
    assert smtp_server.password not in page.content()

    # Test connection with the saved password, then with a wrong one typed (not saved).
    result = page.locator("#email-result")
    form.get_by_role("button", name="Test connection").click()
    expect(result).to_have_attribute("data-kind", "success")
    expect(result).to_contain_text(f"Connected to {smtp_server.host}:{smtp_server.port}")
    form.get_by_label("Password", exact=True).fill("not-the-password")
    form.get_by_role("button", name="Test connection").click()
    expect(result).to_have_attribute("data-kind", "error")
    expect(page.locator("#email-result-answer")).to_contain_text("535")
    expect(page.locator("#email-result-answer")).to_contain_text("Authentication")
    cfg.refresh_from_db()
    assert secret_decrypt(cfg.password_encrypted) == smtp_server.password

    # A test e-mail goes out with the saved settings.
    form.get_by_role("button", name="Send test e-mail").click()
    expect(result).to_have_attribute("data-kind", "success")
    expect(result).to_contain_text("trader@example.org, desk@example.org")
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "[cryptobot] Test e-mail"
    assert smtp_server.envelopes[0] == (
        "cryptobot@example.org",
        ["trader@example.org", "desk@example.org"],
    )

    # The sidebar switch turns e-mail off and on; the tab's checkbox follows.
    page.locator("label.toggle-switch").click()
    expect(switch).not_to_be_checked()
    expect(form.get_by_label("Send notifications by e-mail")).not_to_be_checked()
    expect(status).to_contain_text("Off")
    cfg.refresh_from_db()
    assert cfg.enabled is False
    page.locator("label.toggle-switch").click()
    expect(status).to_contain_text("On")
    expect(form.get_by_label("Send notifications by e-mail")).to_be_checked()
    cfg.refresh_from_db()
    assert cfg.enabled is True

    # Preferences: a refused value is shown under its field; a saved theme applies at once.
    prefs = page.locator("#prefs-form")
    prefs.get_by_label("Quiet hours from").fill("22:00")
    prefs.get_by_role("button", name="Save preferences").click()
    expect(prefs.locator('[data-error-for="quiet_hours_end"]')).to_contain_text("both")
    prefs.get_by_label("Quiet hours until").fill("07:00")
    prefs.get_by_label("Time zone").fill("Europe/Berlin")
    prefs.get_by_label("Theme").select_option("light")
    prefs.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status").filter(has_text="Preferences saved")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(243, 245, 248)", background
    saved = UserSettings.objects.get(user=trader)
    assert (saved.theme, saved.timezone) == ("light", "Europe/Berlin")
    assert saved.quiet_hours_start.strftime("%H:%M") == "22:00"
    assert saved.quiet_hours_end.strftime("%H:%M") == "07:00"
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    no_page_errors(page)


def test_a_closed_trade_is_a_toast_and_a_notification_to_read_and_follow(
    live_server_stack, noted, page
):
    user = noted
    sign_in(page, live_server_stack.url, user.username)
    shell_ready(page)
    badge = page.locator("#notif-badge")
    expect(badge).to_have_text(str(EARLIER))

    # A trade opened and closed through the API, as a script would.
    api = httpx.Client(
        base_url=live_server_stack.url,
        headers={"Authorization": f"Token {api_token_get_or_create(user=user).key}"},
        timeout=20,
    )
    with api:
        opened = api.post(
            "/trade",
            json={"symbol": "BTCUSDT", "direction": "long", "quote_amount": "500", "leverage": 2},
        )
        assert opened.status_code == 201, opened.text
        trade_id = opened.json()["id"]
        expect(page.locator(".toast").filter(has_text="BTCUSDT long opened")).to_be_visible(
            timeout=5_000
        )
        closed = api.post(f"/trades/{trade_id}/close", json={})
        assert closed.status_code == 200, closed.text
    toast = page.locator(".toast").filter(has_text="BTCUSDT long closed")
    expect(toast).to_be_visible(timeout=5_000)
    expect(toast).to_have_attribute("data-kind", "info")
    expect(toast).to_contain_text("Realized PnL")
    expect(badge).to_have_text(str(EARLIER + 2))
    assert Trade.objects.get(account__user=user, status="closed")
    note = Notification.objects.get(user=user, kind="trade_closed")
    assert note.read_at is None and note.data["trade_id"] == trade_id

    # The panel lists the newest 20, the closed trade first; "Load more" brings the rest.
    page.get_by_role("button", name=re.compile(r"^Notifications")).click()
    panel = page.get_by_role("dialog", name="Notifications")
    expect(panel).to_be_visible()
    items = panel.locator("li.notif")
    expect(items).to_have_count(20)
    first = items.first
    expect(first).to_have_attribute("data-id", str(note.pk))
    expect(first.locator(".notif-title")).to_have_text("BTCUSDT long closed")
    expect(first).to_have_attribute("data-read", "false")
    panel.get_by_role("button", name="Load more").click()
    expect(items).to_have_count(EARLIER + 2)
    expect(panel.get_by_role("button", name="Load more")).to_be_hidden()

    # Mark it read: the badge goes down, the database agrees; then unread again.
    first.get_by_role("button", name="Mark read: BTCUSDT long closed").click()
    expect(first).to_have_attribute("data-read", "true")
    expect(badge).to_have_text(str(EARLIER + 1))
    note.refresh_from_db()
    assert note.read_at is not None
    first.get_by_role("button", name="Mark unread: BTCUSDT long closed").click()
    expect(badge).to_have_text(str(EARLIER + 2))

    # Delete the oldest one; "Unread only" and "Mark all read".
    oldest = Notification.objects.get(user=user, title="Earlier note 0")
    panel.locator(f'li[data-id="{oldest.pk}"]').get_by_role("button", name="Delete").click()
    expect(panel.locator(f'li[data-id="{oldest.pk}"]')).to_have_count(0)
    expect(badge).to_have_text(str(EARLIER + 1))
    assert not Notification.objects.filter(pk=oldest.pk).exists()
    panel.get_by_role("button", name="Mark all read").click()
    expect(badge).to_be_hidden()
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    panel.get_by_label("Unread only").check()
    expect(items).to_have_count(0)
    expect(panel.get_by_role("status")).to_have_text("No unread notifications.")
    panel.get_by_label("Unread only").uncheck()
    expect(items).to_have_count(20)

    # Its link opens the Open Trade tab and closes the panel.
    first.get_by_role("link", name="Open").click()
    expect(page.get_by_role("tab", name="Open Trade")).to_have_attribute("aria-selected", "true")
    expect(panel).to_be_hidden()
    no_page_errors(page)
