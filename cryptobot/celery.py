"""The Celery app, its worker heartbeat and its queues.

The heartbeat is a worker bootstep that writes ``worker:heartbeat:<hostname>`` to Redis every
few seconds with a short expiry: /health reads it instead of a broadcast ping, which would
take its full timeout on every call.
"""

from __future__ import annotations

import logging
import os
import time

from celery import Celery, bootsteps
from celery.signals import beat_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptobot.settings")

app = Celery("cryptobot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("ticks"), Queue("ml"))
app.autodiscover_tasks()

HEARTBEAT_KEY_PREFIX = "worker:heartbeat:"
logger = logging.getLogger(__name__)


class HeartbeatStep(bootsteps.StartStopStep):
    """Publishes this worker's liveness to Redis on a timer."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker) -> None:
        from django.conf import settings

        self.interval = settings.CELERY_WORKER_HEARTBEAT_SECONDS
        self.hostname = worker.hostname
        self._beat()
        self.tref = worker.timer.call_repeatedly(self.interval, self._beat, priority=10)

    def stop(self, worker) -> None:
        if getattr(self, "tref", None) is not None:
            self.tref.cancel()
        from redis.exceptions import RedisError

        from cryptobot.lib.redis import redis_client

        try:
            redis_client().delete(HEARTBEAT_KEY_PREFIX + self.hostname)
        except RedisError:
            logger.warning("Could not clear the heartbeat of %s: Redis is down", self.hostname)

    def _beat(self) -> None:
        from redis.exceptions import RedisError

        from cryptobot.lib.redis import redis_client

        try:
            redis_client().set(
                HEARTBEAT_KEY_PREFIX + self.hostname, str(time.time()), ex=self.interval * 3
            )
        except RedisError:
            # Redis down: /health reports that component itself.
            logger.warning("Worker heartbeat not written: Redis is down")


app.steps["worker"].add(HeartbeatStep)


@beat_init.connect
def _start_system_watch(sender=None, **kwargs) -> None:
    """Beat watches the price feed and the workers (cryptobot/system_watch.py)."""
    from cryptobot.system_watch import system_watch_start

    system_watch_start()
