"""The Backtests tab in a real browser (Debian chromium via playwright) against the real
serving layout (nginx → gunicorn + daphne) and a real Celery worker that runs the backtests.
Data is set up in fixtures that run before the browser starts (see conftest.py).
"""

from __future__ import annotations

from itertools import islice

import pytest
from playwright.sync_api import Page, expect

from cryptobot.testing.factories import UserFactory
from dashboard.tests.test_browser import sign_in
from trading import candles as candle_math
from trading.models import Backtest, Symbol
from trading.services.candles import candles_upsert
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.strategies.frames import SHIPPED_DATA

pytestmark = [pytest.mark.browser, pytest.mark.live]

CANDLES = 400


@pytest.fixture
def trader(transactional_db):
    """A committed user and 400 shipped BTCUSDT 1h candles (the server's processes read
    them through their own connections)."""
    symbols_seed()
    watched_symbols_changed()
    path = SHIPPED_DATA / "BTCUSDT-1h.csv.gz"
    bars = islice(candle_math.read_rows(path, candle_math.sniff(path).kind), CANDLES)
    candles_upsert(symbol=Symbol.objects.get(symbol="BTCUSDT"), rows=[("1h", b) for b in bars])
    return UserFactory()


def open_backtests_tab(page: Page, base_url: str, username: str) -> None:
    sign_in(page, base_url, username)
    # The form is built from GET /backtest/strategies (so the page's modules have run and
    # the tabs answer clicks).
    expect(page.locator("#bt-param-fast")).to_have_value("10")
    tab = page.get_by_role("tab", name="Backtests")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#bt-form")).to_be_visible()
    expect(page.locator("#bt-recent-status")).to_have_text("No backtests yet.")


def test_backtest_tab_runs_a_backtest_and_shows_its_metrics_charts_and_trades(
    live_server_stack, live_worker, trader, page
):
    open_backtests_tab(page, live_server_stack.url, trader.username)
    form = page.locator("#bt-form")
    form.get_by_label("Symbol").select_option("BTCUSDT")

    # A refusal names its field: fast must stay below slow.
    page.locator("#bt-param-fast").fill("40")
    page.locator("#bt-param-slow").fill("30")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.locator("#bt-error")).to_contain_text("fast")
    expect(page.locator("#bt-params .field-error:not([hidden])")).to_have_count(1)
    assert not Backtest.objects.exists()

    page.locator("#bt-param-fast").fill("10")
    page.locator("#bt-fee").fill("0.0004")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.locator("#bt-status")).to_contain_text("done", timeout=60_000)

    run = Backtest.objects.get(user=trader)
    assert run.status == "done" and run.params["params"] == {"fast": 10, "slow": 30}
    assert run.candles == CANDLES
    trades = len(run.trades)
    assert trades > 0
    expect(page.locator('#bt-metrics [data-metric="trades"] dd')).to_have_text(str(trades))
    sharpe = f"{run.metrics['sharpe']:,.2f}"
    expect(page.locator('#bt-metrics [data-metric="sharpe"] dd')).to_have_text(sharpe)
    expect(page.locator("#bt-trade-rows tr")).to_have_count(trades)
    expect(page.locator("#bt-equity-chart .main-svg").first).to_be_visible()
    # The price chart carries the candles and one marker per entry and per exit.
    expect(page.locator("#bt-price-chart .main-svg").first).to_be_visible()
    markers = page.locator("#bt-price-chart .scatterlayer .point")
    expect(markers).to_have_count(2 * trades)
    expect(page.locator("#bt-recent-rows tr")).to_have_count(1)
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_backtest_tab_sweeps_a_grid_and_ranks_the_runs(
    live_server_stack, live_worker, trader, page
):
    open_backtests_tab(page, live_server_stack.url, trader.username)
    page.locator("#bt-form").get_by_label("Symbol").select_option("BTCUSDT")
    page.locator("#bt-grid").fill("fast=5,10 slow=20,30")
    page.locator("#bt-metric").select_option("total_return_pct")
    page.get_by_role("button", name="Run sweep").click()
    status = page.locator("#bt-sweep-status")
    expect(status).to_contain_text("4 of 4 runs finished", timeout=60_000)
    expect(status).to_contain_text("done")
    rows = page.locator("#bt-sweep-rows tr")
    expect(rows).to_have_count(4)
    expect(rows.locator("td:first-child")).to_have_text(["1", "2", "3", "4"])

    best = Backtest.objects.filter(user=trader).order_by("-id")
    returns = sorted((b.metrics["total_return_pct"] for b in best), reverse=True)
    expect(rows.first.locator("td").nth(3)).to_have_text(f"{returns[0]:,.2f} %")
    rows.first.click()  # the best run's results open above
    expect(page.locator("#bt-status")).to_contain_text("done")
    expect(page.locator('#bt-metrics [data-metric="total_return_pct"] dd')).to_have_text(
        f"{returns[0]:,.2f} %"
    )
