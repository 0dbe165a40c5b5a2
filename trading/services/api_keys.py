"""Binance-style API keys: create (secret shown once), revoke, authenticate, rotate."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cryptobot.api.errors import NotFound
from cryptobot.lib.crypto import secret_decrypt, secret_encrypt, secret_rotate
from trading.models import ApiKey

# How long a process trusts what it read about a key (revocation reaches every process
# within this); last-used times are written at most this often per key.
LOCAL_SECONDS = 2.0
TOUCH_EVERY = timedelta(seconds=60)
_local: dict[str, tuple[float, ResolvedKey | None]] = {}
_touched: dict[int, float] = {}


@dataclass(frozen=True)
class ResolvedKey:
    id: int
    user: AbstractBaseUser
    secret: str
    can_trade: bool


def api_key_create(
    *, user: AbstractBaseUser, label: str = "", permission: str = ApiKey.Permission.TRADE
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned here only, never again."""
    if permission not in ApiKey.Permission.values:
        raise ValueError(f"permission must be one of {', '.join(ApiKey.Permission.values)}")
    secret = secrets.token_hex(32)
    key = ApiKey.objects.create(
        user=user,
        label=label[:64],
        key=secrets.token_hex(32),
        secret_encrypted=secret_encrypt(secret),
        permission=permission,
    )
    return key, secret


def api_key_revoke(*, user: AbstractBaseUser, key_id: int) -> ApiKey:
    """Revoke one of the user's keys (another user's id is 404)."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(user=user, pk=key_id).first()
        if key is None:
            raise NotFound(f"You have no API key {key_id}.")
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
            key.save(update_fields=["revoked_at"])
    _local.pop(key.key, None)
    return key


def api_key_resolve(key: str) -> ResolvedKey | None:
    """The live key behind an ``X-MBX-APIKEY`` header (None: unknown or revoked)."""
    now = time.monotonic()
    hit = _local.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = ApiKey.objects.select_related("user").filter(key=key, revoked_at__isnull=True).first()
    resolved = None
    if row is not None:
        resolved = ResolvedKey(
            id=row.pk,
            user=row.user,
            secret=secret_decrypt(row.secret_encrypted),
            can_trade=row.permission == ApiKey.Permission.TRADE,
        )
    if len(_local) > 10_000:
        _local.clear()
    _local[key] = (now + LOCAL_SECONDS, resolved)
    return resolved


def api_key_touch(resolved: ResolvedKey) -> None:
    """Record use, at most once a minute per key and process (a conditional UPDATE, so
    several processes never lock each other)."""
    now = time.monotonic()
    if _touched.get(resolved.id, 0.0) > now:
        return
    _touched[resolved.id] = now + TOUCH_EVERY.total_seconds()
    moment = datetime.now(UTC)
    ApiKey.objects.filter(pk=resolved.id).exclude(last_used_at__gte=moment - TOUCH_EVERY).update(
        last_used_at=moment
    )


def api_keys_rotate_encryption() -> int:
    """Re-encrypt every stored secret with the newest ENCRYPTION_KEYS key."""
    count = 0
    for key in ApiKey.objects.only("id", "secret_encrypted").iterator():
        ApiKey.objects.filter(pk=key.pk).update(
            secret_encrypted=secret_rotate(key.secret_encrypted)
        )
        count += 1
    return count
