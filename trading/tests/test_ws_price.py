"""/ws/price end to end: real nginx + daphne, a real Celery worker and beat, and a real
WebSocket client (the `websockets` library)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from django.test import override_settings

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.schedule import beat_schedule_install
from trading.services.markets import symbols_seed

pytestmark = pytest.mark.live


async def _collect(url: str, seconds: float, **kwargs) -> list[dict]:
    messages: list[dict] = []
    async with websockets.connect(url, open_timeout=10, **kwargs) as ws:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=deadline - loop.time())
            except TimeoutError:
                break
            frame = json.loads(raw)
            # One frame per poll: a price, or a batch of prices for several symbols.
            messages.extend(frame["prices"] if frame["type"] == "prices" else [frame])
            # Enough once three polls' prices came (what the test asserts on).
            if len({m["timestamp"] for m in messages if m.get("type") == "price"}) >= 3:
                break
    return messages


def test_subscriber_gets_live_prices_only_for_its_symbols(live_server_stack, live_workers, user):
    symbols_seed()
    with override_settings(PRICE_POLL_SECONDS=1):
        beat_schedule_install()
    token = api_token_get_or_create(user=user).key
    ws_url = live_server_stack.url.replace("http", "ws") + "/ws/price"
    messages = asyncio.run(_collect(f"{ws_url}?symbols=BTCUSDT&token={token}", 45))
    prices = [m for m in messages if m["type"] == "price"]
    assert messages[0] == {"type": "subscribed", "symbols": ["BTCUSDT"]}, live_workers.log()
    assert len(prices) >= 3, live_workers.log()
    assert {m["symbol"] for m in prices} == {"BTCUSDT"}
    assert len({m["timestamp"] for m in prices}) >= 3
    assert all(m["stale"] is False for m in prices)


def test_subscribe_and_unsubscribe_messages(live_server_stack, user, transactional_db):
    symbols_seed()
    token = api_token_get_or_create(user=user).key
    url = live_server_stack.url.replace("http", "ws") + f"/ws/price?token={token}"

    async def talk() -> list[dict]:
        async with websockets.connect(url, open_timeout=10) as ws:
            for message in (
                {"action": "subscribe", "symbols": ["eth/usdt", "DOGEUSDT"]},
                {"action": "unsubscribe", "symbols": ["ETHUSDT"]},
                {"action": "ping"},
                {"action": "dance"},
            ):
                await ws.send(json.dumps(message))
            replies = []
            while len([r for r in replies if r["type"] not in ("price", "prices")]) < 5:
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return [r for r in replies if r["type"] not in ("price", "prices")]

    replies = asyncio.run(talk())
    assert replies[0]["type"] == "error" and "DOGEUSDT" in replies[0]["message"]
    assert replies[1] == {"type": "subscribed", "symbols": ["ETHUSDT"]}
    assert replies[2] == {"type": "subscribed", "symbols": []}
    assert replies[3] == {"type": "pong"}
    assert replies[4]["type"] == "error" and "subscribe" in replies[4]["message"]


def test_unauthenticated_socket_is_closed(live_server_stack, transactional_db):
    url = live_server_stack.url.replace("http", "ws") + "/ws/price?symbols=BTCUSDT&token=bad"

    async def attempt() -> int | None:
        try:
            async with websockets.connect(url, open_timeout=10) as ws:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        return None

    assert asyncio.run(attempt()) in (4401, 403)
