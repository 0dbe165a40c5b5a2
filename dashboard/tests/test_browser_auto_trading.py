"""The Auto-trading tab in a real browser (Debian chromium via playwright) against the real
serving layout, on the test database and Redis. The bot's step runs in the test process on
crafted stored candles (as the beat task would in the worker), and the tab shows it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cryptobot.testing.factories import UserFactory
from dashboard.tests.test_browser import sign_in
from trading.models import AutoTradingConfig, Trade
from trading.services.auto_trading import auto_trading_step
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.services.prices import prices_poll
from trading.tests.test_auto_trading import BUY_BAR, CLOSES, after_close, store_candles

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def trader(transactional_db):
    """A committed user: the server processes read it through their own connections."""
    symbols_seed()
    watched_symbols_changed()
    return UserFactory()


@pytest.fixture
def priced(trader):
    """One poll's prices in the shared cache; the replay clock practically stands still."""
    replay_clock_ensure(speed=1e-9)
    current_exchange.cache_clear()
    prices_poll()
    yield
    current_exchange.cache_clear()


def open_auto_tab(page: Page, base_url: str, username: str) -> None:
    sign_in(page, base_url, username)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    page.get_by_role("tab", name="Auto-trading").click()
    expect(page.locator("#auto-config-form")).to_be_visible()
    expect(page.locator("#auto-state")).to_have_text("Stopped")


def test_auto_trading_tab_configures_starts_shows_the_bots_trade_and_stops(
    live_server_stack, priced, trader, page
):
    open_auto_tab(page, live_server_stack.url, trader.username)
    form = page.locator("#auto-config-form")

    # The parameter fields come from the strategy's schema; a bad value is named under
    # its field and nothing is saved.
    form.get_by_label("Strategy").select_option("sma_cross")
    form.get_by_label("Timeframe").select_option("1m")
    form.locator('input[name="symbols"][value="BTCUSDT"]').check()
    form.get_by_label("fast").fill("60")
    form.get_by_label("slow").fill("50")
    form.get_by_role("button", name="Save settings").click()
    error = form.locator('[data-error-for="strategy_params.fast"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("must be less than slow")
    assert AutoTradingConfig.objects.get(user=trader).symbols == []

    form.get_by_label("fast").fill("1")
    form.get_by_label("slow").fill("2")
    form.get_by_label("Position size").select_option("quote")
    expect(page.locator("#auto-size-unit")).to_have_text("USDT")
    form.get_by_label("Size", exact=True).fill("300")
    form.get_by_label("Leverage").fill("2")
    form.get_by_role("button", name="Save settings").click()
    expect(
        page.get_by_role("status").filter(has_text="Auto-trading settings saved")
    ).to_be_visible()
    expect(error).to_be_hidden()
    config = AutoTradingConfig.objects.get(user=trader)
    assert config.symbols == ["BTCUSDT"] and config.strategy_params == {"fast": 1, "slow": 2}

    page.get_by_role("button", name="Start").click()
    expect(page.locator("#auto-state")).to_have_text("Running")
    expect(page.locator("#auto-status-status")).to_have_text("sma_cross on BTCUSDT · 1m candles")

    # A closed candle with a buy signal: the bot opens a long, and the tab shows it.
    store_candles("BTCUSDT", CLOSES[: BUY_BAR + 2])
    outcome = auto_trading_step(user_id=trader.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    assert outcome.action == "open"
    trade = Trade.objects.get(number=outcome.trade_number, account__user=trader)
    run_row = page.locator("#auto-run-rows tr").first
    expect(run_row).to_contain_text("Buy", timeout=10_000)
    expect(run_row).to_contain_text("Opened")
    expect(run_row).to_contain_text(f"#{trade.number}")
    trade_row = page.locator("#auto-trade-rows tr").first
    expect(trade_row).to_contain_text(f"#{trade.number}")
    expect(trade_row).to_contain_text("Long")
    expect(trade_row).to_have_attribute("data-source", "auto")
    expect(page.locator('#auto-summary [data-field="open"]')).to_have_text("1")
    expect(page.locator("#auto-symbol-rows tr").first).to_contain_text(
        re.compile(r"BTCUSDT.*Buy.*Opened")
    )

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#auto-state")).to_have_text("Stopped")
    assert AutoTradingConfig.objects.get(user=trader).enabled is False
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log
