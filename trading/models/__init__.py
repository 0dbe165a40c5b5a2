"""Models of the trading app: the market catalogue and candles (market), and the paper
accounts with their orders, fills, positions, trades, ledger and risk settings (paper),
and the Binance-style API keys (api_key)."""

from trading.models.api_key import ApiKey
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
    "Balance",
    "Candle",
    "Fill",
    "LedgerEntry",
    "Order",
    "Position",
    "ReplayClock",
    "RiskSettings",
    "Symbol",
    "SymbolSetting",
    "Trade",
]
