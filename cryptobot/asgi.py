"""ASGI entry point: daphne serves the WebSockets (/ws/...) through it.

HTTP is routed here too so that `daphne` alone still serves the whole site in development,
but in the `make run` layout the proxy sends only /ws/ to daphne.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptobot.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from cryptobot.routing import websocket_urlpatterns  # noqa: E402
from cryptobot.ws_security import allowed_hosts_origin_validator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": allowed_hosts_origin_validator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
