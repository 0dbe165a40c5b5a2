"""docker-compose.yml, .env.example, the Dockerfile and the README agree with the code.

Docker cannot run where the tests run, so these parse the files and hold them against what
the settings and the launcher read: compose must run the same serving layout as `make run`,
set only variables the bot reads, point at its own PostgreSQL and Redis, and every variable
the bot reads must be documented.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from cryptobot.launcher import PROCESSES

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("cryptobot", "trading", "ml", "notifications", "dashboard")
ENV_READ = re.compile(
    r"""\b(?:env_str|env_bool|env_int|env_float|env_list|os\.environ\.get|os\.getenv)\(\s*"""
    r"""["']([A-Z][A-Z0-9_]*)["']"""
)
# `NAME=value` (set) or `#NAME=value` (documented default); prose comments have "# ".
ENV_EXAMPLE_LINE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
REQUIRED_SERVICES = {"postgres", "redis", "web", "worker", "beat"}
LAYOUT = {"web": "proxy,http,ws", "worker": "worker", "beat": "beat"}


@cache
def known_variables() -> frozenset[str]:
    """Every environment variable the bot's code reads (tests and test helpers excluded)."""
    names: set[str] = set()
    for top in CODE_DIRS:
        for path in (ROOT / top).rglob("*.py"):
            if {"tests", "testing", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            names.update(ENV_READ.findall(path.read_text()))
    return frozenset(names)


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run the bot's own image."""
    return {name: svc for name, svc in services().items() if "build" in svc}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def env_example() -> dict[str, str]:
    return dict(ENV_EXAMPLE_LINE.findall((ROOT / ".env.example").read_text()))


def test_code_scan_finds_the_variables_of_settings_and_launcher():
    # Guards the scan itself: if it found nothing, every later check would pass vacuously.
    assert {"DATABASE_URL", "SECRET_KEY", "REDIS_URL", "WATCHED_SYMBOLS"} <= known_variables()
    assert {"WEB_WORKERS", "RUN_DIR", "BIND_ADDRESS", "STATIC_ROOT"} <= known_variables()


def test_compose_has_every_service_with_a_health_check():
    missing = REQUIRED_SERVICES - set(services())
    assert not missing, f"docker-compose.yml lacks services {sorted(missing)}"
    for name in REQUIRED_SERVICES:
        check = services()[name].get("healthcheck")
        assert check and check.get("test"), f"service {name} has no healthcheck"
        assert services()[name].get("restart") == "unless-stopped", name


def test_app_services_run_the_make_run_layout():
    for name, only in LAYOUT.items():
        assert "build" in services()[name], f"{name} must run the bot's image"
        assert command(services()[name]) == [
            "python",
            "-m",
            "cryptobot.launcher",
            "serve",
            "--only",
            only,
        ], name
    started = {proc for only in LAYOUT.values() for proc in only.split(",")}
    assert started == set(PROCESSES), "compose must start every process make run starts"


def test_extra_services_are_one_shot_setup_that_the_app_waits_for():
    extras = set(services()) - REQUIRED_SERVICES
    assert extras == {"setup"}
    setup = services()["setup"]
    assert setup["restart"] == "no"
    script = " ".join(command(setup))
    for step in ("manage.py migrate", "manage.py collectstatic", "manage.py setup"):
        assert step in script
    for name in LAYOUT:
        depends = services()[name]["depends_on"]
        assert depends["setup"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_app_environment_sets_only_variables_the_bot_reads():
    for name, svc in app_services().items():
        unknown = set(environment(svc)) - known_variables()
        assert not unknown, f"service {name} sets {sorted(unknown)}, which no code reads"


def test_env_example_lists_exactly_the_variables_the_bot_reads():
    listed = set(env_example())
    assert not listed - known_variables(), (
        f".env.example lists {sorted(listed - known_variables())}, which no code reads"
    )
    assert not known_variables() - listed, (
        f".env.example misses {sorted(known_variables() - listed)}"
    )


def test_env_example_defaults_are_the_settings_defaults():
    """A documented default (#NAME=value) is what settings.NAME is with NAME unset."""
    documented = {k: v for k, v in env_example().items() if v}
    env = {k: v for k, v in os.environ.items() if k not in known_variables()}
    env["SECRET_KEY"] = "x" * 50
    code = (
        "import json, pathlib; from django.conf import settings;"
        f"names = {sorted(documented)!r};"
        "values = {n: getattr(settings, n) for n in names if hasattr(settings, n)};"
        "print(json.dumps({n: [isinstance(v, pathlib.Path), v] for n, v in values.items()},"
        " default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "cryptobot.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    actual = json.loads(result.stdout)
    assert {"PORT", "THROTTLE_USER_RATE", "REPLAY_SPEED", "VAR_DIR"} <= set(actual)
    for name, (is_path, value) in actual.items():
        raw = documented[name]
        expected: Any
        if is_path:  # documented relative to the project directory
            expected = str((ROOT / raw).resolve())
        elif isinstance(value, bool):
            expected = raw.lower() in ("1", "true", "yes", "on")
        elif isinstance(value, float):
            expected = float(raw)
        elif isinstance(value, int):
            expected = int(raw)
        elif isinstance(value, list):
            expected = [item.strip() for item in raw.split(",")]
        else:
            expected = raw
        assert value == expected, f".env.example says {name}={raw}, settings default {value!r}"


def test_database_url_points_at_the_postgres_service():
    postgres = environment(services()["postgres"])
    for name, svc in app_services().items():
        url = urlparse(environment(svc)["DATABASE_URL"])
        assert url.scheme in ("postgres", "postgresql"), name
        assert url.hostname == "postgres", name
        assert url.port in (None, 5432), name
        assert url.username == postgres["POSTGRES_USER"], name
        assert url.password == postgres["POSTGRES_PASSWORD"], name
        assert url.path.lstrip("/") == postgres["POSTGRES_DB"], name


def test_redis_url_points_at_the_redis_service():
    for name, svc in app_services().items():
        url = urlparse(environment(svc)["REDIS_URL"])
        assert url.scheme == "redis", name
        assert url.hostname == "redis", name
        assert url.port in (None, 6379), name


def test_web_publishes_port_8000_where_nginx_listens():
    ports = services()["web"]["ports"]
    targets = {
        int(str(p).rsplit(":", 1)[-1]) if not isinstance(p, dict) else int(p["target"])
        for p in ports
    }
    assert 8000 in targets
    env = environment(services()["web"])
    assert env["PORT"] == "8000"
    assert env["BIND_ADDRESS"] == "0.0.0.0"
    for name in set(services()) - {"web"}:
        assert not services()[name].get("ports"), f"{name} must not be published"


def test_state_lives_in_named_volumes_and_sockets_stay_per_container():
    declared = set(compose()["volumes"])
    expected = {"postgres": "/var/lib/postgresql/data", "redis": "/data"}
    for name, target in expected.items():
        mounts = dict(str(v).split(":", 1)[::-1] for v in services()[name]["volumes"])
        assert mounts.get(target) in declared, f"{name} keeps {target} outside a named volume"
    for name, svc in app_services().items():
        env = environment(svc)
        mounts = dict(str(v).split(":", 1)[::-1] for v in svc["volumes"])
        assert mounts.get(env["VAR_DIR"]) in declared, f"{name}: VAR_DIR is not a volume"
        # Sockets and beat.pid on a shared volume would let one container delete another's.
        assert not env["RUN_DIR"].startswith(env["VAR_DIR"]), name


def test_secrets_are_required_not_defaulted():
    for name, svc in app_services().items():
        env = environment(svc)
        for secret in ("SECRET_KEY", "DEMO_PASSWORD"):
            assert env[secret].startswith("${" + secret + ":?"), f"{name}: {secret} {env[secret]}"


@pytest.mark.parametrize("service", sorted(REQUIRED_SERVICES))
def test_python_health_checks_compile(service):
    test = services()[service]["healthcheck"]["test"]
    if test[:3] == ["CMD", "python", "-c"]:
        compile(test[3], f"{service} healthcheck", "exec")


def test_dockerfile_builds_the_layout_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert "nginx" in dockerfile, "the layout's front proxy must be in the image"
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^EXPOSE\s+8000\b", dockerfile, re.MULTILINE)
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", ".git"} <= ignored


def test_readme_documents_every_variable():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in known_variables() if f"`{name}`" not in readme)
    assert not missing, f"README.md does not document {missing}"
