"""The system watch tells every active user once when the price feed goes stale or no
worker is alive (after two failing checks), and once when each is back."""

from __future__ import annotations

import time

from cryptobot.celery import HEARTBEAT_KEY_PREFIX
from cryptobot.lib.redis import redis_client
from cryptobot.system_watch import system_watch
from notifications.models import Notification
from trading.services.prices import prices_poll


def test_incidents_notify_once_after_two_checks_and_recovery_once(user, other_user, frozen_replay):
    assert system_watch() == []  # first failing check: only suspected
    assert sorted(system_watch()) == ["price_feed_stale", "worker_missing"]
    assert system_watch() == []  # still down: told already
    notes = Notification.objects.filter(user=user)
    assert sorted(notes.values_list("kind", flat=True)) == ["price_feed_stale", "worker_missing"]
    assert notes.get(kind="worker_missing").level == "critical"
    assert "heartbeat" in notes.get(kind="worker_missing").message
    assert Notification.objects.filter(user=other_user).count() == 2

    redis_client().set(HEARTBEAT_KEY_PREFIX + "test-worker", str(time.time()), ex=30)
    prices_poll()
    assert sorted(system_watch()) == ["price_feed_recovered", "worker_recovered"]
    assert system_watch() == []
    assert Notification.objects.filter(user=user).count() == 4


def test_a_single_failed_check_is_not_an_incident(user, frozen_replay):
    prices_poll()
    redis_client().set(HEARTBEAT_KEY_PREFIX + "test-worker", str(time.time()), ex=30)
    assert system_watch() == []
    redis_client().delete(HEARTBEAT_KEY_PREFIX + "test-worker")
    assert system_watch() == []  # suspected once
    redis_client().set(HEARTBEAT_KEY_PREFIX + "test-worker", str(time.time()), ex=30)
    assert system_watch() == []  # back before a second failing check
    assert not Notification.objects.exists()
