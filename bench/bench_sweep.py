"""A backtest parameter sweep through the API: wall time with one and with two Celery
worker processes (the sweep is one Celery group, so every worker process takes a share).

24 sma_cross parameter sets on the shipped BTCUSDT 1h candles (about seven years), served
as `make run` serves it on PostgreSQL; the same sweep with CELERY_CONCURRENCY=1 and =2.
"""

from __future__ import annotations

import time

import httpx

from bench.harness import BASE_DIR, live_stack, manage, print_table

GRID = {"fast": [5, 10, 15, 20, 25, 30], "slow": [40, 60, 80, 100]}
SWEEP = {
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "strategy": "sma_cross",
    "grid": GRID,
    "metric": "sharpe",
}


def _sweep(concurrency: int) -> dict:
    extra = {"CELERY_CONCURRENCY": str(concurrency)}
    with live_stack(only=("proxy", "http", "worker"), extra_env=extra) as stack:
        manage(stack.env, "setup", "--no-backfill", "--no-ml")
        data = BASE_DIR / "trading" / "data" / "BTCUSDT-1h.csv.gz"
        manage(stack.env, "candles_import", str(data), "--no-progress")
        started = time.perf_counter()
        reply = httpx.post(
            f"{stack.url}/backtest/sweep", json=SWEEP, headers=stack.auth_headers, timeout=60
        )
        reply.raise_for_status()
        sweep_id = reply.json()["id"]
        while True:
            state = httpx.get(
                f"{stack.url}/backtest/sweep/{sweep_id}", headers=stack.auth_headers, timeout=30
            ).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.25)
        wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "sets": state["total"],
        "stored": sum(1 for r in state["results"] if r["status"] == "done"),
    }


def main() -> None:
    one = _sweep(1)
    two = _sweep(2)
    print(f"POST /backtest/sweep: sma_cross grid of {one['sets']} sets on BTCUSDT 1h, PostgreSQL")
    print_table(
        ["worker processes", "wall s", "sets stored", "speed-up"],
        [
            ["1", f"{one['wall_s']:.1f}", f"{one['stored']}/{one['sets']}", "1.00x"],
            [
                "2",
                f"{two['wall_s']:.1f}",
                f"{two['stored']}/{two['sets']}",
                f"{one['wall_s'] / two['wall_s']:.2f}x",
            ],
        ],
    )
