"""Market-data fixtures live in cryptobot/testing/fixtures.py (shared by every app).

Binance-compatible API clients: real ccxt (configured as ../shared/binance-compat.md §1
says) and python-binance, pointed at the live server stack with the user's API key.
"""

from __future__ import annotations

import pytest

from trading.services.api_keys import api_key_create


@pytest.fixture
def api_key(user):
    """(key, secret) of a new trade key for ``user``."""
    key, secret = api_key_create(user=user, label="tests")
    return key.key, secret


def point_at(exchange, base: str):
    """Rewrite every https://<binance host>/<prefix> URL of a ccxt exchange to ``base``."""
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str) and url.startswith("https://"):
            exchange.urls["api"][name] = base + "/" + url.split("/", 3)[3]
    return exchange


def ccxt_options() -> dict:
    return {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    }


@pytest.fixture
def ccxt_spot(live_server_stack, api_key):
    import ccxt

    key, secret = api_key
    return point_at(
        ccxt.binance(
            {"apiKey": key, "secret": secret, "enableRateLimit": False, "options": ccxt_options()}
        ),
        live_server_stack.url,
    )


@pytest.fixture
def ccxt_usdm(live_server_stack, api_key):
    import ccxt

    key, secret = api_key
    options = {**ccxt_options(), "fetchMarkets": {"types": ["linear"]}}
    return point_at(
        ccxt.binanceusdm(
            {"apiKey": key, "secret": secret, "enableRateLimit": False, "options": options}
        ),
        live_server_stack.url,
    )
