"""Symbol spelling: BTCUSDT is canonical; BTC/USDT, btc-usdt and btcusdt are accepted."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[/\-_:\s]")


def normalize_symbol(raw: str) -> str:
    """Upper-case and drop separators (and a ccxt ':USDT' settle suffix)."""
    text = raw.strip().upper()
    if ":" in text:
        text = text.split(":", 1)[0]
    return _SEPARATORS.sub("", text)


def split_symbol(
    symbol: str, quotes: tuple[str, ...] = ("USDT", "USDC", "BUSD", "BTC")
) -> tuple[str, str]:
    """(base, quote) of a canonical symbol, by its known quote-asset suffix."""
    for quote in quotes:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"{symbol!r} does not end in a known quote asset ({', '.join(quotes)})")
