"""The ccxt adapter: real market data from any ccxt exchange (spot), e.g. ``binance``.

This is the only module of the project that imports ccxt. At the border it converts symbols
(BTCUSDT <-> 'BTC/USDT'), numbers (``Decimal(str(x))`` for tickers and books) and errors:

* transient ccxt errors (``OperationFailed``: NetworkError and its RequestTimeout,
  ExchangeNotAvailable, DDoSProtection, RateLimitExceeded, InvalidNonce, plus BadResponse and
  exchange-side "unknown error" answers) are retried with exponential backoff and jitter,
  then raised as ExchangeUnavailable;
* BadSymbol -> SymbolNotSupported; every other ccxt error -> ExchangeError.

Every request attempt goes through a CircuitBreaker. Only transient errors count as
failures (an "unknown symbol" answer proves the exchange is up); once it opens, calls raise
CircuitOpen without touching the network until the cool-down has passed. Serving the last
good price while the exchange is away is the caller's job: this adapter only raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from trading.exchange.base import (
    TIMEFRAMES,
    Bar,
    ExchangeError,
    ExchangeUnavailable,
    OrderBook,
    SymbolNotSupported,
    Ticker,
)
from trading.exchange.breaker import CircuitBreaker

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ccxt.OperationFailed,)
MAX_LIMIT = 1000  # candles per fetch_ohlcv call (Binance spot's maximum)

# Binance would otherwise load futures/options markets and, with an API key, call signed
# sapi endpoints inside load_markets (binance-compat.md, section 0.2): spot only.
_EXCHANGE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
}


def exchange_ids() -> list[str]:
    """Every exchange id ccxt knows (``binance``, ``kraken``, ...)."""
    return list(ccxt.exchanges)


@dataclass(frozen=True, slots=True)
class _Refused:
    """A non-transient ccxt error, returned through the breaker so it does not count."""

    error: ccxt.BaseError


class CcxtExchange:
    """ExchangeAdapter over a ccxt exchange's public spot market data.

    ``retries`` is the number of re-tries after the first attempt of a call (so at most
    ``retries + 1`` requests); waits grow from ``backoff_s`` to ``backoff_max_s`` with up to
    ``backoff_s`` of jitter. ``config`` is deep-merged over our defaults and handed to
    ccxt, e.g. ``{"urls": {"api": {"public": "http://127.0.0.1:9000/api/v3"}}}`` to talk to a
    Binance-compatible server, or ``{"enableRateLimit": False}``. One extra key is ours:
    ``urls_base`` ("http://host:port") rewrites every ``https://<host>/<path>`` API URL of the
    exchange to ``<urls_base>/<path>`` (binance-compat.md, section 1).
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        breaker: CircuitBreaker | None = None,
        retries: int = 3,
        timeout_s: float = 10.0,
        backoff_s: float = 0.2,
        backoff_max_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            raise ValueError(f"{exchange_id!r} is not a ccxt exchange id (e.g. 'binance')")
        defaults: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": int(timeout_s * 1000),
            "options": {"defaultType": "spot", **_EXCHANGE_OPTIONS.get(exchange_id, {})},
        }
        options = dict(config or {})
        urls_base = options.pop("urls_base", None)
        self.name = exchange_id
        self.client = getattr(ccxt, exchange_id)(_deep_merge(defaults, options))
        if urls_base:
            self.client.urls["api"] = _rebase(self.client.urls["api"], str(urls_base))
        self.breaker = breaker or CircuitBreaker(name=exchange_id)
        self._retries = max(0, int(retries))
        # backoff_s * 2**n capped at backoff_max_s, plus up to backoff_s of jitter
        self._wait = wait_exponential(multiplier=backoff_s, max=backoff_max_s) + wait_random(
            0, backoff_s
        )
        self._sleep = sleep

    # -- ExchangeAdapter -----------------------------------------------------------------

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Latest ticker per symbol (keys as BTCUSDT); one request when the exchange allows."""
        wanted = {self._market_symbol(sym): _normalize(sym) for sym in symbols}
        if not wanted:
            return {}
        if self.client.has.get("fetchTickers"):
            raw = self._call(self.client.fetch_tickers, list(wanted))
        else:
            raw = {sym: self._call(self.client.fetch_ticker, sym) for sym in wanted}
        tickers = {}
        for market_symbol, ours in wanted.items():
            data = raw.get(market_symbol)
            if data is None:
                raise SymbolNotSupported(f"{self.name} returned no ticker for {ours}")
            tickers[ours] = self._ticker(ours, data)
        return tickers

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000
    ) -> list[Bar]:
        """Candles oldest first as the exchange returns them (the last one may be forming)."""
        if timeframe not in TIMEFRAMES:
            raise SymbolNotSupported(
                f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
            )
        market_symbol = self._market_symbol(symbol)
        limit = min(max(int(limit), 1), MAX_LIMIT)
        rows = self._call(self.client.fetch_ohlcv, market_symbol, timeframe, since_ms, limit)
        return [
            Bar(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0))
            for r in rows
        ]

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        """The exchange's book, best first, truncated to ``depth`` levels per side."""
        market_symbol = self._market_symbol(symbol)
        depth = max(int(depth), 1)
        book = self._call(self.client.fetch_order_book, market_symbol, depth)
        return OrderBook(
            symbol=_normalize(symbol),
            bids=tuple((_dec(p), _dec(q)) for p, q, *_ in book["bids"][:depth]),
            asks=tuple((_dec(p), _dec(q)) for p, q, *_ in book["asks"][:depth]),
            timestamp_ms=int(book.get("timestamp") or self.client.milliseconds()),
        )

    def now_ms(self) -> int:
        """Wall-clock epoch ms: a real exchange lives in real time."""
        return int(self.client.milliseconds())

    def finest_timeframe(self, symbol: str) -> str:
        """The finest of our TIMEFRAMES that the exchange serves (1m on Binance)."""
        served = self.client.timeframes or {}
        return next((tf for tf in TIMEFRAMES if tf in served), "1m")

    # -- conversion ----------------------------------------------------------------------

    def _ticker(self, symbol: str, data: Mapping[str, Any]) -> Ticker:
        last = data.get("last") if data.get("last") is not None else data.get("close")
        if last is None:
            raise ExchangeError(f"{self.name} sent a ticker for {symbol} without a price")
        price = _dec(last)

        def field(name: str, default: Decimal) -> Decimal:
            value = data.get(name)
            return default if value is None else _dec(value)

        return Ticker(
            symbol=symbol,
            price=price,
            bid=field("bid", price),
            ask=field("ask", price),
            open_24h=field("open", price),
            high_24h=field("high", price),
            low_24h=field("low", price),
            volume_24h=field("baseVolume", Decimal("0")),
            timestamp_ms=int(data.get("timestamp") or self.client.milliseconds()),
        )

    def _market_symbol(self, symbol: str) -> str:
        """'BTC/USDT' for 'BTCUSDT' (also accepts 'BTC/USDT', 'btcusdt'); loads markets."""
        if not self.client.markets:
            self._call(self.client.load_markets)
        if symbol in self.client.markets:
            return symbol
        candidates = self.client.markets_by_id.get(_normalize(symbol)) or []
        spot = [m for m in candidates if m.get("spot")] or candidates
        if not spot:
            raise SymbolNotSupported(f"{self.name} does not list {symbol!r} as a spot market")
        return str(spot[0]["symbol"])

    # -- calling -------------------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a ccxt method with retries, through the breaker; map errors to ours."""
        retrying = Retrying(
            stop=stop_after_attempt(self._retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            outcome = retrying(self.breaker.call, self._attempt, fn, *args)
        except TRANSIENT_ERRORS as exc:
            raise ExchangeUnavailable(f"{self.name} unavailable: {_describe(exc)}") from exc
        if isinstance(outcome, _Refused):
            raise _translate(self.name, outcome.error) from outcome.error
        return outcome

    @staticmethod
    def _attempt(fn: Callable[..., Any], *args: Any) -> Any:
        """One request; non-transient ccxt errors come back as values, not failures."""
        try:
            return fn(*args)
        except TRANSIENT_ERRORS:
            raise
        except ccxt.BaseError as exc:
            return _Refused(exc)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            self.name,
            state.attempt_number,
            _describe(exc),
            state.next_action.sleep if state.next_action else 0.0,
        )


# --- helpers ----------------------------------------------------------------------------


def _translate(name: str, error: ccxt.BaseError) -> ExchangeError:
    if isinstance(error, ccxt.BadSymbol):
        return SymbolNotSupported(f"{name}: {_describe(error)}")
    return ExchangeError(f"{name}: {_describe(error)}")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _normalize(symbol: str) -> str:
    """BTCUSDT from 'BTCUSDT', 'btcusdt' or 'BTC/USDT'."""
    return symbol.replace("/", "").strip().upper()


def _dec(value: Any) -> Decimal:
    """A ccxt number (float or str) as the exact decimal it prints as."""
    return Decimal(str(value))


def _rebase(urls: Any, base: str) -> Any:
    """Point https://<host>/<path> URLs (nested in dicts) at <base>/<path>."""
    if isinstance(urls, dict):
        return {key: _rebase(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("https://"):
        parts = urls.split("/", 3)
        return base.rstrip("/") + "/" + (parts[3] if len(parts) > 3 else "")
    return urls


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, merging nested dicts instead of replacing them."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
