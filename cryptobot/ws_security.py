"""Origin checking for WebSockets that also admits non-browser API clients.

Channels' AllowedHostsOriginValidator refuses a handshake without an Origin header. Browsers
always send one (and only browsers can be tricked into cross-site WebSocket hijacking), so
a missing Origin means a script or bot, which must still authenticate with its token.
A present Origin must match ALLOWED_HOSTS, exactly as in AllowedHostsOriginValidator.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.db import close_old_connections
from rest_framework.exceptions import AuthenticationFailed

from cryptobot.api.authentication import CachedTokenAuthentication


class BrowserOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def allowed_hosts_origin_validator(application):
    """AllowedHostsOriginValidator's host list, with non-browser clients admitted."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed_hosts)


# --- who is on the socket --------------------------------------------------------------

CLOSE_UNAUTHENTICATED = 4401


async def ws_user(scope):
    """The socket's user: the session's (AuthMiddlewareStack), else ``?token=``'s through
    the same cached lookup as the REST API; None when neither authenticates."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return user
    token = (parse_qs(scope.get("query_string", b"").decode()).get("token") or [""])[0]
    if not token:
        return None

    def lookup():
        try:
            found, _ = CachedTokenAuthentication().authenticate_credentials(token)
        except AuthenticationFailed:
            return None
        finally:
            close_old_connections()
        return found

    # The thread pool, not the single thread-sensitive thread: a burst of handshakes
    # (clients reconnecting together) must not queue behind each other.
    return await sync_to_async(lookup, thread_sensitive=False)()
