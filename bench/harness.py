"""What every benchmark shares: a fresh database, the live serving layout, and wrk.

`live_stack()` starts the processes exactly as `make run` and docker compose do
(`python -m cryptobot.launcher serve`, through cryptobot.testing.live.LiveProcesses) against a
PostgreSQL database made fresh for the run and a Redis database of its own, with one user and
an API token. `run_wrk()` drives a URL with wrk and returns its figures.

Environment knobs: BENCH_POSTGRES_URL (server, default postgres://postgres@127.0.0.1:5432),
BENCH_DATABASE (default cryptobot_bench_<random>), BENCH_REDIS_URL (default db 14), WEB_WORKERS.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis
from psycopg import sql

from cryptobot.launcher import web_workers
from cryptobot.testing.live import LiveProcesses, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# One database per bench process, dropped at the end: two benchmarks running at once on one
# machine must not drop each other's database mid-run.
DATABASE_NAME = os.environ.get("BENCH_DATABASE", f"cryptobot_bench_{secrets.token_hex(3)}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# 32 connections from one user would hit the normal per-user throttle (6000/min) within a
# second and measure 429s. A per-second window keeps DRF's timestamp list as short as it can
# be while still running the throttle code on every request.
THROTTLE_USER_RATE = "1000000/s"
BENCH_USERNAME = "bench"

_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_TIME_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def drop_database(name: str) -> None:
    """Drop a PostgreSQL database if it exists, closing its connections."""
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def recreate_database(name: str = DATABASE_NAME) -> str:
    """Drop and create an empty PostgreSQL database; returns its DATABASE_URL."""
    drop_database(name)
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{POSTGRES_URL}/{name}"


def manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py <args>` with env on top of ours; returns its stdout, raises on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


_CREATE_USER = """
from django.contrib.auth import get_user_model
from cryptobot.api.tokens import api_token_get_or_create
user, _ = get_user_model().objects.get_or_create(username={username!r})
user.set_password({password!r})
user.save()
print("TOKEN=" + api_token_get_or_create(user=user).key)
"""


def create_user_token(env: dict[str, str], username: str = BENCH_USERNAME) -> str:
    """Create a user through Django and return its API token key."""
    code = _CREATE_USER.format(username=username, password=secrets.token_urlsafe(16))
    out = manage(env, "shell", "-c", code)
    match = re.search(r"^TOKEN=(\w+)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no token printed by manage.py shell:\n{out}")
    return match.group(1)


@dataclass
class LiveStack:
    """A running layout: its base URL, environment and a user's token."""

    processes: LiveProcesses
    env: dict[str, str]
    token: str
    username: str = BENCH_USERNAME
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.processes.url

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


@contextmanager
def live_stack(
    only: Iterable[str] = ("proxy", "http", "ws"),
    extra_env: dict[str, str] | None = None,
    username: str = BENCH_USERNAME,
    database: str = DATABASE_NAME,
) -> Iterator[LiveStack]:
    """The `make run` layout on a free port, on a fresh database with one user and token.

    The database (default cryptobot_bench_<random>; stacks alive at the same time need different
    names) is created empty, migrated and dropped at the end; static files are collected into
    a temporary VAR_DIR; the stack's keys in Redis db 14 (cache and channel prefix = the
    database name) are deleted before and after. Processes and directories end with the block.
    """
    var_dir = Path(tempfile.mkdtemp(prefix="cb-bench-var-"))
    env = {
        "DATABASE_URL": recreate_database(database),
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": database,
        "CHANNEL_PREFIX": database,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "VAR_DIR": str(var_dir),
        "WEB_WORKERS": str(web_workers()),
        "THROTTLE_USER_RATE": THROTTLE_USER_RATE,
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    _delete_prefix(REDIS_URL, database)
    processes: LiveProcesses | None = None
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        token = create_user_token(env, username)
        processes = LiveProcesses(tuple(only), env, log_name="bench")
        processes.wait_http()
        _wait_not_502(processes.url)
        yield LiveStack(processes, env, token, username)
    finally:
        if processes is not None:
            processes.stop()
            shutil.rmtree(processes.run_dir, ignore_errors=True)
        shutil.rmtree(var_dir, ignore_errors=True)
        drop_database(database)
        _delete_prefix(REDIS_URL, database)


def _delete_prefix(url: str, prefix: str) -> None:
    """Empty the stack's keys (its cache prefix) from a previous run."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _wait_not_502(url: str, timeout: float = 60) -> None:
    """nginx answers before gunicorn binds its socket; wait for the app itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code not in (502, 504):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} answered only 502/504 for {timeout}s")


@contextmanager
def gunicorn_app(app: str, workers: int, path: str = "/") -> Iterator[str]:
    """Serve a WSGI app with gunicorn sync workers on a TCP port; yields its base URL."""
    port = free_port()
    log_fd, log_name = tempfile.mkstemp(prefix="cb-bench-gunicorn-", suffix=".log")
    log_path = Path(log_name)
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            app,
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    os.close(log_fd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn {app} exited:\n{log_path.read_text()}")
            try:
                httpx.get(url + path, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_path.unlink(missing_ok=True)


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unreadable wrk time {value!r}")
    return float(match.group(1)) * _TIME_MS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/s, latency percentiles (ms), request and error counts from wrk --latency."""
    result: dict = {"non_2xx": 0, "socket_errors": 0}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise ValueError(f"wrk printed no Requests/sec:\n{output}")
    result["rps"] = float(rps.group(1))
    # wrk pads some values with a trailing space ("1.21s ").
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE):
        result[f"p{pct}_ms"] = _to_ms(value)
    if "p99_ms" not in result:
        raise ValueError(f"wrk printed no latency distribution (--latency):\n{output}")
    total = re.search(r"(\d+) requests in", output)
    result["requests"] = int(total.group(1)) if total else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        result["non_2xx"] = int(non_2xx.group(1))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        result["socket_errors"] = sum(int(n) for n in errors.groups())
    return result


def run_wrk(
    url: str,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    duration: int = 10,
    threads: int = 2,
) -> dict:
    """`wrk -t2 -c32 -d10s --latency` on url; returns parse_wrk's figures plus "raw"."""
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    threads = min(threads, connections)  # wrk needs a connection per thread
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    return {**parse_wrk(out), "raw": out}


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table: first column left, the others right."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first, *rest = row
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
