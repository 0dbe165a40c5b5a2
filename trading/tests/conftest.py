"""Market-data fixtures: the seeded catalogue and a replay exchange at a chosen speed."""

from __future__ import annotations

import pytest

from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed


@pytest.fixture
def markets(db):
    symbols_seed()
    from trading.services.markets import watched_symbols_changed

    watched_symbols_changed()


def _replay(speed: float):
    """Re-anchor the replay clock at ``speed`` and rebuild this process's adapter on it."""
    replay_clock_ensure(speed=speed)
    current_exchange.cache_clear()
    return current_exchange()


@pytest.fixture
def frozen_replay(markets):
    """Replay time practically stands still: every poll sees the same instant."""
    exchange = _replay(1e-9)
    yield exchange
    current_exchange.cache_clear()


@pytest.fixture
def fast_replay(markets):
    """Replay at 600x: a minute of market per 0.1 s, so successive polls differ."""
    exchange = _replay(600.0)
    yield exchange
    current_exchange.cache_clear()
