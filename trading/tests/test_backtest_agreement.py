"""Acceptance: an SMA cross with commission on the shipped BTCUSDT data gives the same trades
and final equity in our backtester and in backtesting.py under the same fill convention.

The convention both follow: the signal of candle t fills at candle t+1's open
(backtesting.py's default, trade_on_close=False), long and short at 1x, a reversal closes
then opens (exclusive_orders=True), commission = our taker fee on entry and exit, no
slippage, no funding, each entry sized as paper trading's equity_pct: 95 % of the equity
(flat: the balance) / price, rounded down to the step.

Making the two comparable:
- backtesting.py trades whole units; our quantities step by 0.00001 BTC. Prices given to
  backtesting.py are divided by 100,000, so one of its units is one of our steps and its
  int() sizing is our round-down to the step.
- backtesting.py's relative sizing leaves room for the commission (cash x f / (price +
  commission per unit)); ours, as paper trading's, commits margin only and the fee comes
  on top. Its commission is given as a function that charges nothing when asked about a
  fractional size (only its sizing asks that) and FEE x notional for every fill in whole
  units, so its sizing becomes cash x f / price while every fill still pays the commission.
- backtesting.py's finalize_trades closes what is open at the last bar's *open*; ours at
  the last close. A final flat bar (open = high = low = close = our last close) is
  appended to its data, and the last real candle carries no signal, so both close the
  final trade at the same price.
- Our balances are Decimal, rounded to 8 dp per fee and PnL; backtesting.py's floats: the
  final equity agrees to a relative 1e-9, entry / exit times and prices exactly.
"""

from __future__ import annotations

import warnings
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest

from trading import engine as core
from trading.backtest import BacktestConfig, run_backtest
from trading.strategies.frames import shipped_candles

backtesting = pytest.importorskip("backtesting")

SYMBOL = "BTCUSDT"
FEE = 0.001
POSITION = 0.95
SCALE = 100_000.0


def sma_cross(candles: pd.DataFrame, fast: int = 10, slow: int = 30) -> pd.DataFrame:
    close = candles["close"]
    above = (close.rolling(fast).mean() > close.rolling(slow).mean()).to_numpy()
    signal = np.zeros(len(close), dtype=np.int8)
    change = above[1:] != above[:-1]
    signal[1:][change & above[1:]] = 1
    signal[1:][change & ~above[1:]] = -1
    signal[:slow] = 0
    signal[-1] = 0  # acted on by nobody: there is no next open
    return pd.DataFrame(
        {"signal": signal, "stop_loss": np.nan, "take_profit": np.nan}, index=candles.index
    )


def _commission(size: float, price: float) -> float:
    """FEE on every fill (whole units); nothing on the fractional size its sizing asks
    about, so that sizing is margin only, as ours (see the module docstring)."""
    return 0.0 if abs(size) < 1 else abs(size) * price * FEE


def run_backtesting_py(candles: pd.DataFrame, signal: np.ndarray):
    from backtesting import Backtest, Strategy

    last = float(candles["close"].iloc[-1]) / SCALE
    index = candles.index.tz_localize(None)
    step = index[-1] - index[-2]
    data = pd.DataFrame(
        {
            "Open": np.append(candles["open"].to_numpy() / SCALE, last),
            "High": np.append(candles["high"].to_numpy() / SCALE, last),
            "Low": np.append(candles["low"].to_numpy() / SCALE, last),
            "Close": np.append(candles["close"].to_numpy() / SCALE, last),
            "Volume": np.append(candles["volume"].to_numpy(), 0.0),
        },
        index=index.append(pd.DatetimeIndex([index[-1] + step])),
    )
    column = np.append(signal.astype(np.float64), 0.0)

    class Signals(Strategy):
        def init(self) -> None:
            self.sig = self.I(lambda: column, name="signal", plot=False)

        def next(self) -> None:
            if self.sig[-1] > 0:
                self.buy(size=POSITION)
            elif self.sig[-1] < 0:
                self.sell(size=POSITION)

    backtest = Backtest(
        data,
        Signals,
        cash=10_000,
        commission=_commission,
        exclusive_orders=True,
        trade_on_close=False,
        finalize_trades=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return backtest.run(), data


@pytest.mark.parametrize(("timeframe", "count"), [("1h", 3000), ("1m", 3000)])
def test_sma_cross_agrees_with_backtesting_py(timeframe, count):
    candles = shipped_candles(SYMBOL, timeframe).iloc[-count:]
    signals = sma_cross(candles)
    engine = core.Engine(
        fees=core.FeeSchedule(futures_taker=D(str(FEE))),
        slippage=core.SlippageModel(mode="off"),
        rules={SYMBOL: core.rules_for(SYMBOL)},
    )
    config = BacktestConfig(
        SYMBOL, leverage=1, position_pct=D(str(POSITION * 100)), funding=False, fee_rate=D("0.001")
    )
    ours = run_backtest(candles, signals, config, engine=engine)
    stats, data = run_backtesting_py(candles, signals["signal"].to_numpy())
    theirs = stats["_trades"]

    assert len(ours.trades) > 20
    assert len(ours.trades) == len(theirs)
    times = data.index
    for mine, other in zip(ours.trades, theirs.itertuples(), strict=True):
        assert mine["direction"] == ("long" if other.Size > 0 else "short")
        assert pd.Timestamp(mine["entry_time"]).tz_localize(None) == times[other.EntryBar]
        assert float(mine["entry_price"]) / SCALE == other.EntryPrice
        assert D(mine["quantity"]) * int(SCALE) == abs(other.Size)
        if mine["exit_reason"] == "end":  # closed at the last close: its appended flat bar
            assert other.ExitBar == len(times) - 1
        else:
            assert pd.Timestamp(mine["exit_time"]).tz_localize(None) == times[other.ExitBar]
        assert float(mine["exit_price"]) / SCALE == other.ExitPrice
        assert float(mine["pnl"]) == pytest.approx(other.PnL, rel=1e-9, abs=1e-6)
    assert float(ours.final_balance) == pytest.approx(stats["Equity Final [$]"], rel=1e-9)
    assert ours.equity_curve[-1][1] == pytest.approx(stats["Equity Final [$]"], rel=1e-9)
