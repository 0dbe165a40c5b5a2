"""Origin checking for WebSockets that also admits non-browser API clients.

Channels' AllowedHostsOriginValidator refuses a handshake without an Origin header. Browsers
always send one (and only browsers can be tricked into cross-site WebSocket hijacking), so
a missing Origin means a script or bot, which must still authenticate with its token.
A present Origin must match ALLOWED_HOSTS, exactly as in AllowedHostsOriginValidator.
"""

from __future__ import annotations

from channels.security.websocket import OriginValidator
from django.conf import settings


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
