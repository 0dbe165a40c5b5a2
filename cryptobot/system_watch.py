"""The system watch: tells users when the price feed goes stale or no Celery worker is
alive, and again when it is back.

It runs in the beat process (a thread started when beat starts, cryptobot/celery.py),
not as a task: a watch that needs a worker cannot report that there is none. Each check
reads the /health probes; a component must fail on two checks in a row before anyone is
told (a worker restarting, or the first poll after start, is not an incident). The state
lives in Redis, so the dedupe key (component and the time the incident began) is the same
from any process, and an incident notifies once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from redis.exceptions import RedisError

from cryptobot.health import PROBES
from cryptobot.lib.redis import redis_client

logger = logging.getLogger(__name__)
STATE_KEY = "system-watch:{}"


@dataclass(frozen=True, slots=True)
class Watched:
    probe: str
    down_kind: str
    up_kind: str


WATCHED = (
    Watched("price_feed", "price_feed_stale", "price_feed_recovered"),
    Watched("celery", "worker_missing", "worker_recovered"),
)


def _probe(name: str) -> tuple[bool, str]:
    probe = PROBES.get(name)
    if probe is None:
        return True, ""
    try:
        detail = probe()
    except Exception as exc:  # a probe that breaks is a failing component
        return False, str(exc)
    return bool(detail.get("ok", True)), str(detail.get("error", ""))


def system_watch(*, now_ms: int | None = None) -> list[str]:
    """One check of every watched component; the kinds of the events it reported."""
    from notifications.services.notifications import notify_event

    now_ms = now_ms or int(time.time() * 1000)
    client = redis_client()
    reported = []
    for item in WATCHED:
        ok, error = _probe(item.probe)
        key = STATE_KEY.format(item.probe)
        state = json.loads(client.get(key) or '{"status": "ok"}')
        status = state["status"]
        if ok:
            if status == "down":
                notify_event(
                    user_id=None,
                    kind=item.up_kind,
                    data={"detail": f"{item.probe} is working again.", "since_ms": now_ms},
                )
                reported.append(item.up_kind)
            state = {"status": "ok"}
        elif status == "ok":
            state = {"status": "suspect", "since_ms": now_ms}
        elif status == "suspect":
            detail = error or f"{item.probe} is failing"
            notify_event(
                user_id=None,
                kind=item.down_kind,
                data={"detail": detail, "since_ms": state["since_ms"]},
            )
            reported.append(item.down_kind)
            state = {"status": "down", "since_ms": state["since_ms"]}
        client.set(key, json.dumps(state))
    return reported


def _watch_forever(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            system_watch()
        except RedisError:
            logger.warning("System watch skipped: Redis is down (/health reports it)")
        except Exception:
            logger.exception("System watch failed")
        finally:
            close_old_connections()


def system_watch_start() -> threading.Thread | None:
    """Start the watch in a daemon thread (beat does this once); 0 s turns it off."""
    interval = settings.SYSTEM_WATCH_SECONDS
    if interval <= 0:
        return None
    thread = threading.Thread(
        target=_watch_forever, args=(interval,), daemon=True, name="system-watch"
    )
    thread.start()
    return thread
