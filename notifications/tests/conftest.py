"""Fixtures of the notifications tests: priced markets and a user's e-mail pointed at the
real SMTP server."""

from __future__ import annotations

import pytest

from notifications.services.email import config_update
from trading.services.prices import prices_poll


@pytest.fixture
def priced(frozen_replay):
    """Markets seeded and one poll's prices cached (the replay clock stands still)."""
    prices_poll()


@pytest.fixture
def mail_to(user, smtp_server):
    """The user's e-mail settings saved, enabled, reaching ``smtp_server``."""
    body = smtp_server.config()
    config_update(user=user, data=body)
    return smtp_server


def open_trade(client, **overrides) -> dict:
    body = {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "500", "leverage": 2}
    body.update(overrides)
    response = client.post("/trade", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()
