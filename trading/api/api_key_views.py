"""API keys for Binance clients and scripts: list, create (the secret shown once), revoke.
Thin: validate input, call one service or selector, render. The secret is in the create
response only; no other response, log or page ever holds it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import InputSerializer
from trading.models import ApiKey
from trading.selectors.api_keys import api_key_list
from trading.services.api_keys import api_key_create, api_key_revoke

SECRET_NOTE = "Store the secret now: it is shown only in this response and never again."
_error = OpenApiResponse(description="The error JSON (docs/API.md, Errors).")


class ApiKeyInSerializer(InputSerializer):
    """POST /api_keys."""

    label = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    permission = serializers.ChoiceField(
        ApiKey.Permission.values,
        default=ApiKey.Permission.TRADE,
        help_text="read: market data and account reads; trade: also orders",
    )


class ApiKeyOutSerializer(serializers.Serializer):
    """A key as listed: never its secret."""

    id = serializers.IntegerField()
    label = serializers.CharField()
    key = serializers.CharField(help_text="the X-MBX-APIKEY value")
    permission = serializers.CharField()
    active = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_active(self, key: ApiKey) -> bool:
        return key.revoked_at is None


class ApiKeyCreatedSerializer(ApiKeyOutSerializer):
    """The new key with its secret, the only time the secret is shown."""

    secret = serializers.CharField(help_text="the HMAC-SHA256 signing secret, shown once")
    note = serializers.CharField()


class ApiKeyListSerializer(serializers.Serializer):
    api_keys = ApiKeyOutSerializer(many=True)


class ApiKeyListApi(APIView):
    """The user's API keys, newest first (revoked ones too, marked); POST creates one."""

    @extend_schema(operation_id="api_keys_list", responses=ApiKeyListSerializer)
    def get(self, request: Request) -> Response:
        keys = api_key_list(user=request.user)
        return Response(ApiKeyListSerializer({"api_keys": keys}).data)

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyInSerializer,
        responses={201: ApiKeyCreatedSerializer, 400: _error},
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = api_key_create(user=request.user, **serializer.validated_data)
        body = {**ApiKeyOutSerializer(key).data, "secret": secret, "note": SECRET_NOTE}
        return Response(body, status=201)


class ApiKeyRevokeApi(APIView):
    """Revoke one of the user's keys: it stops authenticating within seconds and stays
    listed with ``revoked_at``."""

    @extend_schema(
        operation_id="api_keys_revoke", responses={200: ApiKeyOutSerializer, 404: _error}
    )
    def delete(self, request: Request, key_id: int) -> Response:
        key = api_key_revoke(user=request.user, key_id=key_id)
        return Response(ApiKeyOutSerializer(key).data)
