"""Project-wide API routes: health and the caller's own API token."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.tokens import api_token_get_or_create, api_token_rotate
from cryptobot.health import health_report

_component = inline_serializer(
    "HealthComponent",
    {"ok": serializers.BooleanField(), "latency_ms": serializers.FloatField()},
)


class HealthApi(APIView):
    """Liveness of the database, Redis, Celery and (later) the price feed. No auth."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(["ok", "degraded", "down"]),
                    "components": serializers.DictField(child=_component),
                },
            ),
            503: None,
        }
    )
    def get(self, request: Request) -> Response:
        overall, report = health_report()
        return Response({"status": overall, **report}, status=200 if overall == "ok" else 503)


_token = inline_serializer("ApiToken", {"token": serializers.CharField()})


class ApiTokenApi(APIView):
    """The caller's API token (created on first use); POST rotates it."""

    @extend_schema(responses=_token)
    def get(self, request: Request) -> Response:
        if isinstance(request.auth, str):  # authenticated by this very token
            return Response({"token": request.auth})
        return Response({"token": api_token_get_or_create(user=request.user).key})

    @extend_schema(request=None, responses=_token)
    def post(self, request: Request) -> Response:
        return Response({"token": api_token_rotate(user=request.user).key})
