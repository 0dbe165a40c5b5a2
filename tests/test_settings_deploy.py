"""The settings in production mode, each case in a fresh `manage.py` process.

The settings module reads the environment once at import, so every case runs manage.py in a
subprocess with the environment under test instead of overriding settings in this process.
The slow runs start together (the ``runs`` fixture) and each test reads its own outcome.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str], timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def production_env(**overrides: str) -> dict[str, str]:
    """The test environment turned into a production one behind a TLS proxy."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "1",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "bot.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://bot.example.com",
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[Callable[[str], subprocess.CompletedProcess]]:
    """The module's slow manage.py runs (seconds each, nearly all of it Django starting),
    all started at once on first use: separate processes, so they overlap on the cores
    instead of queueing. ``runs(name)`` waits for one and returns its outcome."""
    work = tmp_path_factory.mktemp("manage")
    var_dir = tmp_path_factory.mktemp("var")
    sqlite_env = production_env(VAR_DIR=str(var_dir), HTTPS="0")
    del sqlite_env["DATABASE_URL"]
    check = ("check", "--deploy", "--fail-level", "WARNING")
    commands = {
        "deploy": (check, production_env()),
        "deploy without https": (check, production_env(HTTPS="0")),
        "sqlite migrate": (("migrate", "--noinput", "-v", "0"), sqlite_env),
    }
    started = {}
    for name, (args, env) in commands.items():
        out, err = (work / f"{name}.out").open("w+"), (work / f"{name}.err").open("w+")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=out, stderr=err
        )
        started[name] = (process, out, err)

    def outcome(name: str) -> subprocess.CompletedProcess:
        process, out, err = started[name]
        process.wait(timeout=150)
        out.seek(0), err.seek(0)
        return subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read())

    outcome.var_dir = var_dir
    try:
        yield outcome
    finally:
        for process, out, err in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            out.close()
            err.close()


def test_deploy_check_passes_in_production_mode(runs):
    result = runs("deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"manage.py check --deploy failed:\n{output}"
    assert "no issues" in output


def test_deploy_check_without_https_names_the_missing_hardening(runs):
    # HTTPS=1 is what turns on the secure cookies, HSTS and the redirect: without it the
    # deploy check must say so (proves the check above really ran the security checks).
    result = runs("deploy without https")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    found = set(re.findall(r"security\.W\d{3}", output))
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= found


def test_debug_off_without_secret_key_fails_loudly():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "required" in result.stderr


def test_without_database_url_sqlite_lives_in_var_dir_in_wal_mode(runs):
    migrated = runs("sqlite migrate")  # VAR_DIR set, DATABASE_URL not
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    # The migrations went into var/cryptobot.sqlite3, and WAL is a property of the file
    # (kept once set): sqlite itself reads both back, no second Django process needed.
    database = runs.var_dir / "cryptobot.sqlite3"
    assert database.stat().st_size > 0
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        applied = connection.execute("SELECT app FROM django_migrations").fetchall()
    assert {"auth", "trading", "ml"} <= {app for (app,) in applied}
