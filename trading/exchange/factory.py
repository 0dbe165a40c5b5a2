"""Build an exchange adapter by name: "replay" or any ccxt exchange id such as "binance".

Building is all this does; trading.services.exchange.current_exchange keeps the one
instance per process, so the replay data and a ccxt client's markets and breaker are shared
by every caller in that process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trading.exchange.base import ExchangeAdapter

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def build_exchange(name: str, **kwargs: Any) -> ExchangeAdapter:
    """A new adapter called ``name``.

    replay needs ``origin_ms`` (the bot's first start, epoch ms) and ``now_ms`` (a callable
    returning the current replay time); ``data_dir`` defaults to trading/data. Other kwargs go
    to ReplayExchange / CcxtExchange. Raises ValueError for an unknown name or missing
    replay arguments.
    """
    return _build(name.strip().lower(), kwargs)


def _build(name: str, kwargs: dict[str, Any]) -> ExchangeAdapter:
    if name == "replay":
        from trading.exchange.replay import ReplayExchange

        missing = [arg for arg in ("origin_ms", "now_ms") if arg not in kwargs]
        if missing:
            raise ValueError(f"the replay exchange needs {' and '.join(missing)}")
        options = dict(kwargs)
        data_dir = Path(options.pop("data_dir", DEFAULT_DATA_DIR))
        return ReplayExchange(data_dir, options.pop("origin_ms"), options.pop("now_ms"), **options)

    from trading.exchange import ccxt_adapter  # imported lazily: ccxt is slow to import

    if name not in ccxt_adapter.exchange_ids():
        raise ValueError(
            f"unknown exchange {name!r}: use 'replay' or a ccxt exchange id such as 'binance'"
        )
    return ccxt_adapter.CcxtExchange(name, **kwargs)
