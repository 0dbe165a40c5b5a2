"""Reads of a user's API keys (never their secrets)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from trading.models import ApiKey


def api_key_list(*, user: AbstractBaseUser) -> QuerySet[ApiKey]:
    """The user's keys, newest first, revoked ones included (for the record)."""
    return ApiKey.objects.filter(user=user).defer("secret_encrypted").order_by("-created_at", "-id")
