"""Backtests and sweeps through the HTTP API: input checks, ownership, and real runs on
real Celery workers compared with the backtester run directly on the same candles."""

from __future__ import annotations

import time
from decimal import Decimal
from itertools import islice

import pytest
from rest_framework.test import APIClient

from cryptobot.api.tokens import api_token_get_or_create
from trading import candles as candle_math
from trading.backtest.runner import BacktestConfig, run_backtest
from trading.models import Backtest, BacktestSweep, Symbol
from trading.services.backtests import backtest_create, json_safe
from trading.services.candles import candles_upsert
from trading.services.paper_account import paper_engine
from trading.strategies import strategy_get
from trading.strategies.frames import SHIPPED_DATA, candles_frame

CANDLES = 500


def _shipped_bars(count: int = CANDLES):
    path = SHIPPED_DATA / "BTCUSDT-1h.csv.gz"
    return list(islice(candle_math.read_rows(path, candle_math.sniff(path).kind), count))


@pytest.fixture
def hourly(markets):
    """The first 500 shipped BTCUSDT 1h candles, stored (1h only: no coarser timeframes)."""
    bars = _shipped_bars()
    candles_upsert(symbol=Symbol.objects.get(symbol="BTCUSDT"), rows=[("1h", b) for b in bars])
    return bars


def _body(bars, **changes) -> dict:
    body = {
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "start": bars[0].open_time_ms,
        "end": bars[-1].open_time_ms,
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 30},
        "initial_balance": "10000",
        "fee_rate": "0.0004",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"strategy": "moon_shot"}, "strategy", "Unknown strategy"),
        ({"params": {"fast": 0, "slow": 30}}, "params.fast", "between 1 and 200"),
        ({"params": {"fast": 40, "slow": 30}}, "params", "fast"),
        ({"params": {"fats": 10}}, "params.fats", "no parameter"),
        ({"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, "end", "after start"),
        (
            {"start": "2010-01-01T00:00:00Z", "end": "2010-02-01T00:00:00Z"},
            "start",
            "no candles for BTCUSDT 1h between 2010-01-01T00:00:00Z",
        ),
        ({"timeframe": "7m"}, "timeframe", "valid choice"),
        ({"timeframe": "4h"}, "timeframe", "stored timeframes: 1h"),
        ({"symbol": "DOGEBTC"}, "symbol", "Unknown symbol"),
        ({"leverage": 500}, "leverage", "125"),
        ({"initial_balance": "-5"}, "initial_balance", ""),
        ({"fee_rate": "0.5"}, "fee_rate", ""),
        ({"slippage_bps": "5000"}, "slippage_bps", ""),
        ({"position_pct": "100"}, "position_pct", ""),  # the entry fee comes on top
        ({"stop_loss_pct": "0"}, "stop_loss_pct", ""),
        ({"take_profit_pct": "5000"}, "take_profit_pct", ""),
        ({"market": "spot", "leverage": 3}, "leverage", "spot"),
    ],
)
def test_bad_backtest_input_is_400_naming_the_problem_and_creates_nothing(
    api_client, hourly, changes, field, words
):
    response = api_client.post("/backtest/run", _body(hourly, **changes), format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    named = set(error["details"]) | {error["details"].get("parameter")}
    assert field in named or any(str(n).startswith(field) for n in named if n), error
    assert words in error["message"] + str(error["details"]), error
    assert Backtest.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"grid": {"fast": [5, 10], "speed": [1]}}, "grid.speed", "no parameter"),
        ({"grid": {"fast": [5, 0]}}, "grid.fast", "between 1 and 200"),
        ({"grid": {"fast": list(range(1, 21)), "slow": list(range(30, 41))}}, "grid", "at most"),
        ({"grid": {"fast": [50, 60], "slow": [20, 30]}}, "grid", "no parameter set is valid"),
        ({"grid": {"fast": [5]}, "metric": "luck"}, "metric", "valid choice"),
        ({"grid": []}, "grid", "parameter"),
    ],
)
def test_bad_sweep_input_is_400_and_creates_nothing(api_client, hourly, changes, field, words):
    response = api_client.post("/backtest/sweep", _body(hourly, **changes), format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    named = set(error["details"]) | {error["details"].get("parameter")}
    assert any(str(n).startswith(field) for n in named if n), error
    assert words in error["message"] + str(error["details"]), error
    assert BacktestSweep.objects.count() == 0 and Backtest.objects.count() == 0


def test_other_users_backtest_is_404_on_get_and_delete(api_client, other_user, hourly):
    theirs = backtest_create(user=other_user, data=_body(hourly))
    assert api_client.get(f"/backtest/{theirs.pk}").status_code == 404
    assert api_client.delete(f"/backtest/{theirs.pk}").status_code == 404
    assert Backtest.objects.filter(pk=theirs.pk).exists()
    assert api_client.get("/backtest/").json()["count"] == 0


def test_other_users_sweep_is_404(api_client, other_user, hourly):
    from trading.services.backtests import sweep_create

    sweep = sweep_create(user=other_user, data=_body(hourly, grid={"fast": [5, 10]}))
    assert sweep.total == 2
    assert api_client.get(f"/backtest/sweep/{sweep.pk}").status_code == 404


def test_list_filters_and_delete_own_backtest(api_client, user, hourly):
    sma = backtest_create(user=user, data=_body(hourly))
    ema = backtest_create(user=user, data=_body(hourly, strategy="ema_cross", params={}))
    listed = api_client.get("/backtest/", {"strategy": "ema_cross"}).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == ema.pk
    assert listed["results"][0]["params"] == {"fast": 12, "slow": 26}  # defaults filled in
    assert "trades" not in listed["results"][0]
    assert (
        api_client.get("/backtest/", {"status": "queued", "symbol": "btc/usdt"}).json()["count"]
        == 2
    )
    assert api_client.get("/backtest/", {"status": "done"}).json()["count"] == 0
    detail = api_client.get(f"/backtest/{sma.pk}").json()
    assert detail["status"] == "queued" and detail["progress"] == 0
    assert detail["config"]["fee_rate"] == "0.0004" and detail["config"]["leverage"] == 1
    assert detail["trades"] is None and detail["equity_curve"] is None
    assert api_client.delete(f"/backtest/{sma.pk}").status_code == 204
    assert not Backtest.objects.filter(pk=sma.pk).exists()
    assert api_client.get(f"/backtest/{sma.pk}").status_code == 404


def test_strategies_route_lists_parameter_schemas(api_client, db):
    strategies = {s["name"]: s for s in api_client.get("/backtest/strategies").json()["strategies"]}
    assert {"sma_cross", "ema_cross", "rsi_reversion", "macd_trend", "bollinger_breakout"} <= set(
        strategies
    )
    fast = next(p for p in strategies["sma_cross"]["params"] if p["name"] == "fast")
    assert fast["type"] == "int" and fast["minimum"] == 1 and fast["maximum"] == 200


# --- real runs on real Celery workers ------------------------------------------------------


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=user).key}")
    return client


