"""Backtest throughput on 525,600 1m candles, beside backtesting.py: `python -m bench backtest`.

Data: the 36,400 real BTCUSDT 1m candles shipped in trading/data (June 2025), tiled end to
end until there are 525,600 (one year of minutes). Each copy is rescaled so that its first
open equals the previous copy's last close (returns, ranges and volatility are the real
ones; the price path continues instead of jumping back), prices rounded to the 0.01 tick,
and the open times are renumbered one minute apart.

Strategy: SMA 10/50 cross, long and short, signals computed once with pandas (timed
separately) and fed to both engines. Ours: run_backtest, which takes its signal-only path
here (the engine's market-fill arithmetic, proven equal to the engine by
trading/tests/test_backtest_signal_only.py; the printout names the path taken)
(futures, 1x, 0.05 % taker fee = the engine's futures rate, no slippage, no funding, 95 %
of the balance per entry, 100M USDT so that every one of the ~29,200 fills of the 7,300
reversals happens: the fees would empty a small account).
backtesting.py: Backtest(commission=0.0005, exclusive_orders=True, trade_on_close=False,
finalize_trades=True), buy(size=0.95) / sell(size=0.95) on the same signals, prices
divided by 100,000 so its whole units are our 0.00001 BTC steps. If backtesting.py takes
longer than BT_LIMIT_S (120 s) projected on the full year, it runs on a 52,560-candle slice
and its rate is taken from that (said in the printout). The trade counts of both are
printed as a sanity check (the agreement test compares trades exactly).

Needs no database and no Django settings. Wall time by time.perf_counter, best of RUNS
(BENCH_RUNS, default 3) for ours, one run for backtesting.py.
"""

from __future__ import annotations

import os
import time
import warnings
from decimal import Decimal as D

import numpy as np
import pandas as pd

from trading import engine as core
from trading.backtest import BacktestConfig, run_backtest
from trading.strategies.frames import frame_of, shipped_candles

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CANDLES = 525_600
SLICE = 52_560
BT_LIMIT_S = 120.0
FEE = 0.0005  # the engine's futures taker rate
POSITION = 0.95
SCALE = 100_000.0  # backtesting.py trades whole units: 1 unit = 0.00001 BTC
CASH = 100_000_000  # fills of ~95M stay inside a 1x bracket; fees never empty it
GOAL_RATIO = 20.0
GOAL_RATE = 2_500_000.0


