"""The markets the bot ships with: the symbols in trading/data, with Binance's spot filters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal
    max_leverage: int


DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("5"), 125),
    MarketSpec("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001"), Decimal("5"), 125),
    MarketSpec("BNBUSDT", "BNB", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("5"), 75),
    MarketSpec("SOLUSDT", "SOL", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("5"), 100),
    MarketSpec("XRPUSDT", "XRP", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"), 75),
)
