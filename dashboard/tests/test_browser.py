"""The dashboard in a real browser (Debian chromium via playwright) against the real serving
layout: nginx → gunicorn (pages, API) + daphne (/ws/price), on the test database.

Data is set up in fixtures that run before the browser starts (see conftest.py: while
playwright runs, this thread has an asyncio loop, so Django's sync-only helpers refuse).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cryptobot.schedule import beat_schedule_install
from cryptobot.testing.factories import PASSWORD, UserFactory
from trading.models import Symbol
from trading.selectors import symbol_list
from trading.services.candles import candles_backfill
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Records every value the connection indicator takes, from the first paint on.
RECORD_CONNECTION_STATES = """
window.__connStates = [];
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("connection");
  if (!el) return;
  const push = (s) => { if (window.__connStates.at(-1) !== s) window.__connStates.push(s); };
  push(el.dataset.state);
  new MutationObserver((records) => {
    const seen = records.map((r) => r.oldValue).slice(1);
    seen.push(el.dataset.state);
    seen.forEach(push);
  }).observe(el, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
});
"""


@pytest.fixture
def trader(transactional_db):
    """A committed user: the server processes read it through their own connections."""
    symbols_seed()
    watched_symbols_changed()
    return UserFactory()


@pytest.fixture
def market_feed(trader, live_workers):
    """Candles for BTCUSDT and a live price feed: replay at 20x, polled every second by the
    real Celery beat + worker (`live_workers`)."""
    replay_clock_ensure(speed=20.0)
    current_exchange.cache_clear()
    candles_backfill(symbol=Symbol.objects.get(symbol="BTCUSDT"), timeframes=["1h"], count=300)
    with override_settings(PRICE_POLL_SECONDS=1):
        beat_schedule_install()
    yield live_workers
    current_exchange.cache_clear()


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login?next=/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/")


def card_price(page: Page, symbol: str):
    return page.locator(f'.price-card[data-symbol="{symbol}"] [data-field="price"]')


def wait_for_price_change(
    page: Page, symbol: str, *, logs: Callable[[], str], timeout_ms: int = 30_000
) -> tuple[str, str]:
    """The card's first real price, then a different one, with no page load in between.
    On a timeout the workers' log is attached: a dead price poller is the usual cause."""
    price = card_price(page, symbol)
    try:
        expect(price).to_have_text(re.compile(r"^[\d,]+\.\d+$"), timeout=timeout_ms)
        first = price.inner_text()
        page.evaluate("window.__sameDocument = true")
        page.wait_for_function(
            """([sel, first]) => document.querySelector(sel).textContent !== first""",
            arg=[f'.price-card[data-symbol="{symbol}"] [data-field="price"]', first],
            timeout=timeout_ms,
        )
    except (AssertionError, PlaywrightTimeout) as exc:
        raise AssertionError(f"{symbol} price did not move; workers' log:\n{logs()}") from exc
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    return first, price.inner_text()


