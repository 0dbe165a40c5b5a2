"""The configured exchange adapter, and the replay clock every process shares."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.db import transaction

from trading.exchange.base import ExchangeAdapter
from trading.exchange.factory import build_exchange
from trading.models import ReplayClock


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@transaction.atomic
def replay_clock_ensure(*, speed: float | None = None) -> ReplayClock:
    """Create the replay clock on first start; re-anchor without a jump if the speed changed."""
    speed = settings.REPLAY_SPEED if speed is None else speed
    now = datetime.now(UTC)
    clock, created = ReplayClock.objects.get_or_create(
        name="default",
        defaults={"origin": now, "wall_anchor": now, "replay_anchor": now, "speed": speed},
    )
    if created:
        return clock
    clock = ReplayClock.objects.select_for_update().get(pk=clock.pk)
    if clock.speed != speed:
        replay_now_ms = replay_now_ms_of(clock)
        clock.replay_anchor = datetime.fromtimestamp(replay_now_ms / 1000, UTC)
        clock.wall_anchor = now
        clock.speed = speed
        clock.save(update_fields=["replay_anchor", "wall_anchor", "speed"])
    return clock


def replay_clock_get() -> ReplayClock:
    """The shared clock as stored (created at REPLAY_SPEED if this is the first start)."""
    now = datetime.now(UTC)
    clock, _ = ReplayClock.objects.get_or_create(
        name="default",
        defaults={
            "origin": now,
            "wall_anchor": now,
            "replay_anchor": now,
            "speed": settings.REPLAY_SPEED,
        },
    )
    return clock


def replay_now_ms_of(clock: ReplayClock) -> int:
    """Replay time now: it runs ``speed`` times faster than the wall clock from the anchor."""
    elapsed_ms = time.time() * 1000 - _ms(clock.wall_anchor)
    return int(_ms(clock.replay_anchor) + elapsed_ms * clock.speed)


_pinned = threading.local()


@contextmanager
def exchange_instant() -> Iterator[int]:
    """Pin the replay clock for the block, so everything one poll reads (tickers, forming
    candles) describes the same instant. A no-op for live exchanges, whose clock is theirs."""
    exchange = current_exchange()
    _pinned.ms = exchange.now_ms()
    try:
        yield _pinned.ms
    finally:
        _pinned.ms = None


def _replay_now(clock: ReplayClock) -> int:
    pinned = getattr(_pinned, "ms", None)
    return pinned if pinned is not None else replay_now_ms_of(clock)


@cache
def current_exchange() -> ExchangeAdapter:
    """The adapter named by EXCHANGE, built once per process."""
    if settings.EXCHANGE == "replay":
        # The speed is applied by `manage.py setup` (replay_clock_ensure); processes only
        # read the shared clock, so they all replay the same instant.
        clock = replay_clock_get()
        return build_exchange(
            "replay",
            data_dir=settings.REPLAY_DATA_DIR,
            origin_ms=_ms(clock.origin),
            now_ms=lambda: _replay_now(clock),
        )
    config: dict = {}
    if settings.EXCHANGE_API_URL:
        config["urls_base"] = settings.EXCHANGE_API_URL
    return build_exchange(
        settings.EXCHANGE, config=config, timeout_s=settings.EXCHANGE_TIMEOUT_MS / 1000
    )


def exchange_now_ms() -> int:
    """The exchange's current time: replay time under the replay exchange, else wall time."""
    return current_exchange().now_ms()
