"""/ws/price fan-out: 500 clients, each subscribed to every watched symbol; p50/p99 from the
publish of one poll's update to its receipt by every client (all of its symbols).

The benchmark publishes the poll's message itself (the same Redis message the price poll
publishes), so the clock starts at the publish. Goal: p99 under 250 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import websockets

from bench.harness import live_stack, manage, median, print_table

CLIENTS = int(os.environ.get("BENCH_WS_CLIENTS", "500"))
ROUNDS = 20
GOAL_P99_MS = 250
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _client(url: str, ready: asyncio.Event, counter: list[int], inbox: asyncio.Queue) -> None:
    async with websockets.connect(url, open_timeout=60, max_queue=None) as ws:
        await ws.recv()  # {"type": "subscribed"}
        counter[0] += 1
        if counter[0] == CLIENTS:
            ready.set()
        seen: dict[int, int] = {}
        async for raw in ws:
            frame = json.loads(raw)
            messages = frame["prices"] if frame.get("type") == "prices" else [frame]
            for message in messages:
                if message.get("type") != "price":
                    continue
                stamp = message["timestamp"]
                seen[stamp] = seen.get(stamp, 0) + 1
                if seen[stamp] == len(SYMBOLS):
                    inbox.put_nowait((stamp, time.perf_counter()))


def _publisher(env: dict[str, str]):
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cryptobot.settings"
    import django

    django.setup()
    import redis.asyncio as aioredis
    from django.conf import settings

    from trading.price_stream import price_channel

    client = aioredis.Redis.from_url(settings.REDIS_URL)

    async def publish(stamp: int) -> float:
        payloads = [
            {
                "symbol": s,
                "price": "100.00",
                "bid": "99.99",
                "ask": "100.01",
                "change_24h_pct": "0.000",
                "high_24h": "101",
                "low_24h": "99",
                "volume_24h": "1",
                "timestamp": stamp,
                "source": "bench",
                "fetched_at": int(time.time() * 1000),
            }
            for s in SYMBOLS
        ]
        started = time.perf_counter()
        await client.publish(price_channel(), json.dumps(payloads))
        return started

    return publish


async def _wait_for_daphne(url: str) -> None:
    """nginx answers before daphne binds its socket: retry until a handshake succeeds."""
    for _ in range(120):
        try:
            async with websockets.connect(url, open_timeout=5):
                await asyncio.sleep(2)  # let daphne finish warming up (imports, connections)
                return
        except (OSError, websockets.InvalidStatus):
            await asyncio.sleep(0.5)
    raise RuntimeError("daphne never accepted a WebSocket")


async def _run(url: str, env: dict[str, str]) -> list[float]:
    await _wait_for_daphne(url)
    publish = _publisher(env)
    ready = asyncio.Event()
    counter = [0]
    inbox: asyncio.Queue = asyncio.Queue()
    clients = []
    for _ in range(CLIENTS):
        clients.append(asyncio.create_task(_client(url, ready, counter, inbox)))
        await asyncio.sleep(0.002)  # connect steadily rather than all at once
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(1)
    latencies: list[float] = []
    for round_no in range(ROUNDS):
        stamp = 1_000_000 + round_no
        started = await publish(stamp)
        got = 0
        while got < CLIENTS:
            try:
                received_stamp, at = await asyncio.wait_for(inbox.get(), 10)
            except TimeoutError:
                print(f"round {round_no}: only {got} of {CLIENTS} clients got the update")
                raise
            if received_stamp == stamp:
                latencies.append((at - started) * 1000)
                got += 1
        await asyncio.sleep(0.5)
    for task in clients:
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    return latencies


def main() -> None:
    with live_stack(only=("proxy", "http", "ws")) as stack:
        manage(stack.env, "setup", "--no-backfill", "--no-ml")
        url = stack.url.replace("http", "ws") + (
            f"/ws/price?symbols={','.join(SYMBOLS)}&token={stack.token}"
        )
        latencies = asyncio.run(_run(url, stack.env))
    p99 = _percentile(latencies, 99)
    print(
        f"/ws/price: {CLIENTS} clients x {len(SYMBOLS)} symbols, {ROUNDS} polls; "
        "latency from publish to the last symbol's frame at each client"
    )
    print_table(
        ["clients", "frames/poll", "p50 ms", "p99 ms", "max ms", "goal"],
        [
            [
                CLIENTS,
                CLIENTS,
                f"{median(latencies):.0f}",
                f"{p99:.0f}",
                f"{max(latencies):.0f}",
                f"p99 < {GOAL_P99_MS} ms: {'met' if p99 < GOAL_P99_MS else 'MISSED'}",
            ]
        ],
    )
