"""The ML Prediction and Model Analytics tabs and the sidebar's model selector in a real
browser (Debian chromium via playwright) against the real serving layout (nginx →
gunicorn + daphne); the retraining runs on a real Celery worker (`live_worker`).

Two real models are trained once per module (a logistic regression and a small gradient
boosting, ~15 s together) and recorded as shared versions v1 and v2 (v2 the default) in
the directory the server processes read artifacts from. Data is set up in fixtures that
run before the browser starts (see conftest.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from cryptobot.testing.factories import UserFactory
from cryptobot.testing.fixtures import live_env
from dashboard.tests.test_browser import sign_in
from ml.models import ActiveModel, ModelEvent, ModelVersion, Prediction
from ml.services.events import model_event_log
from ml.services.predictions import closed_candles, predictions_score
from ml.services.registry import bundle_of
from ml.tests.conftest import SMALL, csv_bytes, record_version
from ml.training import TrainingResult, train
from trading.models import Symbol
from trading.services.candles import candles_backfill
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed
from trading.strategies.frames import candles_time_ms, shipped_candles

pytestmark = [pytest.mark.browser, pytest.mark.live]

STORED_CANDLES = 480  # the features' warm-up (~400) plus a margin for /ml/predict
SCORED = 72  # live predictions of the default version, scored before the test starts

# Every state and percentage the upload's progress box shows, from the first paint on.
RECORD_UPLOAD_PROGRESS = """
window.__uploadSeen = [];
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("ml-upload-progress-box");
  if (!box) return;
  const push = () => {
    const state = document.getElementById("ml-upload-state").dataset.state;
    const pct = Number(document.getElementById("ml-upload-progress").value);
    const last = window.__uploadSeen.at(-1);
    if (state && (!last || last.state !== state || last.pct !== pct)) {
      window.__uploadSeen.push({ state, pct });
    }
  };
  new MutationObserver(push).observe(box, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
});
"""


@pytest.fixture(scope="module")
def hours():
    return shipped_candles("BTCUSDT", "1h")


@pytest.fixture(scope="module")
def trained(hours) -> tuple[TrainingResult, TrainingResult]:
    """Two real models on the last 1,500 shipped BTCUSDT hours: v1 logistic regression,
    v2 gradient boosting (the shared default). Pure objects: no database."""
    tail = hours.iloc[-1500:]
    linear = train(
        tail, replace(SMALL, algorithm="logistic_regression", params={}), symbol="BTCUSDT"
    )
    boosted = train(tail, SMALL, symbol="BTCUSDT")
    return linear, boosted


@dataclass
class MlWorld:
    user: object
    v1: ModelVersion
    v2: ModelVersion


def _score_past_predictions(version: ModelVersion) -> int:
    """Store the version's real predictions for SCORED past closed candles (as beat does
    once per candle) and score them with the real labelling rule."""
    candles = closed_candles(version.symbol, version.timeframe, STORED_CANDLES)
    proba = bundle_of(version).predict_proba(candles)
    times = candles_time_ms(candles)
    end = len(candles) - version.horizon - 2  # their labels are known
    rows = []
    for at in range(end - SCORED, end):
        p = proba.iloc[at]
        rows.append(
            Prediction(
                version=version,
                symbol=version.symbol,
                timeframe=version.timeframe,
                as_of=datetime.fromtimestamp(int(times[at]) / 1000, UTC),
                direction=version.classes[int(np.argmax(p.to_numpy()))],
                probability={name: float(p[name]) for name in version.classes},
            )
        )
    Prediction.objects.bulk_create(rows)
    return predictions_score()


@pytest.fixture
def ml_world(transactional_db, settings, trained) -> MlWorld:
    """Committed markets, a user, 480 stored BTCUSDT 1h candles up to the market's now,
    versions v1 and v2 (v2 the shared default, with scored live predictions) and one model
    error event. The artifacts go where the server processes look for them."""
    var = Path(live_env()["VAR_DIR"])
    settings.ML_ARTIFACT_DIR = var / "models"
    settings.ML_UPLOAD_DIR = var / "uploads"
    symbols_seed()
    watched_symbols_changed()
    replay_clock_ensure(speed=1.0)
    current_exchange.cache_clear()
    candles_backfill(
        symbol=Symbol.objects.get(symbol="BTCUSDT"), timeframes=["1h"], count=STORED_CANDLES
    )
    linear, boosted = trained
    v1 = record_version(linear)
    v2 = record_version(boosted)
    assert _score_past_predictions(v2) == SCORED
    model_event_log(
        level=ModelEvent.Level.ERROR,
        message="Training 999 (BTCUSDT 1h) failed: every label fell inside the threshold",
    )
    yield MlWorld(user=UserFactory(), v1=v1, v2=v2)
    current_exchange.cache_clear()


def open_tab(page: Page, base_url: str, username: str, title: str) -> None:
    sign_in(page, base_url, username)
    # The sidebar's model selector is filled from the API once the page's modules ran (the
    # symbol selector answers from then on); BTCUSDT has two models.
    selector = page.locator("#model-select")
    expect(selector).not_to_contain_text("Loading", timeout=15_000)
    page.locator("#symbol-select").select_option("BTCUSDT")
    expect(selector).to_be_enabled(timeout=15_000)
    tab = page.get_by_role("tab", name=title)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def no_page_errors(page: Page) -> None:
    assert not [line for line in page.console_log if "pageerror" in line], page.console_log


def utc_minutes(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def test_batch_prediction_of_an_uploaded_csv_shows_the_rows_and_saves_them_as_csv(
    live_server_stack, ml_world, page, tmp_path, hours
):
    good = tmp_path / "btc-300.csv"
    good.write_bytes(csv_bytes(hours.iloc[-300:]))
    lines = good.read_text().splitlines()
    cells = lines[6].split(",")  # file line 7 (the header is line 1)
    cells[lines[0].split(",").index("close")] = "abc"
    lines[6] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")

    open_tab(page, live_server_stack.url, ml_world.user.username, "ML Prediction")
    expect(page.locator("#ml-version-rows tr")).to_have_count(2)

    # A refused file says what is wrong and where; no table appears.
    page.locator("#ml-batch-file").set_input_files(str(bad))
    page.get_by_role("button", name="Predict").click()
    error = page.locator("#ml-batch-error")
    expect(error).to_contain_text("refused")
    expect(error).to_contain_text("line 7")
    expect(error).to_contain_text("close")
    expect(page.locator("#ml-batch-table")).to_be_hidden()

    page.locator("#ml-batch-file").set_input_files(str(good))
    page.get_by_role("button", name="Predict").click()
    status = page.locator("#ml-batch-status")
    expect(status).to_contain_text("300 rows", timeout=30_000)
    expect(error).to_be_hidden()
    expect(status).to_contain_text(f"BTCUSDT 1h v{ml_world.v2.version}")
    predicted = int(status.get_attribute("data-predicted"))
    assert 200 < predicted < 300, predicted  # all but the features' warm-up
    expect(status).to_contain_text(f"{predicted} with a prediction")
    rows = page.locator("#ml-batch-rows tr")
    expect(rows).to_have_count(100)
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) <= {"up", "down"}
    expect(page.locator("#ml-batch-head th")).to_have_text(
        ["Open time (UTC)", "Close", "Direction", "P(down)", "P(up)"]
    )

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == "predictions-btc-300.csv"
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert list(table[0]) == ["open_time", "close", "direction", "p_down", "p_up"]
    assert len(table) == 300
    assert sum(1 for r in table if r["direction"]) == predicted
    newest = table[-1]
    first = rows.first.locator("td")
    expect(first.nth(0)).to_have_text(utc_minutes(int(newest["open_time"])))
    expect(first.nth(2)).to_have_text(newest["direction"])
    expect(first.nth(4)).to_have_text(f"{float(newest['p_up']) * 100:.1f} %")
    no_page_errors(page)


@pytest.mark.timeout(300)
def test_upload_and_retrain_shows_progress_until_done_and_lists_the_new_version(
    live_server_stack, live_worker, ml_world, page, tmp_path, hours
):
    # Enough rows and folds that training lasts a few seconds on a quiet machine, so the
    # page's once-a-second poll sees it in the "training" state on its way to done.
    upload = tmp_path / "btc-30000.csv"
    upload.write_bytes(csv_bytes(hours.iloc[-30_000:]))
    page.add_init_script(RECORD_UPLOAD_PROGRESS)
    open_tab(page, live_server_stack.url, ml_world.user.username, "ML Prediction")
    expect(page.locator("#ml-version-rows tr")).to_have_count(2)

    page.locator("#ml-upload-file").set_input_files(str(upload))
    page.get_by_label("Walk-forward folds", exact=True).fill("5")
    page.get_by_role("button", name="Upload and retrain").click()
    state = page.locator("#ml-upload-state")
    try:
        expect(state).to_have_attribute("data-state", "done", timeout=240_000)
    except AssertionError as exc:
        raise AssertionError(f"{state.inner_text()}; workers' log:\n{live_worker.log()}") from exc

    seen = page.evaluate("window.__uploadSeen")
    states = [s["state"] for s in seen]
    assert "training" in states, seen
    assert states[-1] == "done" and seen[-1]["pct"] == 100, seen
    percents = [s["pct"] for s in seen]
    assert percents == sorted(percents), seen  # the bar only moves forward
    assert any(0 < p < 100 for p in percents), seen  # and was seen on its way
    expect(page.locator("#ml-upload-pct")).to_have_text("100 %")

    version = ModelVersion.objects.get(owner=ml_world.user, source="upload")
    assert version.rows == 30_000 and len(version.metrics["confusion_matrix"]) == 2
    expect(page.locator("#ml-upload-status")).to_contain_text(
        f"new version BTCUSDT 1h v{version.version} (#{version.pk})"
    )
    row = page.locator(f'#ml-version-rows tr[data-version-id="{version.pk}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Private")
    expect(row).to_contain_text("BTCUSDT 1h")
    expect(page.locator("#ml-version-rows tr")).to_have_count(3)
    # The sidebar's selector lists it too (the upload announced the new version).
    expect(page.locator(f'#model-select option[value="{version.pk}"]')).to_have_count(1)
    no_page_errors(page)


def test_analytics_tab_shows_metrics_beside_baselines_importance_and_live_scores(
    live_server_stack, ml_world, page
):
    v1, v2 = ml_world.v1, ml_world.v2
    open_tab(page, live_server_stack.url, ml_world.user.username, "Model Analytics")

    metrics = page.locator("#ma-metric-rows tr")
    expect(metrics).to_have_count(9)
    for key in ("balanced_accuracy", "accuracy", "log_loss"):
        row = page.locator(f'#ma-metric-rows tr[data-metric="{key}"]')
        expect(row.locator('[data-col="model"]')).to_have_text(f"{v2.metrics[key]:.3f}")
        majority = f"{v2.baselines['majority'][key]:.3f}"
        expect(row.locator('[data-col="majority"]')).to_have_text(majority)
        persistence = f"{v2.baselines['persistence'][key]:.3f}"
        expect(row.locator('[data-col="persistence"]')).to_have_text(persistence)
    cells = page.locator("#ma-confusion td")
    expect(cells).to_have_count(4)
    counts = [int(text.split()[0]) for text in cells.all_inner_texts()]
    assert counts == [n for row in v2.metrics["confusion_matrix"] for n in row]

    chart = page.locator("#ma-importance-chart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    bars = page.evaluate(
        """() => document.getElementById("ma-importance-chart")._fullData
                 .map((t) => ({type: t.type, y: t.y}))"""
    )
    assert bars[0]["type"] == "bar" and len(bars[0]["y"]) == len(v2.feature_importance)
    assert bars[0]["y"][-1] == v2.feature_importance[0]["feature"]  # largest at the top

    # Live: the scored predictions of the default, per day, and the versions compared
    # (a move inside the threshold has no label, so fewer than SCORED count).
    scored = Prediction.objects.filter(version=v2, correct__isnull=False)
    assert 0 < scored.count() <= SCORED
    expect(page.locator("#ma-live-meta")).to_contain_text(f"{scored.count()} scored")
    expect(page.locator("#ma-accuracy-chart .main-svg").first).to_be_visible()
    days = {p.as_of.date() for p in scored}
    accuracy = page.evaluate(
        """() => document.getElementById("ma-accuracy-chart")._fullData
                 .find((t) => t.name === "Live accuracy").x.length"""
    )
    assert accuracy == len(days)
    expect(page.locator("#ma-calibration-chart .main-svg").first).to_be_visible()
    expect(page.locator("#ma-live-confusion td")).to_have_count(4)
    compare = page.locator("#ma-compare-rows tr")
    expect(compare).to_have_count(2)
    expect(page.locator(f'#ma-compare-rows tr[data-version-id="{v2.pk}"]')).to_contain_text(
        "Active"
    )

    # Events with their levels; the error is in both lists.
    expect(page.locator('#ma-logs li[data-level="info"]').first).to_be_visible()
    failure = page.locator("#ma-errors li", has_text="Training 999")
    expect(failure).to_have_attribute("data-level", "error")
    expect(failure.locator(".badge")).to_have_text("error")
    page.locator("#ma-log-level").select_option("error")
    expect(page.locator("#ma-logs li")).to_have_count(1)

    # Another version's scores are one choice away.
    page.locator("#ma-version").select_option(str(v1.pk))
    row = page.locator('#ma-metric-rows tr[data-metric="balanced_accuracy"]')
    expect(row.locator('[data-col="model"]')).to_have_text(f"{v1.metrics['balanced_accuracy']:.3f}")
    expect(page.locator("#ma-version-meta")).to_contain_text("logistic_regression")
    no_page_errors(page)


def test_model_selector_activates_another_version_and_the_active_box_shows_it(
    live_server_stack, ml_world, page
):
    v1, v2, user = ml_world.v1, ml_world.v2, ml_world.user
    open_tab(page, live_server_stack.url, user.username, "ML Prediction")
    selector = page.locator("#model-select")
    expect(selector).to_have_value(str(v2.pk))
    expect(selector.locator("option")).to_have_count(2)

    active = page.locator("#ml-active")
    expect(active).to_have_attribute("data-version-id", str(v2.pk))
    expect(active.locator('[data-field="scope"]')).to_contain_text("shared default")
    prediction = page.locator("#ml-prediction")
    expect(prediction).to_have_attribute("data-version-id", str(v2.pk), timeout=30_000)
    stored = Prediction.objects.filter(version=v2).order_by("-as_of").first()
    expect(prediction.locator('[data-field="direction"]')).to_have_text(stored.direction.upper())
    expect(page.locator("#ml-prob-list .prob-row")).to_have_count(2)
    up = page.locator('#ml-prob-list .prob-row[data-class="up"] .prob-pct')
    expect(up).to_have_text(f"{stored.probability['up'] * 100:.1f} %")

    selector.select_option(str(v1.pk))
    expect(page.locator("#model-select-status")).to_contain_text("now active for you")
    expect(active).to_have_attribute("data-version-id", str(v1.pk))
    expect(active.locator('[data-field="algorithm"]')).to_have_text("logistic_regression")
    expect(active.locator('[data-field="scope"]')).to_contain_text("your choice")
    expect(prediction).to_have_attribute("data-version-id", str(v1.pk), timeout=30_000)
    expect(page.locator(f'#ml-version-rows tr[data-version-id="{v1.pk}"]')).to_have_attribute(
        "data-active", "true"
    )
    assert ActiveModel.objects.get(owner=user).version_id == v1.pk
    # Only this user's predictions changed: the shared default is still v2.
    assert ActiveModel.objects.get(owner=None).version_id == v2.pk

    # The versions table activates too and the sidebar follows; then roll back.
    page.get_by_role("button", name=f"Activate v{v2.version} (#{v2.pk})").click()
    expect(page.locator("#ml-versions-status")).to_contain_text("(scope: user)")
    expect(selector).to_have_value(str(v2.pk))
    rollback = page.get_by_role("button", name=f"Roll back to v{v1.version}")
    expect(rollback).to_be_visible()
    rollback.click()
    expect(selector).to_have_value(str(v1.pk))
    expect(active).to_have_attribute("data-version-id", str(v1.pk))
    assert ActiveModel.objects.get(owner=user).version_id == v1.pk

    # A symbol without a model says so in the sidebar, the active box and the prediction.
    page.locator("#symbol-select").select_option("ETHUSDT")
    expect(selector).to_contain_text("No model for ETHUSDT")
    expect(page.locator("#ml-active-status")).to_contain_text("No model is active for ETHUSDT 1h")
    expect(page.locator("#ml-predict-status")).to_contain_text("No model is active for ETHUSDT 1h")
    expect(active).to_be_hidden()
    expect(prediction).to_be_hidden()
    no_page_errors(page)
