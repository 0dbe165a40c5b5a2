"""Notifications: how fast a notification is stored, pushed and e-mailed, served as
`make run` serves it (nginx → gunicorn + daphne, a Celery worker, PostgreSQL, Redis).

1. Push: 8 concurrent API clients create 400 notifications (POST /notifications) while the
   user's WebSocket is open; prints requests/s and p50/p99 from sending the POST to the
   notification's arrival on /ws/notifications (goal of the notifications issue: within
   1 s).
2. E-mail: the same user's e-mail is pointed at a local SMTP server (aiosmtpd with login);
   200 more notifications; prints e-mails/s from the first POST to the last e-mail
   received, delivered by the worker one task per e-mail.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import websockets

from bench.harness import live_stack, manage, print_table
from cryptobot.testing.smtp import SmtpServer

PUSHES = 400
EMAILS = 200
CLIENTS = 8
GOAL_PUSH_MS = 1000


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _push_round(base: str, headers: dict[str, str], token: str, count: int) -> dict:
    ws_url = base.replace("http", "ws") + f"/ws/notifications?token={token}"
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with websockets.connect(ws_url, open_timeout=30, max_queue=None) as ws:
        await ws.recv()  # the unread count

        async def listen() -> None:
            while len(latencies) < count:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "notification":
                    title = frame["notification"]["title"]
                    latencies.append((time.perf_counter() - sent[title]) * 1000)

        listener = asyncio.create_task(listen())
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def client(api: httpx.AsyncClient) -> None:
            while not queue.empty():
                n = queue.get_nowait()
                title = f"bench {time.time_ns()} {n}"
                sent[title] = time.perf_counter()
                response = await api.post("/notifications", json={"title": title})
                response.raise_for_status()

        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as api:
            await asyncio.gather(*(client(api) for _ in range(CLIENTS)))
        posted = time.perf_counter() - started
        await asyncio.wait_for(listener, 60)
    return {"rps": count / posted, "latencies": latencies}


def main() -> None:
    smtp = SmtpServer()
    smtp.start()
    extra = {"SMTP_ALLOWED_HOSTS": "127.0.0.1", "EMAIL_RATE_LIMIT_PER_HOUR": "100000"}
    try:
        with live_stack(only=("proxy", "http", "ws", "worker"), extra_env=extra) as stack:
            manage(stack.env, "setup", "--no-backfill", "--no-ml")
            push = asyncio.run(_push_round(stack.url, stack.auth_headers, stack.token, PUSHES))
            config = httpx.post(
                stack.url + "/email/config", json=smtp.config(), headers=stack.auth_headers
            )
            config.raise_for_status()
            started = time.perf_counter()
            mail = asyncio.run(_push_round(stack.url, stack.auth_headers, stack.token, EMAILS))
            smtp.wait_for(EMAILS, timeout=600)
            mailed_s = time.perf_counter() - started
    finally:
        smtp.stop()
    lat = push["latencies"]
    rows = [
        ["POST /notifications (8 clients)", f"{push['rps']:.0f} req/s", "", ""],
        [
            "created → /ws/notifications",
            f"{len(lat)} pushes",
            f"p50 {_pct(lat, 50):.1f} ms",
            f"p99 {_pct(lat, 99):.1f} ms",
        ],
        [
            "with e-mail on: POST /notifications",
            f"{mail['rps']:.0f} req/s",
            f"push p99 {_pct(mail['latencies'], 99):.1f} ms",
            "",
        ],
        [
            "e-mails delivered by the worker",
            f"{EMAILS} in {mailed_s:.1f} s",
            f"{EMAILS / mailed_s:.1f}/s",
            "",
        ],
    ]
    print_table(["what", "figure", "", ""], rows)
    verdict = "met" if _pct(lat, 99) <= GOAL_PUSH_MS else "NOT met"
    print(f"goal: pushed within {GOAL_PUSH_MS} ms at p99: {verdict}")
