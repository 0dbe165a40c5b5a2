"""HTTP throughput of the serving layout against a bare DRF view: `python -m bench http`.

(a) `GET /api/token` with `Authorization: Token ...` through nginx → gunicorn, as `make run`
    serves it: full middleware, cached token lookup (Redis), per-user throttle (Redis), and
    the view's own read of the Token row (PostgreSQL).
(b) A bare DRF APIView (bench/bare_drf.py: no middleware, auth, throttle or database) under
    gunicorn sync workers with the same worker count, straight on a TCP port.

Both are up at the same time and are measured alternately, run by run, so machine noise hits
both alike; the figure reported is the median of BENCH_RUNS runs (default 3). The goal is
(a) / (b) >= 0.5.
"""

from __future__ import annotations

import os

import httpx

from bench.harness import (
    THROTTLE_USER_RATE,
    gunicorn_app,
    live_stack,
    median,
    print_table,
    run_wrk,
    web_workers,
)

GOAL_RATIO = 0.5
CONNECTIONS = 32
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def _summary(runs: list[dict]) -> dict:
    return {
        "rps": median([r["rps"] for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "all_rps": [r["rps"] for r in runs],
    }


def main() -> None:
    workers = web_workers()
    print(
        f"wrk -t2 -c{CONNECTIONS} -d{DURATION}s --latency, {RUNS} interleaved runs, median;"
        f" {os.cpu_count()} cores; gunicorn sync workers: {workers} (WEB_WORKERS)"
    )
    print(
        f"NOTE: THROTTLE_USER_RATE={THROTTLE_USER_RATE} for this run: {CONNECTIONS} connections"
        " from one user would otherwise be throttled (default 6000/min) and measure 429s."
    )
    bare_app = gunicorn_app("bench.bare_drf:application", workers, "/bare")
    with live_stack() as stack, bare_app as bare:
        layout_url = f"{stack.url}/api/token"
        bare_url = f"{bare}/bare"
        check = httpx.get(layout_url, headers=stack.auth_headers, timeout=10)
        if check.status_code != 200 or check.json().get("token") != stack.token:
            raise RuntimeError(f"GET /api/token answered {check.status_code}: {check.text[:300]}")
        httpx.get(bare_url, timeout=10).raise_for_status()

        # Warm up: gunicorn workers import lazily and the token cache fills on first use.
        run_wrk(layout_url, stack.auth_headers, CONNECTIONS, 2)
        run_wrk(bare_url, None, CONNECTIONS, 2)

        layout_runs: list[dict] = []
        bare_runs: list[dict] = []
        for n in range(RUNS):
            layout_runs.append(run_wrk(layout_url, stack.auth_headers, CONNECTIONS, DURATION))
            bare_runs.append(run_wrk(bare_url, None, CONNECTIONS, DURATION))
            print(
                f"  run {n + 1}/{RUNS}: layout {layout_runs[-1]['rps']:,.0f} req/s,"
                f" bare {bare_runs[-1]['rps']:,.0f} req/s",
                flush=True,
            )

    layout = _summary(layout_runs)
    ref = _summary(bare_runs)
    ratio = layout["rps"] / ref["rps"] if ref["rps"] else 0.0
    print()
    print_table(
        ["serving", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock err", "runs (req/s)"],
        [
            [
                f"(a) GET /api/token, nginx -> gunicorn x{workers}, token+throttle+ORM",
                f"{layout['rps']:,.0f}",
                f"{layout['p50_ms']:.1f}",
                f"{layout['p99_ms']:.1f}",
                layout["non_2xx"],
                layout["socket_errors"],
                " ".join(f"{v:,.0f}" for v in layout["all_rps"]),
            ],
            [
                f"(b) bare DRF APIView, gunicorn x{workers}, TCP, no auth",
                f"{ref['rps']:,.0f}",
                f"{ref['p50_ms']:.1f}",
                f"{ref['p99_ms']:.1f}",
                ref["non_2xx"],
                ref["socket_errors"],
                " ".join(f"{v:,.0f}" for v in ref["all_rps"]),
            ],
        ],
    )
    verdict = "met" if ratio >= GOAL_RATIO else "MISSED"
    print(f"\nratio (a)/(b) = {ratio:.2f}  (goal >= {GOAL_RATIO}: {verdict})")
    if layout["non_2xx"] or layout["socket_errors"]:
        print("WARNING: the layout answered errors; the figure above is not a clean read.")