def test_sign_in_through_the_form_shows_the_shell_and_the_socket_goes_live(
    live_server_stack, trader, page
):
    page.add_init_script(RECORD_CONNECTION_STATES)
    sign_in(page, live_server_stack.url, trader.username)

    expect(page.get_by_role("tab", name="Dashboard")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#symbol-select option")).to_have_count(symbol_list().count())
    expect(page.get_by_role("link", name="Profile & API token")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()

    indicator = page.locator("#connection")
    expect(indicator).to_have_attribute("data-state", "live", timeout=20_000)
    expect(indicator).to_have_text("Live")
    states = page.evaluate("window.__connStates")
    assert states[0] == "connecting" and states[-1] == "live", states
    assert "offline" not in states, states


def test_connection_indicator_goes_offline_with_the_network_and_comes_back_live(
    live_server_stack, trader, page
):
    sign_in(page, live_server_stack.url, trader.username)
    indicator = page.locator("#connection")
    expect(indicator).to_have_attribute("data-state", "live", timeout=20_000)

    page.context.set_offline(True)
    expect(indicator).to_have_attribute("data-state", "offline")
    expect(page.get_by_role("alert").filter(has_text="Real-time connection lost")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Cannot reach the server")).to_be_visible()

    page.context.set_offline(False)
    expect(indicator).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.get_by_role("status").filter(has_text="Real-time prices are back")).to_be_visible()


def test_dashboard_tab_live_price_moves_without_reload_and_the_chart_renders(
    live_server_stack, market_feed, trader, page
):
    """Assumes the market-data routes (/price, /candles, /features/indicators), /ws/price,
    and the price poller run by a real Celery worker + beat (`live_workers`)."""
    sign_in(page, live_server_stack.url, trader.username)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    page.locator("#symbol-select").select_option("BTCUSDT")

    before, after = wait_for_price_change(page, "BTCUSDT", logs=market_feed.log)
    assert before != after

    page.locator("#chart .main-svg").first.wait_for(timeout=20_000)
    chart = page.evaluate(
        """() => {
          const el = document.getElementById("chart");
          return el._fullData.map((t) => ({type: t.type, name: t.name, n: (t.x || []).length}));
        }"""
    )
    assert chart[0]["type"] == "candlestick" and chart[0]["n"] >= 100, chart
    assert {"RSI 14", "MACD"} <= {t["name"] for t in chart}, chart
    expect(page.locator("#chart-symbol")).to_have_text("BTCUSDT")
    expect(page.locator("#ind-list dt", has_text="RSI 14")).to_be_visible()
    rsi = page.locator("#ind-list .ind-row", has_text="RSI 14").locator("dd")
    expect(rsi).to_have_text(re.compile(r"^\d+(\.\d)?$"))
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_real_time_off_polls_and_the_choice_and_symbol_survive_a_reload(
    live_server_stack, market_feed, trader, page
):
    sign_in(page, live_server_stack.url, trader.username)
    indicator = page.locator("#connection")
    expect(indicator).to_have_attribute("data-state", "live", timeout=20_000)

    page.locator("label.switch").click()
    expect(page.locator("#realtime-toggle")).not_to_be_checked()
    expect(indicator).to_have_attribute("data-state", "polling")
    expect(indicator).to_have_text("Polling every 5 s")
    wait_for_price_change(page, "ETHUSDT", logs=market_feed.log)

    page.locator("#symbol-select").select_option("ETHUSDT")
    expect(page.locator("#chart-symbol")).to_have_text("ETHUSDT")
    expect(page.locator('.price-card[data-symbol="ETHUSDT"]')).to_have_class(re.compile("selected"))

    page.reload()
    expect(page.locator("#realtime-toggle")).not_to_be_checked()
    expect(indicator).to_have_attribute("data-state", "polling")
    expect(page.locator("#symbol-select")).to_have_value("ETHUSDT")
    expect(page.locator("#chart-symbol")).to_have_text("ETHUSDT")


TIMES = "\N{MULTIPLICATION SIGN}"


def wait_for_chart_trace(page: Page, name: str) -> None:
    """The price chart gets a trace called `name` (the trade markers are drawn after the
    candles, once GET /trades?symbol= answers)."""
    try:
        page.wait_for_function(
            """(name) => (document.getElementById("chart")._fullData || [])
                 .some((t) => t.name === name)""",
            arg=name,
            timeout=10_000,
        )
    except PlaywrightTimeout as exc:
        names = page.evaluate(
            """() => (document.getElementById("chart")._fullData || []).map((t) => t.name)"""
        )
        raise AssertionError(f"no {name!r} trace on the chart: {names}") from exc


def choose(page: Page, name: str, value: str) -> None:
    """Click the visible segment of a radio-based segmented control."""
    page.locator(f'#order-form label:has(input[name="{name}"][value="{value}"])').click()
    expect(page.locator(f'#order-form input[name="{name}"][value="{value}"]')).to_be_checked()


def test_open_trade_tab_opens_a_long_after_a_passing_safety_check_and_closes_it(
    live_server_stack, market_feed, trader, page
):
    """Assumes the paper-trading routes (docs/API.md "Paper trading") on the live stack and
    prices flowing from the real worker + beat."""
    sign_in(page, live_server_stack.url, trader.username)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    page.locator("#symbol-select").select_option("BTCUSDT")
    wait_for_price_change(page, "BTCUSDT", logs=market_feed.log)

    balance = page.locator('#balance [data-field="balance"]')
    expect(balance).to_have_text("10,000.00")
    expect(page.locator('#balance [data-field="equity"]')).to_have_text("10,000.00")
    before = balance.inner_text()

    page.get_by_role("tab", name="Open Trade").click()
    expect(page.locator("#order-symbol")).to_have_value("BTCUSDT")
    choose(page, "market", "futures")
    choose(page, "size_mode", "quote_amount")
    page.locator("#order-size").fill("500")

    # Above the default leverage limit (20x) the check fails and both sides stay disabled.
    page.locator("#order-leverage").fill("50")
    failing = page.locator('#check-rows tr[data-rule="max_leverage"]')
    expect(failing).to_have_attribute("data-passed", "false")
    expect(failing.locator("td.mark")).to_have_text(["✗", "✗"])
    expect(failing).to_contain_text("above your limit")
    expect(page.locator("#check-badge")).to_have_attribute("data-state", "fail")
    expect(page.get_by_role("button", name="Buy / Long")).to_be_disabled()
    expect(page.get_by_role("button", name="Sell / Short")).to_be_disabled()

    page.locator("#order-leverage").fill("5")
    expect(page.locator("#order-leverage-range")).to_have_value("5")
    choose(page, "margin_type", "cross")
    choose(page, "order_type", "market")
    choose(page, "sl_mode", "pct")
    page.locator("#order-sl").fill("2")
    choose(page, "tp_mode", "pct")
    page.locator("#order-tp").fill("4")
    expect(page.locator("#order-size-hint")).to_contain_text(f"margin ≈ 100.00 USDT at 5{TIMES}")

    # The safety check: every rule passes for both sides, and the buttons come alive.
    expect(page.locator("#check-badge")).to_have_attribute("data-state", "pass")
    rules = page.locator("#check-rows tr")
    assert rules.count() >= 5
    assert page.locator('#check-rows tr[data-passed="false"]').count() == 0
    assert set(page.locator("#check-rows td.mark").all_inner_texts()) == {"✓"}
    shown = {r.get_attribute("data-rule") for r in rules.all()}
    assert {"max_leverage", "max_position_pct", "balance"} <= shown, shown
    long_button = page.get_by_role("button", name="Buy / Long")
    expect(long_button).to_be_enabled()

    long_button.click()
    expect(page.get_by_role("status").filter(has_text=f"Opened LONG 5{TIMES}")).to_be_visible()
    row = page.locator("#open-trades-rows tr[data-trade-id]")
    expect(row).to_have_count(1)
    trade_id = row.get_attribute("data-trade-id")
    expect(row.locator('[data-cell="symbol"]')).to_contain_text("BTCUSDT")
    expect(row.locator('[data-cell="side"]')).to_contain_text("LONG")
    expect(row.locator('[data-cell="side"]')).to_contain_text(f"5{TIMES} cross")
    expect(row.locator('[data-cell="stops"]')).to_contain_text(
        re.compile(r"SL [\d,.]+ · TP [\d,.]+")
    )
    expect(row.locator('[data-cell="price"]')).to_have_text(re.compile(r"^[\d,]+\.\d+$"))
    expect(row.locator('[data-cell="pnl"]')).to_have_text(re.compile(r"^[+-]?[\d,]+\.\d\d \("))
    expect(page.locator('#balance [data-field="unrealized_pnl"]')).not_to_have_text("—")

    page.get_by_role("tab", name="Dashboard").click()
    listed = page.locator(f'#trade-list-rows tr[data-trade-id="{trade_id}"]')
    expect(listed).to_have_attribute("data-status", "open")
    expect(listed).to_contain_text("BTCUSDT")
    expect(listed).to_contain_text("LONG")
    wait_for_chart_trace(page, "Long entry")

    page.get_by_role("tab", name="Open Trade").click()
    row.get_by_role("button", name="Close", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text=f"Closed #{trade_id} BTCUSDT LONG")
    ).to_be_visible()
    expect(page.locator("#open-trades-rows tr[data-trade-id]")).to_have_count(0)
    expect(page.locator("#open-trades-status")).to_contain_text("No open trades")

    # Fees at least were paid: the sidebar's balance moved without a reload.
    expect(balance).not_to_have_text(before)
    assert re.fullmatch(r"[\d,]+\.\d\d", balance.inner_text())
    page.get_by_role("tab", name="Dashboard").click()
    expect(listed).to_have_attribute("data-status", "closed")
    wait_for_chart_trace(page, "Exit")
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_risk_settings_show_server_errors_inline_and_the_reset_dialog_resets_the_balance(
    live_server_stack, trader, page
):
    sign_in(page, live_server_stack.url, trader.username)
    balance = page.locator('#balance [data-field="balance"]')
    expect(balance).to_have_text("10,000.00")

    page.get_by_role("tab", name="Open Trade").click()
    leverage = page.get_by_label("Max leverage")
    expect(leverage).to_have_value("20")
    save = page.get_by_role("button", name="Save risk settings")
    expect(save).to_be_disabled()
    leverage.fill("500")
    save.click()
    error = page.locator('#risk-form [data-error-for="max_leverage"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("125")
    expect(leverage).to_have_attribute("aria-invalid", "true")

    leverage.fill("10")
    page.get_by_label("Allowed symbols").fill("btcusdt, ETHUSDT")
    save.click()
    expect(page.get_by_role("status").filter(has_text="Risk settings saved")).to_be_visible()
    expect(error).to_be_hidden()
    expect(save).to_be_disabled()
    page.reload()
    page.get_by_role("tab", name="Open Trade").click()
    expect(page.get_by_label("Max leverage")).to_have_value("10")
    expect(page.get_by_label("Allowed symbols")).to_have_value("BTCUSDT, ETHUSDT")

    # Reset: Cancel changes nothing; a bad amount is explained; a good one resets.
    dialog = page.get_by_role("dialog", name="Reset the paper account?")
    page.get_by_role("button", name="Reset…").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Initial balance (USDT)")).to_have_value("10000")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Reset…").click()
    dialog.get_by_label("Initial balance (USDT)").fill("lots")
    dialog.get_by_role("button", name="Reset account").click()
    expect(dialog.locator("#reset-error")).to_contain_text("positive amount")
    dialog.get_by_label("Initial balance (USDT)").fill("5000")
    dialog.get_by_role("button", name="Reset account").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="reset to 5,000.00 USDT")).to_be_visible()
    expect(balance).to_have_text("5,000.00")
    expect(page.locator('#balance [data-field="equity"]')).to_have_text("5,000.00")
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log
