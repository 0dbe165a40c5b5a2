"""Binance-style API keys: how Binance clients (ccxt, python-binance, scripts) sign in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiKey(models.Model):
    """An API key and its HMAC secret, stored encrypted (cryptobot/lib/crypto.py).

    The secret is shown once, when the key is created, and never returned again; it is
    stored encrypted because verifying a signature needs it in the clear. A revoked key
    stays for the record (``revoked_at``) and authenticates nothing.
    """

    class Permission(models.TextChoices):
        READ = "read", "Read only"
        TRADE = "trade", "Read and trade"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    label = models.CharField(max_length=64, blank=True)
    key = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField()
    permission = models.CharField(
        max_length=8, choices=Permission.choices, default=Permission.TRADE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(permission__in=["read", "trade"]), name="api_key_permission_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label or 'API key'} {self.key[:8]}… ({self.permission})"

    @property
    def can_trade(self) -> bool:
        return self.permission == self.Permission.TRADE and self.revoked_at is None
