"""The backtester: the paper engine's core with an in-memory shell over stored candles.

Pure (no ORM, no network): ``run_backtest`` takes a candle DataFrame, the strategy's signal
frame and a BacktestConfig and returns a BacktestResult (trades, equity curve, metrics).
See runner.py for the fill convention and the intra-candle order.
"""

from trading.backtest.metrics import backtest_metrics
from trading.backtest.runner import (
    BacktestConfig,
    BacktestResult,
    run_backtest,
    run_backtest_reference,
)

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "backtest_metrics",
    "run_backtest",
    "run_backtest_reference",
]
