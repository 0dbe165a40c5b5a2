"""/health against a Redis that is stopped and started under a running web process."""

from __future__ import annotations

import shutil
import subprocess
import time

import httpx
import pytest

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.testing.fixtures import live_env
from cryptobot.testing.live import LiveProcesses, free_port

pytestmark = pytest.mark.live


def _start_redis(port: int, workdir) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if out.stdout.strip() == "PONG":
            return proc
        time.sleep(0.1)
    raise RuntimeError("private redis-server did not start")


def _redis_ok(url: str) -> tuple[int, dict]:
    response = httpx.get(f"{url}/health", timeout=5)
    return response.status_code, response.json()


def test_redis_outage_shows_within_two_seconds_and_recovers(transactional_db, user, tmp_path):
    token = api_token_get_or_create(user=user).key
    port = free_port()
    redis = _start_redis(port, tmp_path)
    web = LiveProcesses(
        ("proxy", "http"),
        # One gunicorn worker: the requests here come one at a time.
        {**live_env(), "REDIS_URL": f"redis://127.0.0.1:{port}/0", "WEB_WORKERS": "1"},
        log_name="health",
    )
    try:
        web.wait_http()
        status, body = _redis_ok(web.url)
        assert body["components"]["redis"]["ok"] is True

        redis.terminate()
        redis.wait(timeout=10)
        # The very first request after the stop already reports it (no grace period, no
        # cached verdict); the probe's socket timeouts bound how long it can take.
        status, body = _redis_ok(web.url)
        assert status == 503 and "redis" in body["failing"], body
        assert body["components"]["redis"]["ok"] is False and body["components"]["redis"]["error"]
        # API routes that need Redis say so with a 503, never a 500.
        priced = httpx.get(
            f"{web.url}/price/BTCUSDT", headers={"Authorization": f"Token {token}"}, timeout=5
        )
        assert priced.status_code == 503
        assert "Redis" in priced.json()["error"]["message"]

        redis = _start_redis(port, tmp_path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, body = _redis_ok(web.url)
            if body["components"]["redis"]["ok"]:
                break
            time.sleep(0.2)
        assert body["components"]["redis"]["ok"] is True, body
    finally:
        web.stop()
        redis.terminate()
        redis.wait(timeout=10)
