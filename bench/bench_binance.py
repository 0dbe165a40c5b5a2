"""Signed POST /fapi/v1/order through real ccxt: orders per second and p50/p99.

16 concurrent ccxt (async) binanceusdm clients, one account and API key each, each placing
minimum-size BTCUSDT market buys as fast as answers come back, against the `make run`
layout on PostgreSQL (with the Celery worker and beat polling prices and processing ticks).
Goal: at least 200 orders/s with p99 under 200 ms. Each figure is the median of three runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import ccxt.async_support as ccxt_async

from bench.harness import live_stack, manage, print_table

CLIENTS = 16
RUNS = 3
SECONDS = 8.0
GOAL_RPS = 200
GOAL_P99_MS = 200

_KEYS = """
from django.contrib.auth import get_user_model
from trading.services.api_keys import api_key_create
from trading.services.paper import account_get
from trading.services.prices import prices_poll
prices_poll()
for i in range({n}):
    user, _ = get_user_model().objects.get_or_create(username=f"ccxt{{i}}")
    account_get(user=user)
    key, secret = api_key_create(user=user, label="bench")
    print(f"KEY={{key.key}}:{{secret}}")
"""


def _client(base: str, key: str, secret: str):
    exchange = ccxt_async.binanceusdm(
        {
            "apiKey": key,
            "secret": secret,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str) and url.startswith("https://"):
            exchange.urls["api"][name] = base + "/" + url.split("/", 3)[3]
    return exchange


async def _trader(exchange, until: float, latencies: list[float], errors: list[str]) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            await exchange.create_order("BTC/USDT:USDT", "market", "buy", 0.001)
        except Exception as exc:  # a refusal is a result to report, not a crash
            errors.append(type(exc).__name__)
            continue
        latencies.append((time.perf_counter() - started) * 1000)


async def _run(clients: list, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_trader(c, until, latencies, errors) for c in clients))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) if ordered else 0.0,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] if ordered else 0.0,
        "errors": len(errors),
    }


async def _bench(base: str, credentials: list[tuple[str, str]]) -> list[dict]:
    clients = [_client(base, key, secret) for key, secret in credentials]
    try:
        await asyncio.gather(*(c.load_markets() for c in clients))
        await _run(clients, 2.0)  # warm-up
        return [await _run(clients, SECONDS) for _ in range(RUNS)]
    finally:
        await asyncio.gather(*(c.close() for c in clients))


def main() -> None:
    extra = {"PAPER_INITIAL_BALANCE": "1000000"}
    with live_stack(only=("proxy", "http", "ws", "worker", "beat"), extra_env=extra) as stack:
        manage(stack.env, "setup", "--no-backfill", "--no-ml")
        out = manage(stack.env, "shell", "-c", _KEYS.format(n=CLIENTS))
        credentials = [
            tuple(line[4:].split(":", 1)) for line in out.splitlines() if line.startswith("KEY=")
        ]
        runs = asyncio.run(_bench(stack.url, credentials))
    median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    ok = median["rps"] >= GOAL_RPS and median["p99_ms"] < GOAL_P99_MS
    print("orders/s per run: " + ", ".join(f"{r['rps']:.0f}" for r in runs))
    print(
        f"signed POST /fapi/v1/order via ccxt binanceusdm, {CLIENTS} clients on {CLIENTS}"
        f" accounts, PostgreSQL; median of {RUNS} runs of {SECONDS:.0f} s"
    )
    print_table(
        ["clients / accounts", "orders/s", "p50 ms", "p99 ms", "errors", "goal"],
        [
            [
                f"{CLIENTS} / {CLIENTS}",
                f"{median['rps']:.0f}",
                f"{median['p50_ms']:.1f}",
                f"{median['p99_ms']:.1f}",
                median["errors"],
                f">= {GOAL_RPS}/s, p99 < {GOAL_P99_MS} ms: {'met' if ok else 'MISSED'}",
            ]
        ],
    )
