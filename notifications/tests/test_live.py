"""Notifications end to end on the real serving layout (nginx → gunicorn + daphne), a real
Celery worker, a real SMTP server and real WebSocket clients.

A trade is opened and closed through the REST API while the SMTP server is down: the
owner's socket gets the notification within 1 s of the close, another user's socket gets
nothing; the worker's deliveries fail and retry with backoff; once the server is back each
event's e-mail arrives exactly once."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.testing.fixtures import live_env
from cryptobot.testing.live import LiveProcesses
from notifications.models import EmailDelivery, Notification
from notifications.services.email import config_update
from trading.services.prices import prices_poll

pytestmark = pytest.mark.live


@pytest.fixture
def mail_worker(transactional_db):
    """A real worker whose e-mail retries come back within a second or two."""
    env = {**live_env(), "EMAIL_RETRY_BASE_SECONDS": "0.5", "EMAIL_RETRY_MAX_SECONDS": "1.5"}
    procs = LiveProcesses(("worker",), env, log_name="mail-worker")
    try:
        yield procs
    finally:
        procs.kill()  # a warm shutdown takes seconds and the test is over


async def _next(ws, timeout: float) -> dict | None:
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except TimeoutError:
        return None


async def _trade_and_watch(base: str, token: str, other_token: str) -> dict:
    ws_base = base.replace("http", "ws") + "/ws/notifications?token="
    async with (
        websockets.connect(ws_base + token, open_timeout=10) as mine,
        websockets.connect(ws_base + other_token, open_timeout=10) as theirs,
        httpx.AsyncClient(base_url=base, headers={"Authorization": f"Token {token}"}) as api,
    ):
        hello, other_hello = await _next(mine, 5), await _next(theirs, 5)
        opened = await api.post(
            "/trade",
            json={"symbol": "BTCUSDT", "direction": "long", "quote_amount": "500"},
        )
        assert opened.status_code == 201, opened.text
        on_open = await _next(mine, 5)
        closed = await api.post(f"/trades/{opened.json()['id']}/close", json={})
        assert closed.status_code == 200, closed.text
        on_close = await _next(mine, 1.0)  # within 1 s of the close
        other = await _next(theirs, 1.5)
        await mine.send(json.dumps({"action": "ping"}))
        pong = await _next(mine, 5)
    return {
        "hello": hello,
        "other_hello": other_hello,
        "on_open": on_open,
        "on_close": on_close,
        "other": other,
        "pong": pong,
        "trade": closed.json(),
    }


def test_trade_close_pushes_to_its_owner_and_emails_once_after_smtp_returns(
    live_server_stack, mail_worker, user, other_user, frozen_replay, smtp_server
):
    prices_poll()
    config_update(user=user, data=smtp_server.config())
    config_update(user=other_user, data=smtp_server.config(recipients=["other@example.org"]))
    smtp_server.stop()  # the SMTP server is down when the trade closes
    token = api_token_get_or_create(user=user).key
    other_token = api_token_get_or_create(user=other_user).key

    seen = asyncio.run(_trade_and_watch(live_server_stack.url, token, other_token))

    assert seen["hello"] == {"type": "unread", "unread_count": 0}
    assert seen["other_hello"] == {"type": "unread", "unread_count": 0}
    assert seen["on_open"]["notification"]["kind"] == "trade_opened"
    pushed = seen["on_close"]
    assert pushed is not None, "no notification within 1 s of the close"
    assert pushed["type"] == "notification" and pushed["unread_count"] == 2
    note = pushed["notification"]
    assert note["kind"] == "trade_closed" and note["data"]["trade_id"] == seen["trade"]["id"]
    assert note["data"]["exit_price"] == seen["trade"]["exit_price"]
    assert seen["other"] is None  # the other user's socket heard nothing
    assert seen["pong"] == {"type": "pong"}
    assert Notification.objects.get(pk=note["id"]).user_id == user.pk
    assert not Notification.objects.filter(user=other_user).exists()

    # The worker tries, fails (server down) and backs off.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        attempts = list(EmailDelivery.objects.values_list("attempts", flat=True))
        if len(attempts) == 2 and min(attempts) >= 2:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"no retries seen: {attempts}\n{mail_worker.log()}")
    assert set(EmailDelivery.objects.values_list("status", flat=True)) <= {"queued", "sending"}
    assert "Could not connect" in EmailDelivery.objects.first().last_error

    smtp_server.start()
    messages = smtp_server.wait_for(2, timeout=60)
    time.sleep(3)  # any duplicate would have arrived by now
    assert len(smtp_server.messages) == 2, [m["Subject"] for m in smtp_server.messages]
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == ["[cryptobot] BTCUSDT long closed", "[cryptobot] BTCUSDT long opened"]
    closing = next(m for m in messages if "closed" in m["Subject"])
    text = closing.get_body(("plain",)).get_content()
    assert seen["trade"]["exit_price"] in text and seen["trade"]["quantity"] in text
    assert {r for _, rcpts in smtp_server.envelopes for r in rcpts} == {"trader@example.org"}
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {"sent"}
    # The worker logged each failed attempt, never the password.
    mail_worker.log()  # flushed
    logs = mail_worker.log_path.read_text() + live_server_stack.log_path.read_text()
    assert "will retry" in logs and smtp_server.password not in logs


def test_unauthenticated_notification_socket_is_closed(live_server_stack, transactional_db):
    async def attempt() -> int | None:
        url = live_server_stack.url.replace("http", "ws") + "/ws/notifications?token=bogus"
        try:
            async with websockets.connect(url, open_timeout=10) as ws:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        return None

    assert asyncio.run(attempt()) in (4401, 403)
