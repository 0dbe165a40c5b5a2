"""The lookahead check (trading/strategies/lookahead.py) and `manage.py backtest_lookahead`.

Every built-in strategy must pass on the shipped BTCUSDT 1h history: its signals up to t do
not move when the candles after t are removed or replaced by a random walk, and its
declared warm-up reproduces the full run's signals. Strategies that cheat, defined here,
must be caught, so the check is known to be able to fail. No database is needed.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from trading.strategies import REGISTRY, StrategyError, strategy_get
from trading.strategies.base import Param, Strategy
from trading.strategies.builtin import cross_down, cross_up
from trading.strategies.frames import candles_read, shipped_candles_path
from trading.strategies.lookahead import ALTERED, REMOVED, WARMUP, lookahead_check

ROOT = Path(__file__).resolve().parents[2]
COMPUTABLE = ["bollinger_breakout", "ema_cross", "macd_trend", "rsi_reversion", "sma_cross"]
# Defaults, then the other end of the ranges: the longest warm-ups and the twitchiest lines.
PARAM_SETS = {
    "sma_cross": [{}, {"fast": 1, "slow": 2}, {"fast": 200, "slow": 500}],
    "ema_cross": [{}, {"fast": 1, "slow": 2}, {"fast": 100, "slow": 500}],
    "rsi_reversion": [
        {},
        {"period": 2, "oversold": 10, "overbought": 90},
        {"period": 200, "oversold": 45, "overbought": 55},
    ],
    "macd_trend": [{}, {"fast": 2, "slow": 3, "signal": 2}, {"fast": 50, "slow": 200}],
    "bollinger_breakout": [{}, {"period": 2, "std": 0.5}, {"period": 500, "std": 5}],
}


@functools.cache
def btc_1h() -> pd.DataFrame:
    """All 65,494 shipped BTCUSDT 1h candles (2018-2025, with real gaps)."""
    return candles_read(shipped_candles_path("BTCUSDT", "1h"))


def _sign_frame(candles: pd.DataFrame, signal: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"signal": signal}, index=candles.index)


def _peeks_at_next_close(candles: pd.DataFrame, params) -> pd.DataFrame:
    """Buys when the *next* close is higher: the textbook lookahead."""
    ahead = candles["close"].shift(-1).to_numpy()
    close = candles["close"].to_numpy()
    return _sign_frame(candles, np.sign(np.nan_to_num(ahead - close)).astype(np.int8))


def _crosses_the_whole_history_mean(candles: pd.DataFrame, params) -> pd.DataFrame:
    """Crossings of the mean of *all* closes: looks harmless, but the mean includes the
    future, so removing or changing later candles moves every signal."""
    close = candles["close"].to_numpy()
    level = close.mean()
    return _sign_frame(candles, cross_up(close, level).astype(np.int8) - cross_down(close, level))


def _centred_average_cross(candles: pd.DataFrame, params) -> pd.DataFrame:
    """Close crossing a centred 11-bar average (uses the 5 bars after t)."""
    close = candles["close"]
    mean = close.rolling(11, center=True).mean().to_numpy()
    c = close.to_numpy()
    return _sign_frame(candles, cross_up(c, mean).astype(np.int8) - cross_down(c, mean))


def cheat(name: str, compute) -> Strategy:
    return Strategy(
        name=name,
        description="cheats on purpose (test only)",
        params=(Param("unused", int, 1, 1, 2),),
        compute=compute,
        warmup=lambda p: 20,
    )


# --- every built-in passes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw"), [(name, raw) for name, sets in PARAM_SETS.items() for raw in sets]
)
def test_builtin_strategy_has_no_lookahead(name, raw):
    strategy = strategy_get(name)
    candles = btc_1h()
    report = lookahead_check(strategy, raw, candles, points=20)
    assert report.passed, "\n".join(report.lines())
    assert report.verdict().startswith("OK, no lookahead")
    assert len(report.checked) == 20
    # The cut points cover the series after the warm-up, up to its end.
    assert report.checked[0] >= candles.index[report.warmup - 1]
    assert report.checked[-1] == candles.index[-2]
    # It signals early on, so all but the first cuts had signals before them that could move.
    signal = strategy.signals(candles, report.params)["signal"]
    assert signal[: report.checked[2]].ne(0).any()


def test_builtins_pass_on_one_minute_candles_too():
    candles = candles_read(shipped_candles_path("ETHUSDT", "1m"))
    for name in COMPUTABLE:
        report = lookahead_check(strategy_get(name), {}, candles, points=10, seed=7)
        assert report.passed, "\n".join(report.lines())


def test_ml_signal_cannot_be_checked_until_it_can_compute():
    with pytest.raises(StrategyError) as caught:
        lookahead_check(strategy_get("ml_signal"), {}, btc_1h())
    assert caught.value.field == "strategy"


# --- cheats are caught -------------------------------------------------------------------


@pytest.mark.parametrize(
    "compute", [_peeks_at_next_close, _crosses_the_whole_history_mean, _centred_average_cross]
)
def test_a_strategy_that_uses_later_candles_is_caught(compute):
    candles = btc_1h().iloc[-5_000:]
    report = lookahead_check(cheat("cheater", compute), {}, candles, points=20)
    assert not report.passed
    assert report.lookahead
    assert report.verdict().startswith("LOOKAHEAD")
    cuts = {m.cut for m in report.lookahead}
    assert len(cuts) >= 10, "\n".join(report.lines())
    for mismatch in report.lookahead:
        assert mismatch.time <= mismatch.cut
        assert mismatch.variant in {REMOVED, ALTERED}
        assert mismatch.column == "signal"
        assert mismatch.full != mismatch.recomputed
    assert "cut " in report.lines()[1]


def test_the_next_close_cheat_is_caught_at_the_cut_itself_both_ways():
    candles = btc_1h().iloc[-5_000:]
    report = lookahead_check(cheat("peeker", _peeks_at_next_close), {}, candles)
    removed = [m for m in report.lookahead if m.variant == REMOVED]
    altered = [m for m in report.lookahead if m.variant == ALTERED]
    # Without a next candle the cheat has no signal at t; with a random one, a random sign.
    assert len(removed) == len(report.checked)
    assert all(m.time == m.cut for m in removed)
    assert altered and all(m.time == m.cut for m in altered)


def test_a_warmup_shorter_than_the_ema_seed_needs_is_reported():
    ema_cross = strategy_get("ema_cross")
    short = Strategy(
        name="ema_cross_short_warmup",
        description="ema_cross claiming it needs only its slow period",
        params=ema_cross.params,
        compute=ema_cross.compute,
        warmup=lambda p: p["slow"] + 1,
        check=ema_cross.check,
    )
    report = lookahead_check(short, {"fast": 20, "slow": 100}, btc_1h(), points=20)
    assert not report.passed
    assert not report.lookahead, "the signals themselves do not use the future"
    assert report.warmup_short
    assert all(m.variant == WARMUP for m in report.mismatches)
    assert report.verdict().startswith("WARM-UP TOO SHORT")
    # The real strategy, with its declared warm-up, passes on the same candles.
    assert lookahead_check(ema_cross, {"fast": 20, "slow": 100}, btc_1h()).passed


def test_too_few_candles_to_check_is_refused():
    strategy = strategy_get("sma_cross")
    with pytest.raises(StrategyError) as caught:
        lookahead_check(strategy, {"slow": 500}, btc_1h().iloc[:500])
    assert caught.value.field == "candles"


def test_the_report_is_reproducible_from_its_seed():
    candles = btc_1h().iloc[-3_000:]
    check = functools.partial(lookahead_check, cheat("peeker", _peeks_at_next_close), {}, candles)
    assert check(seed=3) == check(seed=3)
    assert check(seed=3).mismatches != check(seed=4).mismatches


# --- the command -------------------------------------------------------------------------


def test_command_exits_zero_for_sma_cross_and_prints_the_verdict():
    result = subprocess.run(
        [sys.executable, "manage.py", "backtest_lookahead", "sma_cross", "--params", '{"fast": 8}'],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cryptobot.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK, no lookahead: sma_cross {'fast': 8, 'slow': 50}")
    assert "65,494 candles" in result.stdout


def test_command_reads_a_csv_and_another_timeframe():
    out = StringIO()
    path = shipped_candles_path("ETHUSDT", "1m")
    call_command("backtest_lookahead", "rsi_reversion", "--csv", str(path), stdout=out)
    assert out.getvalue().startswith("OK, no lookahead: rsi_reversion")
    assert "36,400 candles" in out.getvalue()


def test_command_fails_with_exit_code_one_on_a_lookahead(monkeypatch):
    monkeypatch.setitem(REGISTRY, "peeker", cheat("peeker", _peeks_at_next_close))
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("backtest_lookahead", "peeker", stdout=out)
    assert caught.value.returncode == 1
    assert str(caught.value).startswith("LOOKAHEAD")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("LOOKAHEAD: peeker")
    assert len(lines) > 20 and "future removed" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sma_cross", "--params", '{"fast": 60}'], "fast: fast (60) must be less than slow"),
        (["sma_cross", "--params", "fast=3"], "--params is not valid JSON"),
        (["sma_cross", "--params", "[3]"], "--params must be a JSON object"),
        (["sma_cross", "--symbol", "DOGEUSDT"], "shipped candles: BNBUSDT 1h"),
        (["golden_goose"], "strategy: Unknown strategy 'golden_goose'"),
    ],
)
def test_command_refuses_bad_input_saying_what_is_wrong(args, message):
    with pytest.raises(CommandError) as caught:
        call_command("backtest_lookahead", *args, stdout=StringIO())
    assert message in str(caught.value)


@pytest.mark.django_db
def test_command_says_to_train_a_model_before_checking_ml_signal():
    with pytest.raises(CommandError) as caught:
        call_command("backtest_lookahead", "ml_signal", stdout=StringIO())
    assert "train one first" in str(caught.value)
