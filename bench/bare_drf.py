"""The reference point of bench_http: one bare DRF APIView, nothing else.

A WSGI module that configures minimal Django settings in-process: no middleware, no
authentication, no permissions, no throttles, no database. It is PERFORMANCE.md's "DRF
APIView" column; served with `gunicorn bench.bare_drf:application -w N -b 127.0.0.1:PORT`.
"""

from __future__ import annotations

import django
from django.conf import settings
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-a-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={},
    USE_TZ=True,
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_THROTTLE_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

# The same size of body as GET /api/token: {"token": "<40 hex digits>"}.
BODY = {"token": "0123456789abcdef0123456789abcdef01234567"}


class BareApi(APIView):
    """Answers a constant small JSON body."""

    def get(self, request: Request) -> Response:
        return Response(BODY)


urlpatterns = [path("bare", BareApi.as_view())]

application = get_wsgi_application()
