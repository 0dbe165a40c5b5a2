"""A web worker's engine reads the market rules of a symbol it has not loaded yet (it
was built before the catalogue was seeded, or the symbol was added in another process)
instead of failing every later order on that symbol."""

from __future__ import annotations

from trading.services.paper_account import paper_engine
from trading.services.prices import prices_poll


def test_rules_missing_from_a_cached_engine_are_read_on_first_use(api_client, frozen_replay):
    prices_poll()
    paper_engine.cache_clear()
    engine = paper_engine()
    engine.rules.clear()  # as if built while the Symbol table was still empty
    response = api_client.post(
        "/trade",
        {"symbol": "BTCUSDT", "direction": "long", "quote_amount": "100"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert "BTCUSDT" in engine.rules and engine.rules["BTCUSDT"].tick_size > 0
    assert "NOPEUSDT" not in engine.rules and engine.rules.get("NOPEUSDT") is None
    closed = api_client.post(f"/trades/{response.json()['id']}/close", {}, format="json")
    assert closed.status_code == 200
