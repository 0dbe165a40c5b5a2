"""The Hybrid Learning tab in a real browser (Debian chromium via playwright) against the
real serving layout (nginx → gunicorn + daphne).

A real batch model (a small logistic regression) is trained once per module on the
last 1,500 shipped BTCUSDT hours and recorded as the shared default; 700 earlier real hours
it never saw, re-timed to end at the market's now, are stored in three steps, each followed
by a real online learning step and a performance snapshot (as beat does), so the online
model, the scored candles, the weights and three snapshots per model are real. Data is set
up in fixtures that run before the browser starts (see conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from cryptobot.testing.factories import UserFactory
from cryptobot.testing.fixtures import live_env
from dashboard.tests.test_browser import sign_in
from ml.models import DataCollection, HybridScore, OnlineModel, PerformanceSnapshot
from ml.services.hybrid import (
    collection_start,
    current_weights,
    hybrid_predict,
    hybrid_settings,
    online_learn,
    performance_snapshot,
)
from ml.tests.conftest import SMALL, record_version, replay_frame, store_candles
from ml.training import TrainingResult, train
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.strategies.frames import shipped_candles

pytestmark = [pytest.mark.browser, pytest.mark.live]

SYMBOL, TIMEFRAME = "BTCUSDT", "1h"
STORED = 700  # real hours stored: the features' warm-up (~400) and ~250 scored candles
STEPS = (620, 660, STORED)  # candles stored before each learning step and snapshot
MODELS = ("batch", "online", "hybrid")


def fixed(value: float, digits: int) -> str:
    """JavaScript's Number.prototype.toFixed: the exact binary value, halves away from 0."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def pct(value: float) -> str:
    return f"{fixed(value * 100, 1)} %"


def signed_pct(value: float) -> str:
    return f"{'+' if value > 0 else ''}{fixed(value, 2)} %"


