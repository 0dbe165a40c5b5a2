"""The settings in production mode, each case in a fresh `manage.py` process.

The settings module reads the environment once at import, so every case runs manage.py in a
subprocess with the environment under test instead of overriding settings in this process.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

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


def test_deploy_check_passes_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"manage.py check --deploy failed:\n{output}"
    assert "no issues" in output


def test_deploy_check_without_https_names_the_missing_hardening():
    # HTTPS=1 is what turns on the secure cookies, HSTS and the redirect: without it the
    # deploy check must say so (proves the check above really ran the security checks).
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(HTTPS="0"))
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


_JOURNAL = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print("MODE=" + cursor.fetchone()[0])
print("NAME=" + str(connection.settings_dict["NAME"]))
"""


def test_without_database_url_sqlite_lives_in_var_dir_in_wal_mode(tmp_path):
    env = production_env(VAR_DIR=str(tmp_path), HTTPS="0")
    del env["DATABASE_URL"]
    migrated = manage("migrate", "--noinput", "-v", "0", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    result = manage("shell", "-c", _JOURNAL, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MODE=wal" in result.stdout
    database = tmp_path / "cryptobot.sqlite3"
    assert f"NAME={database}" in result.stdout
    assert database.stat().st_size > 0