def _wait(client, url: str, workers, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} still {body['status']} after {timeout}s:\n{workers.log()}")


def _direct(bars, params: dict, **config):
    """The backtester run directly (no ORM, no Celery) on the same candles."""
    candles = candles_frame(bars)
    signals = strategy_get("sma_cross").signals(candles, strategy_get("sma_cross").validate(params))
    return run_backtest(
        candles,
        signals,
        BacktestConfig(symbol="BTCUSDT", **config),
        engine=paper_engine(),
    )


def test_a_backtest_and_a_sweep_of_20_sets_run_on_a_worker_and_match_direct_runs(
    live_worker, user, markets
):
    """Both queued at once on one worker (two pool processes): the backtest equals the
    backtester run directly; every sweep result is stored on its own row, ranked."""
    bars = _shipped_bars()
    candles_upsert(symbol=Symbol.objects.get(symbol="BTCUSDT"), rows=[("1h", b) for b in bars])
    client = _client(user)
    response = client.post(
        "/backtest/run",
        _body(bars, leverage=2, stop_loss_pct="3", slippage_bps="2"),
        format="json",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    single = response.json()["id"]
    grid = {"fast": [5, 8, 10, 12, 15], "slow": [20, 30, 40, 50]}
    response = client.post(
        "/backtest/sweep",
        _body(bars, params=None, grid=grid, metric="total_return_pct"),
        format="json",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["backtests"] == 20
    sweep = response.json()["id"]

    body = _wait(client, f"/backtest/{single}", live_worker)
    assert body["status"] == "done", body["error"]
    assert body["progress"] == 1 and body["candles"] == CANDLES
    direct = _direct(
        bars,
        {"fast": 10, "slow": 30},
        initial_balance=Decimal("10000"),
        leverage=2,
        fee_rate=Decimal("0.0004"),
        slippage_bps=Decimal("2"),
        stop_loss_pct=Decimal("3"),
    )
    assert len(direct.trades) > 3  # the comparison below is about real trades
    assert body["trades"] == json_safe(direct.trades)
    assert body["metrics"] == json_safe(direct.metrics)
    assert body["equity_curve"] == json_safe([[t, e] for t, e in direct.equity_curve])
    assert body["metrics"]["trades"] == len(direct.trades)

    body = _wait(client, f"/backtest/sweep/{sweep}", live_worker, timeout=240)
    assert body["status"] == "done"
    assert body["total"] == body["finished"] == 20 and body["failed"] == 0
    assert body["progress"] == 1
    results = body["results"]
    assert sorted((r["params"]["fast"], r["params"]["slow"]) for r in results) == sorted(
        (f, s) for f in grid["fast"] for s in grid["slow"]
    )
    returns = [r["metrics"]["total_return_pct"] for r in results]
    assert returns == sorted(returns, reverse=True)
    assert [r["rank"] for r in results] == list(range(1, 21))
    # Every result is stored on its own backtest row, equal to a direct run of its set.
    rows = Backtest.objects.filter(sweep_id=body["id"])
    assert rows.count() == 20 and not rows.exclude(status="done").exists()
    best = rows.get(pk=results[0]["id"])
    direct = _direct(
        bars, best.params["params"], initial_balance=Decimal("10000"), fee_rate=Decimal("0.0004")
    )
    assert best.metrics == json_safe(direct.metrics) and best.trades == json_safe(direct.trades)


# --- the command ------------------------------------------------------------------------------


def test_backtest_command_prints_metrics_and_writes_a_plotly_report(hourly, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    report = tmp_path / "report.html"
    out = StringIO()
    call_command(
        "backtest",
        "--symbol=BTCUSDT",
        "--timeframe=1h",
        "--strategy=sma_cross",
        '--params={"fast": 10, "slow": 30}',
        "--fee-rate=0.0004",
        f"--report={report}",
        "--no-progress",
        stdout=out,
    )
    direct = _direct(
        hourly,
        {"fast": 10, "slow": 30},
        initial_balance=Decimal("10000"),
        fee_rate=Decimal("0.0004"),
    )
    text = out.getvalue()
    assert f"{CANDLES} candles, {len(direct.trades)} trades" in text
    assert f"final balance {direct.final_balance} USDT" in text
    assert "Sharpe" in text and "Max drawdown" in text
    page = report.read_text()
    assert page.count('class="plotly-graph-div"') == 2
    assert 'id="price-chart"' in page and 'id="equity-chart"' in page
    assert "long entry" in page and "drawdown (%)" in page  # markers and the drawdown trace
    assert "* plotly.js v" in page and "<script src" not in page  # plotly.js inlined, no CDN
    assert page.count("<tr>") >= len(direct.trades) + 1


def test_backtest_command_reads_a_csv_and_refuses_bad_input(markets, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = SHIPPED_DATA / "BTCUSDT-1h.csv.gz"
    out = StringIO()
    call_command(
        "backtest",
        "--strategy=ema_cross",
        f"--csv={path}",
        f"--end={_shipped_bars()[-1].open_time_ms}",
        "--no-progress",
        stdout=out,
    )
    assert f"on BTCUSDT 1h: {CANDLES} candles" in out.getvalue()
    with pytest.raises(CommandError, match="Unknown strategy"):
        call_command("backtest", "--strategy=nope", f"--csv={path}", "--no-progress")
    with pytest.raises(CommandError, match="no 1h candles are stored for BTCUSDT"):
        call_command("backtest", "--strategy=sma_cross", "--no-progress")


def test_admin_rerun_queues_a_new_backtest_with_the_same_inputs(admin_client, user, hourly):
    first = backtest_create(user=user, data=_body(hourly, leverage=3, stop_loss_pct="2"))
    response = admin_client.post(
        "/admin/trading/backtest/",
        {"action": "rerun", "_selected_action": [first.pk]},
        follow=True,
    )
    assert response.status_code == 200
    again = Backtest.objects.exclude(pk=first.pk).get()
    assert again.user == user and again.status == "queued"
    assert again.params == first.params and again.strategy == first.strategy
    assert admin_client.get(f"/admin/trading/backtest/{first.pk}/change/").status_code == 200
