"""GET /price/{symbol}: requests/s and p50/p99 at 32 connections, served as `make run` serves it
(nginx → gunicorn sync workers, with the Celery worker and beat polling prices beside it).

Goal (issue: market data): at least 1,000 requests/s with p99 under 60 ms on this machine.
"""

from __future__ import annotations

import time

import httpx

from bench.harness import live_stack, manage, print_table, run_wrk

GOAL_RPS = 1000
GOAL_P99_MS = 60


def main() -> None:
    with live_stack(only=("proxy", "http", "ws", "worker", "beat")) as stack:
        manage(stack.env, "setup", "--no-backfill", "--no-ml")
        url = f"{stack.url}/price/BTCUSDT"
        deadline = time.monotonic() + 60
        while httpx.get(url, headers=stack.auth_headers, timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("no price after 60 s: is the worker polling?")
            time.sleep(0.5)
        run_wrk(url, stack.auth_headers, duration=3)  # warm-up: workers import, caches fill
        result = run_wrk(url, stack.auth_headers, duration=10)
    ok = result["rps"] >= GOAL_RPS and result["p99_ms"] < GOAL_P99_MS
    print("GET /price/BTCUSDT with a token, wrk -t2 -c32 -d10s, throttle on (raised rate)")
    print_table(
        ["route", "req/s", "p50 ms", "p99 ms", "non-2xx", "goal"],
        [
            [
                "/price/BTCUSDT",
                f"{result['rps']:.0f}",
                f"{result['p50_ms']:.1f}",
                f"{result['p99_ms']:.1f}",
                result["non_2xx"],
                f">= {GOAL_RPS} req/s, p99 < {GOAL_P99_MS} ms: {'met' if ok else 'MISSED'}",
            ]
        ],
    )
