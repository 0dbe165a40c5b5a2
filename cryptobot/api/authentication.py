"""Token authentication with the token → user lookup cached in Redis.

DRF's TokenAuthentication reads the database on every request, which caps a cached read at
the database's pace (PERFORMANCE.md: ~830 req/s with one ORM read). The cache entry is
dropped when the token is rotated (cryptobot.services.api_token_rotate), so a rotated token
stops working at once in every process.
"""

from __future__ import annotations

from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

TOKEN_CACHE_SECONDS = 300


def token_cache_key(key: str) -> str:
    return f"auth:token:{key}"


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; the user row is cached for a few minutes."""

    def authenticate_credentials(self, key: str):
        cache_key = token_cache_key(key)
        user = cache.get(cache_key)
        if user is None:
            try:
                token = Token.objects.select_related("user").get(key=key)
            except Token.DoesNotExist as exc:
                raise AuthenticationFailed("Invalid token.") from exc
            user = token.user
            cache.set(cache_key, user, TOKEN_CACHE_SECONDS)
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return (user, key)