def year_of_minutes(n: int = CANDLES) -> pd.DataFrame:
    """The shipped 1m candles tiled to ``n``, each copy continuing the last one's price."""
    real = shipped_candles("BTCUSDT", "1m")
    ohlcv = real[["open", "high", "low", "close", "volume"]].to_numpy()
    copies = -(-n // len(ohlcv))
    parts = []
    factor = 1.0
    for _ in range(copies):
        part = ohlcv.copy()
        part[:, :4] = np.round(part[:, :4] * factor, 2)
        parts.append(part)
        factor = part[-1, 3] / ohlcv[0, 0]  # the next copy opens at this one's close
    values = np.concatenate(parts)[:n]
    start = int(real.index[0].value // 1_000_000)
    return frame_of(start + np.arange(n, dtype=np.int64) * 60_000, values)


def sma_cross_signals(candles: pd.DataFrame, fast: int = 10, slow: int = 50) -> pd.DataFrame:
    """+1 when the fast SMA crosses above the slow one, -1 below (plain pandas)."""
    close = candles["close"]
    above = (close.rolling(fast).mean() > close.rolling(slow).mean()).to_numpy()
    signal = np.zeros(len(close), dtype=np.int8)
    change = above[1:] != above[:-1]
    signal[1:][change & above[1:]] = 1
    signal[1:][change & ~above[1:]] = -1
    signal[:slow] = 0
    return pd.DataFrame(
        {"signal": signal, "stop_loss": np.nan, "take_profit": np.nan}, index=candles.index
    )


def ours(candles: pd.DataFrame, signals: pd.DataFrame) -> tuple[float, int, D, str]:
    engine = core.Engine(rules={"BTCUSDT": core.rules_for("BTCUSDT")})
    config = BacktestConfig(
        "BTCUSDT",
        initial_balance=D(CASH),
        fee_rate=D(str(FEE)),
        position_pct=D(str(POSITION * 100)),
        funding=False,
    )
    best = float("inf")
    result = None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = run_backtest(candles, signals, config, engine=engine)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, len(result.trades), result.final_balance, result.path


def backtesting_py(candles: pd.DataFrame, signals: pd.DataFrame) -> tuple[float, int, float]:
    import backtesting.backtesting as engine_module
    from backtesting import Backtest, Strategy

    engine_module._tqdm = lambda seq, **_: seq  # no progress bar in the printout

    data = pd.DataFrame(
        {
            "Open": candles["open"].to_numpy() / SCALE,
            "High": candles["high"].to_numpy() / SCALE,
            "Low": candles["low"].to_numpy() / SCALE,
            "Close": candles["close"].to_numpy() / SCALE,
            "Volume": candles["volume"].to_numpy(),
        },
        index=candles.index.tz_localize(None),
    )
    column = signals["signal"].to_numpy().astype(np.float64)

    class Signals(Strategy):
        def init(self) -> None:
            self.sig = self.I(lambda: column, name="signal", plot=False)

        def next(self) -> None:
            value = self.sig[-1]
            if value > 0:
                self.buy(size=POSITION)
            elif value < 0:
                self.sell(size=POSITION)

    backtest = Backtest(
        data,
        Signals,
        cash=CASH,
        commission=FEE,
        exclusive_orders=True,
        trade_on_close=False,
        finalize_trades=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        stats = backtest.run()
        elapsed = time.perf_counter() - started
    return elapsed, int(stats["# Trades"]), float(stats["Equity Final [$]"])


def main() -> None:
    started = time.perf_counter()
    candles = year_of_minutes()
    print(
        f"data: {len(candles):,} 1m candles (36,400 real BTCUSDT, tiled and rescaled), "
        f"built in {time.perf_counter() - started:.2f} s"
    )
    started = time.perf_counter()
    signals = sma_cross_signals(candles)
    signal_s = time.perf_counter() - started
    print(
        f"SMA 10/50 signals (pandas): {signal_s * 1000:.1f} ms, "
        f"{int((signals['signal'] != 0).sum()):,} crosses"
    )

    ours_s, ours_trades, ours_final, path = ours(candles, signals)
    ours_rate = len(candles) / ours_s
    print(
        f"ours   run_backtest : {ours_s * 1000:8.1f} ms  {ours_rate:12,.0f} candles/s  "
        f"({ours_trades:,} trades, final {ours_final:.2f} USDT; {path} path; best of {RUNS})"
    )
    with_signals = len(candles) / (ours_s + signal_s)
    print(
        f"ours   incl. signals: {(ours_s + signal_s) * 1000:8.1f} ms  "
        f"{with_signals:12,.0f} candles/s"
    )

    # a slice first, to project backtesting.py's full-year time
    probe_s, _, _ = backtesting_py(candles.iloc[:SLICE], signals.iloc[:SLICE])
    projected = probe_s * len(candles) / SLICE
    if projected <= BT_LIMIT_S:
        bt_s, bt_trades, bt_final = backtesting_py(candles, signals)
        bt_n, note = len(candles), "full year"
    else:
        bt_s, bt_n = probe_s, SLICE
        _, bt_trades, bt_final = 0.0, 0, float("nan")
        note = f"on a {SLICE:,}-candle slice (full year projected {projected:.0f} s)"
    bt_rate = bt_n / bt_s
    print(
        f"backtesting.py      : {bt_s * 1000:8.1f} ms  {bt_rate:12,.0f} candles/s  "
        f"({note}; {bt_trades:,} trades, final {bt_final:.2f} USDT)"
    )
    ratio = ours_rate / bt_rate
    print(
        f"speed ratio ours / backtesting.py: {ratio:.1f}x (goal >= {GOAL_RATIO:.0f}x); "
        f"ours {ours_rate / 1e6:.2f}M candles/s (goal ~{GOAL_RATE / 1e6:.1f}M)"
    )
