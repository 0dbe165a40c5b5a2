"""Models of the trading app: the market catalogue and candles (market), and the paper
accounts with their orders, fills, positions, trades, ledger and risk settings (paper),
the Binance-style API keys (api_key), backtests and sweeps (backtest), and auto-trading
(auto_trading)."""

from trading.models.api_key import ApiKey
from trading.models.auto_trading import AutoTradingConfig, AutoTradingRun
from trading.models.backtest import Backtest, BacktestSweep, RunStatus
from trading.models.market import Candle, ReplayClock, Symbol
from trading.models.paper import (
    Account,
    Balance,
    Fill,
    LedgerEntry,
    Order,
    Position,
    RiskSettings,
    SymbolSetting,
    Trade,
)

__all__ = [
    "Account",
    "ApiKey",
    "AutoTradingConfig",
    "AutoTradingRun",
    "Backtest",
    "BacktestSweep",
    "Balance",
    "Candle",
    "Fill",
    "LedgerEntry",
    "Order",
    "Position",
    "ReplayClock",
    "RiskSettings",
    "RunStatus",
    "Symbol",
    "SymbolSetting",
    "Trade",
]
