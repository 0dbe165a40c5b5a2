"""Encryption at rest for secrets we must read back (API-key secrets, SMTP passwords).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. Keys come from
ENCRYPTION_KEYS: comma-separated Fernet keys, newest first. Every key decrypts; only the
first encrypts, so rotation is: put a new key in front, run ``manage.py secrets_rotate``
(re-encrypts every stored secret with it), then drop the old key. Unset (development),
one key is derived from SECRET_KEY, so changing SECRET_KEY then makes stored secrets
unreadable; production sets ENCRYPTION_KEYS (docs/OPERATIONS.md).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


class SecretUnreadable(Exception):
    """A stored secret no configured key can decrypt (a key was dropped too early)."""


@cache
def _fernet() -> MultiFernet:
    raw = [k.strip() for k in settings.ENCRYPTION_KEYS.split(",") if k.strip()]
    if not raw:
        digest = hashlib.sha256(b"cryptobot-secrets:" + settings.SECRET_KEY.encode()).digest()
        raw = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in raw])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be Fernet keys (44 url-safe base64 characters each); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("No configured ENCRYPTION_KEYS entry decrypts this secret.") from exc


def secret_rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("No configured ENCRYPTION_KEYS entry decrypts this secret.") from exc


@receiver(setting_changed)
def _keys_changed(*, setting: str, **kwargs) -> None:
    """Tests (override_settings) and rotation drills change the keys in-process."""
    if setting in ("ENCRYPTION_KEYS", "SECRET_KEY"):
        _fernet.cache_clear()
