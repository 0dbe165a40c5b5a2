"""The exchange adapter interface and the types that cross it.

Adapters convert the outside world to these types at the border: prices and quantities are
Decimal, times are UTC epoch milliseconds, errors are one of the exceptions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

TIMEFRAMES: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


@dataclass(frozen=True, slots=True)
class Ticker:
    """The latest price of one symbol with its 24 h statistics (quote-asset units)."""

    symbol: str
    price: Decimal
    bid: Decimal
    ask: Decimal
    open_24h: Decimal
    high_24h: Decimal
    low_24h: Decimal
    volume_24h: Decimal  # base asset
    timestamp_ms: int

    @property
    def change_24h_pct(self) -> Decimal:
        if not self.open_24h:
            return Decimal("0")
        return ((self.price - self.open_24h) / self.open_24h * 100).quantize(Decimal("0.001"))


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; prices may be float (candles are analytics data, not money)."""

    open_time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Price levels best first: bids descending, asks ascending; (price, base quantity)."""

    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    timestamp_ms: int


class ExchangeError(Exception):
    """Base of every adapter error."""


class ExchangeUnavailable(ExchangeError):
    """Transient: network, timeout, rate limit, 5xx. Retry later or serve the last price."""


class CircuitOpen(ExchangeUnavailable):
    """The breaker is open after repeated failures; no call was made."""


class SymbolNotSupported(ExchangeError):
    """The exchange does not list this symbol (or has no data for it)."""


class ExchangeAdapter(Protocol):
    """What the bot needs from an exchange; `replay` and `ccxt` implement it."""

    name: str

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Latest ticker per symbol (symbols as BTCUSDT)."""
        ...

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000
    ) -> list[Bar]:
        """Closed and forming candles from since_ms (oldest first), at most limit."""
        ...

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook: ...

    def now_ms(self) -> int:
        """The exchange's current time in epoch ms (replay time for the replay exchange)."""
        ...

    def finest_timeframe(self, symbol: str) -> str:
        """The base timeframe candles are stored in for this symbol."""
        ...
