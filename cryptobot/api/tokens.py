"""API tokens for scripts and API clients (``Authorization: Token <key>``)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from cryptobot.api.authentication import token_forget


def api_token_get_or_create(*, user: AbstractBaseUser) -> Token:
    """The user's token, created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def api_token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's token; the old one stops working in every process at once."""
    old = Token.objects.select_for_update().filter(user=user).first()
    if old is not None:
        old_key = old.key
        old.delete()
        # Now, and again after commit in case a concurrent request re-cached the old row.
        token_forget(old_key)
        transaction.on_commit(lambda: token_forget(old_key))
    return Token.objects.create(user=user)
