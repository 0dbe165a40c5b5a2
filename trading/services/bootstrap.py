"""First-start set-up of market data: markets, replay clock and enough candle history."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from trading.models import Symbol
from trading.services.candles import candles_backfill
from trading.services.exchange import replay_clock_ensure
from trading.services.markets import symbols_seed


def market_data_bootstrap(*, backfill: bool = True) -> Iterator[str]:
    """Seed the markets, anchor the replay clock, and backfill each watched symbol (the
    first start loads BACKFILL_CANDLES per timeframe, later ones the gap since the last
    stop). Yields progress lines."""
    created = symbols_seed()
    yield f"markets: {Symbol.objects.count()} ({created} new)"
    if settings.EXCHANGE == "replay":
        clock = replay_clock_ensure()
        yield f"replay exchange: {clock}"
    if not backfill:
        return
    for symbol in Symbol.objects.filter(watched=True):
        stored = candles_backfill(symbol=symbol)
        yield f"candles {symbol.symbol}: " + ", ".join(f"{tf} {n}" for tf, n in stored.items())
