"""System health: database, Redis and Celery worker liveness, each with its latency.

Each probe is bounded by HEALTH_TIMEOUT_SECONDS so /health answers within ~2 s even when a
component hangs. Later issues add the price feed's age.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from redis.exceptions import RedisError

from cryptobot.celery import HEARTBEAT_KEY_PREFIX
from cryptobot.lib.redis import redis_client


@dataclass
class ComponentHealth:
    ok: bool
    latency_ms: float
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "latency_ms": round(self.latency_ms, 2)}
        out.update(self.detail)
        if self.error:
            out["error"] = self.error
        return out


def _timed(probe: Callable[[], dict[str, Any]]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        detail = probe()
    except Exception as exc:
        return ComponentHealth(False, (time.perf_counter() - started) * 1000, error=str(exc))
    ok = detail.pop("ok", True)
    return ComponentHealth(ok, (time.perf_counter() - started) * 1000, detail)


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _redis() -> dict[str, Any]:
    redis_client().ping()
    return {}


def _celery() -> dict[str, Any]:
    client = redis_client()
    try:
        keys = list(client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*", count=100))
        beats = client.mget(keys) if keys else []
    except RedisError as exc:
        raise RuntimeError(f"heartbeats unreadable: Redis is down ({exc})") from exc
    now = time.time()
    ages = [now - float(value) for value in beats if value is not None]
    if not ages:
        return {"ok": False, "workers": 0, "error": "no Celery worker heartbeat"}
    return {"workers": len(ages), "heartbeat_age_s": round(min(ages), 1)}


PROBES: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _database,
    "redis": _redis,
    "celery": _celery,
}


def register_probe(name: str, probe: Callable[[], dict[str, Any]]) -> None:
    """Lets an app add a component (the price feed, for one) to /health."""
    PROBES[name] = probe


def health_report() -> tuple[str, dict[str, Any]]:
    """Overall status ("ok", "degraded" or "down") and each component's report."""
    components = {name: _timed(probe) for name, probe in PROBES.items()}
    down = [name for name, comp in components.items() if not comp.ok]
    if not down:
        overall = "ok"
    elif "database" in down:
        overall = "down"
    else:
        overall = "degraded"
    body = {name: comp.as_dict() for name, comp in components.items()}
    return overall, {"components": body, "failing": down}
