"""Request throttles: a fixed-window counter in Redis, one pipelined round trip a request.

DRF's SimpleRateThrottle reads and rewrites a pickled list of timestamps per request (tens
of KB at high rates, two round trips). A fixed window (INCR + EXPIRE) is what API gateways
do; its only laxity is up to twice the rate across a window boundary. Rates come from
THROTTLE_USER_RATE and THROTTLE_ANON_RATE ("6000/min"). If Redis is down the request is let
through (and logged): the throttle protects the service, it must not take it down.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from cryptobot.lib.redis import redis_client

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/min" → (6000, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


class _WindowThrottle(BaseThrottle, ABC):
    scope = ""

    def __init__(self) -> None:
        self.limit, self.period = parse_rate(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]
        )
        self.retry_after: float | None = None

    @abstractmethod
    def ident_for(self, request) -> str | None:
        """Who is counted (None: this throttle does not apply to the request)."""

    def allow_request(self, request, view) -> bool:
        ident = self.ident_for(request)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.period)
        key = f"{settings.CACHE_KEY_PREFIX}:throttle:{self.scope}:{ident}:{window}"
        try:
            pipe = redis_client().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.period + 1)
            count = pipe.execute()[0]
        except RedisError as exc:
            logger.warning("Throttle skipped, Redis is down: %s", exc)
            return True
        if count > self.limit:
            self.retry_after = (window + 1) * self.period - now
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after


class UserThrottle(_WindowThrottle):
    """Per authenticated user."""

    scope = "user"

    def ident_for(self, request) -> str | None:
        user = request.user
        return str(user.pk) if user and user.is_authenticated else None


class AnonThrottle(_WindowThrottle):
    """Per client address for unauthenticated requests."""

    scope = "anon"

    def ident_for(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)
