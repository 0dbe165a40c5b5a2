"""pytest fixtures: users, authenticated API clients, and the live serving stack."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.lib.redis import redis_client
from cryptobot.testing.factories import PASSWORD, UserFactory
from cryptobot.testing.live import BASE_DIR, LiveProcesses
from cryptobot.testing.smtp import SmtpServer
from trading.services.exchange import current_exchange, replay_clock_ensure
from trading.services.markets import symbols_seed, watched_symbols_changed


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts with an empty cache (tests use their own Redis database)."""
    cache.clear()
    yield


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api_client(user) -> APIClient:
    """An API client authenticated with the user's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=user).key}")
    return client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


def live_env() -> dict[str, str]:
    """Environment for processes that must see the test database."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        "DATABASE_URL": url,
        "DEBUG": "0",
        "VAR_DIR": str(BASE_DIR / "var" / "test"),
        # The test SMTP server (smtp_server) listens on loopback, which is refused otherwise.
        "SMTP_ALLOWED_HOSTS": "127.0.0.1",
    }


@pytest.fixture(scope="session")
def live_server_stack(django_db_setup, django_db_blocker) -> Iterator[LiveProcesses]:
    """nginx + gunicorn + daphne on a free port, as `make run` serves them."""
    env = live_env()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        check=True,
    )
    stack = LiveProcesses(("proxy", "http", "ws"), env, log_name="web")
    try:
        stack.wait_http()
        yield stack
    finally:
        stack.stop()


def _celery_processes(only: tuple[str, ...]) -> Iterator[LiveProcesses]:
    redis_client().delete(*list(redis_client().scan_iter("worker:heartbeat:*")) or ["-"])
    procs = LiveProcesses(only, live_env(), log_name="workers")
    try:
        yield procs
    finally:
        procs.kill()  # a warm shutdown takes seconds and the test is over


@pytest.fixture
def live_workers(transactional_db) -> Iterator[LiveProcesses]:
    """A real Celery worker and beat against the test database and Redis."""
    yield from _celery_processes(("worker", "beat"))


@pytest.fixture
def live_worker(transactional_db) -> Iterator[LiveProcesses]:
    """A real Celery worker alone, for tests that queue their tasks themselves (no beat:
    it would only compete for the CPU while the worker starts)."""
    yield from _celery_processes(("worker",))


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd, login required) on 127.0.0.1, admitted by the allow-list
    here and in the live processes (live_env)."""
    settings.SMTP_ALLOWED_HOSTS = "127.0.0.1"
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- market data ----------------------------------------------------------------------


@pytest.fixture
def markets(db):
    symbols_seed()
    watched_symbols_changed()


def _replay(speed: float):
    """Re-anchor the replay clock at ``speed`` and rebuild this process's adapter on it."""
    replay_clock_ensure(speed=speed)
    current_exchange.cache_clear()
    return current_exchange()


@pytest.fixture
def frozen_replay(markets):
    """Replay time practically stands still: every poll sees the same instant."""
    exchange = _replay(1e-9)
    yield exchange
    current_exchange.cache_clear()


@pytest.fixture
def fast_replay(markets):
    """Replay at 600x: a minute of market per 0.1 s, so successive polls differ."""
    exchange = _replay(600.0)
    yield exchange
    current_exchange.cache_clear()