def minutes(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def hours():
    return shipped_candles(SYMBOL, TIMEFRAME)


@pytest.fixture(scope="module")
def trained(hours) -> TrainingResult:
    """A real logistic regression on the last 1,500 shipped hours (a pure object)."""
    config = replace(SMALL, algorithm="logistic_regression", params={})
    return train(hours.iloc[-1500:], config, symbol=SYMBOL)


@pytest.fixture
def staff(transactional_db, settings):
    """Committed markets, the replay clock at real speed and a staff user (the hybrid's
    configuration is staff-only). Artifacts go where the server processes read them."""
    settings.ML_ARTIFACT_DIR = Path(live_env()["VAR_DIR"]) / "models"
    symbols_seed()
    watched_symbols_changed()
    replay_clock_ensure(speed=1.0)
    current_exchange.cache_clear()
    yield UserFactory(is_staff=True)
    current_exchange.cache_clear()


@dataclass
class HybridWorld:
    user: object
    version: object
    snapshots: dict[str, list[PerformanceSnapshot]]


@pytest.fixture
def hybrid_world(staff, trained, hours) -> HybridWorld:
    """The shared batch model, BTCUSDT collected and learned in three steps, each followed
    by a snapshot; the snapshots are spread an hour apart so the history has a time axis."""
    version = record_version(trained)
    frame = replay_frame(hours.iloc[:-1600], STORED)  # hours the batch model never saw
    collection_start(symbol=SYMBOL, timeframe=TIMEFRAME)
    start = 0
    for end in STEPS:
        store_candles(frame.iloc[start:end])
        start = end
        assert online_learn(symbol=SYMBOL, timeframe=TIMEFRAME)["status"] == "learned"
        assert performance_snapshot() == len(MODELS)
    now = timezone.now()
    for i, pk in enumerate(PerformanceSnapshot.objects.order_by("pk").values_list("pk", flat=True)):
        step = i // len(MODELS)  # each step made one row per model
        PerformanceSnapshot.objects.filter(pk=pk).update(
            taken_at=now - timedelta(hours=len(STEPS) - 1 - step)
        )
    snapshots = {
        model: list(PerformanceSnapshot.objects.filter(model=model).order_by("taken_at"))
        for model in MODELS
    }
    return HybridWorld(user=staff, version=version, snapshots=snapshots)


def open_hybrid(page: Page, base_url: str, username: str) -> None:
    sign_in(page, base_url, username)
    # The shell's modules have run once the sidebar's model selector answered.
    expect(page.locator("#model-select")).not_to_contain_text("Loading", timeout=15_000)
    page.locator("#symbol-select").select_option(SYMBOL)
    tab = page.get_by_role("tab", name="Hybrid Learning")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#hy-market")).to_have_text(f"{SYMBOL} {TIMEFRAME}")


def chart_series(page: Page, chart: str) -> dict[str, list[float]]:
    return page.evaluate(
        """(id) => Object.fromEntries(document.getElementById(id).data
                 .map((t) => [t.name, Array.from(t.y)]))""",
        chart,
    )


def no_page_errors(page: Page) -> None:
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def test_status_prediction_online_figures_collection_and_history_come_from_the_learning(
    live_server_stack, hybrid_world, page
):
    model = OnlineModel.objects.get(symbol=SYMBOL)
    weights = current_weights(SYMBOL, TIMEFRAME)
    assert model.samples_seen > 150 and weights["samples"] > 100, (model.samples_seen, weights)
    open_hybrid(page, live_server_stack.url, hybrid_world.user.username)

    # Both models, the weights and the scores they come from.
    batch = page.locator("#hy-batch")
    expect(batch.locator('[data-field="health"]')).to_have_attribute("data-health", "ready")
    version = hybrid_world.version
    expect(batch.locator('[data-field="version"]')).to_contain_text(
        f"v{version.version} · logistic_regression (#{version.pk})"
    )
    online = page.locator("#hy-online")
    expect(online.locator('[data-field="health"]')).to_have_text("Learning")
    expect(online.locator('[data-field="samples"]')).to_have_text(f"{model.samples_seen:,}")
    expect(page.locator('[data-field="batch-weight"]')).to_have_text(pct(weights["batch"]))
    expect(page.locator('[data-field="online-weight"]')).to_have_text(pct(weights["online"]))
    basis = page.locator("#hy-weights-basis")
    expect(basis).to_contain_text(f"by log loss over the last {weights['samples']} candles")
    expect(basis).to_contain_text(
        f"batch {fixed(weights['batch_metric'], 4)}, online {fixed(weights['online_metric'], 4)}"
    )
    newest = HybridScore.objects.order_by("-as_of").first().as_of
    expect(page.locator('[data-field="last-update"]')).to_have_text(f"{minutes(newest)} UTC")
    expect(page.locator('[data-field="retrain"]')).to_contain_text("On:")

    # The blend of both components, as the service computes it.
    box = page.locator("#hy-prediction")
    expect(box).to_be_visible(timeout=30_000)
    blended = hybrid_predict(user=hybrid_world.user, symbol=SYMBOL, timeframe=TIMEFRAME)
    expect(box.locator('[data-field="direction"]')).to_have_text(blended["direction"].upper())
    probabilities = {
        "hybrid": blended["probability"]["up"],
        "batch": blended["components"]["batch"]["p_up"],
        "online": blended["components"]["online"]["p_up"],
    }
    for name, p in probabilities.items():
        row = page.locator(f'#hy-prob-list [data-model="{name}"] [data-field="p"]')
        expect(row).to_have_text(pct(p))
    expect(page.locator("#hy-predict-notes li")).to_have_count(0)

    # The online model's own figures.
    stats = model.stats

    def stat(key: str):
        return page.locator(f'#hy-online-stats [data-stat="{key}"] dd')

    expect(stat("samples_seen")).to_have_text(f"{model.samples_seen:,}")
    expect(stat("pending_labels")).to_have_text(f"{stats['pending_labels']:,}")
    expect(stat("rolling_accuracy")).to_have_text(pct(stats["rolling_accuracy"]))
    expect(stat("rolling_log_loss")).to_have_text(fixed(stats["rolling_log_loss"], 4))
    expect(stat("accuracy")).to_have_text(pct(stats["accuracy"]))
    expect(stat("last_learned_candle")).to_have_text(minutes(model.last_candle))
    expect(stat("drift_detections")).to_have_text(f"{model.drift_detections:,}")

    # Data collection: every stored candle, no gap, the scored ones labelled.
    row = page.locator(f'#hy-collect-rows tr[data-symbol="{SYMBOL}"]')
    expect(row.locator(".hy-collect-state")).to_have_text("Active")
    expect(row.locator('[data-cell="candles"]')).to_have_text(f"{STORED:,}")
    expect(row.locator('[data-cell="gaps"]')).to_have_text("0")
    labelled = HybridScore.objects.filter(label__isnull=False).count()
    expect(row.locator('[data-cell="labelled_rows"]')).to_have_text(f"{labelled:,}")
    expect(page.locator("#hy-collect-own")).to_be_hidden()

    # The history: one line per model, each point a snapshot.
    snaps = hybrid_world.snapshots
    expect(page.locator("#hy-metric-chart .main-svg").first).to_be_visible()
    drawn = chart_series(page, "hy-metric-chart")
    assert list(drawn) == ["Batch", "Online", "Hybrid"]
    for name in MODELS:
        expected = [s.log_loss for s in snaps[name]]
        assert drawn[name.capitalize()] == pytest.approx(expected), name
    pnl = chart_series(page, "hy-pnl-chart")
    for name in MODELS:
        assert pnl[name.capitalize()] == pytest.approx([s.pnl_pct for s in snaps[name]]), name
    for name in MODELS:
        latest = page.locator(f'#hy-perf-rows tr[data-model="{name}"]')
        expect(latest.locator('[data-cell="pnl_pct"]')).to_have_text(
            signed_pct(snaps[name][-1].pnl_pct)
        )
        expect(latest.locator('[data-cell="samples"]')).to_have_text(f"{snaps[name][-1].samples:,}")
    page.locator("#hy-perf-metric").select_option("accuracy")
    expect(page.locator("#hy-metric-title")).to_contain_text("Accuracy")
    drawn = chart_series(page, "hy-metric-chart")
    assert drawn["Hybrid"] == pytest.approx([s.accuracy for s in snaps["hybrid"]])

    # Pause, then resume: the state follows, here and in the database.
    page.get_by_role("button", name="Pause learning").click()
    expect(page.locator("#hy-online-state")).to_have_text("Paused")
    expect(online.locator('[data-field="health"]')).to_have_text("Paused")
    expect(page.locator("#hy-control-status")).to_contain_text(f"paused for {SYMBOL} 1h")
    assert OnlineModel.objects.get(symbol=SYMBOL).paused is True
    expect(page.get_by_role("button", name="Pause learning")).to_be_disabled()
    page.get_by_role("button", name="Resume learning").click()
    expect(page.locator("#hy-online-state")).to_have_text("Running")
    expect(online.locator('[data-field="health"]')).to_have_text("Learning")
    expect(page.locator("#hy-control-status")).to_contain_text(f"resumed for {SYMBOL} 1h")
    assert OnlineModel.objects.get(symbol=SYMBOL).paused is False

    # Reset with another algorithm, after a confirmation that says what is lost.
    page.locator("#hy-reset-algorithm").select_option("adaptive_random_forest")
    page.get_by_role("button", name="Reset online model…").click()
    dialog = page.get_by_role("dialog", name="Reset the online model?")
    expect(dialog).to_contain_text(f"from {model.samples_seen:,} samples")
    expect(dialog).to_contain_text("Adaptive random forest")
    dialog.get_by_role("button", name="Reset it").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#hy-control-status")).to_contain_text("reset (Adaptive random forest)")
    expect(stat("samples_seen")).to_have_text("0")
    reset = OnlineModel.objects.get(symbol=SYMBOL)
    assert (reset.algorithm, reset.samples_seen) == ("adaptive_random_forest", 0)

    # Another symbol: nothing learned yet, one click starts collecting it.
    page.locator("#symbol-select").select_option("ETHUSDT")
    expect(page.locator("#hy-online-status")).to_contain_text("ETHUSDT 1h has no online model")
    expect(page.locator("#hy-predict-status")).to_contain_text(
        "No blended prediction for ETHUSDT 1h yet"
    )
    expect(page.locator("#hy-perf-status")).to_contain_text("No performance snapshot of ETHUSDT")
    start = page.get_by_role("button", name="Start collecting ETHUSDT 1h")
    start.click()
    eth = page.locator('#hy-collect-rows tr[data-symbol="ETHUSDT"]')
    expect(eth.locator(".hy-collect-state")).to_have_text("Active")
    expect(start).to_be_hidden()
    expect(page.locator("#hy-online-state")).to_have_text("Running")
    assert DataCollection.objects.get(symbol="ETHUSDT").active
    no_page_errors(page)


def test_configuration_saves_persists_across_a_reload_and_refuses_bad_values_and_non_staff(
    live_server_stack, staff, page
):
    open_hybrid(page, live_server_stack.url, staff.username)
    form = page.locator("#hy-config-form")
    expect(form).to_be_visible()
    expect(page.locator("#hy-mode")).to_have_value("adaptive")
    expect(page.locator("#hy-window")).to_have_value("200")
    # Nothing learned yet: the empty states say so.
    expect(page.locator("#hy-perf-status")).to_contain_text("No performance snapshot")
    expect(page.locator("#hy-perf-charts")).to_be_hidden()
    expect(page.locator('#hy-online [data-field="health"]')).to_have_text("No model")

    page.locator("#hy-mode").select_option("fixed")
    page.locator("#hy-window").fill("150")
    page.locator("#hy-threshold").fill("0.6")
    page.locator("#hy-retrain").uncheck()
    page.get_by_role("button", name="Save configuration").click()
    status = page.locator("#hy-config-status")
    expect(status).to_have_text(
        "Saved: mode fixed, window 150, threshold 0.6, retrain on drift off."
    )
    row = hybrid_settings()  # the row the server reads and writes
    assert row.retrain_on_drift is False
    assert row.updated_by_id == staff.pk
    saved = dict(row.config)
    assert (saved["mode"], saved["window"], saved["threshold"]) == ("fixed", 150, 0.6)
    # The status follows: fixed weights from the configuration.
    expect(page.locator("#hy-weights-basis")).to_have_text("Fixed weights, from the configuration.")
    expect(page.locator('[data-field="retrain"]')).to_contain_text("Off:")

    page.reload()
    expect(page.get_by_role("tab", name="Hybrid Learning")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(form).to_be_visible()
    expect(page.locator("#hy-mode")).to_have_value("fixed")
    expect(page.locator("#hy-window")).to_have_value("150")
    expect(page.locator("#hy-threshold")).to_have_value("0.6")
    expect(page.locator("#hy-retrain")).not_to_be_checked()

    # A bad value is named under its field, and nothing is saved.
    error = page.locator("#hy-config-error")
    page.locator("#hy-min-weight").fill("0.9")
    page.get_by_role("button", name="Save configuration").click()
    min_weight = page.locator('[data-error-for="min_weight"]')
    expect(min_weight).to_be_visible()
    expect(min_weight).to_contain_text("must be a number from 0 to 0.5, got 0.9")
    expect(page.locator("#hy-min-weight")).to_have_attribute("aria-invalid", "true")
    expect(error).to_contain_text("Nothing was changed")
    assert hybrid_settings().config == saved

    page.locator("#hy-min-weight").fill("0.1")
    page.locator("#hy-window").fill("-5")
    page.get_by_role("button", name="Save configuration").click()
    window = page.locator('[data-error-for="window"]')
    expect(window).to_contain_text("must be a whole number from 10 to 100000, got -5")
    expect(min_weight).to_be_hidden()
    assert hybrid_settings().config == saved

    # Staff status taken away meanwhile: the 403 is said in words; nothing is saved.
    get_user_model().objects.filter(pk=staff.pk).update(is_staff=False)
    page.locator("#hy-window").fill("300")
    page.get_by_role("button", name="Save configuration").click()
    expect(error).to_contain_text("only staff can change the hybrid configuration")
    expect(window).to_be_hidden()
    assert hybrid_settings().config == saved
    no_page_errors(page)
