"""The base of every Binance-compatible view: weight, signing, Binance-shaped errors.

A subclass sets ``venue`` ("spot" / "futures"), ``weight`` (or overrides ``weight_for``),
``signed`` (needs X-MBX-APIKEY + HMAC signature) and ``trading`` (needs a trade key), and
reads its parameters from ``self.params``; ``self.user`` is the key's owner.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.errors import ApiError, Unavailable
from trading.binance import errors, limits, order_params, signing
from trading.binance.params import Params
from trading.binance.signing import server_ms
from trading.errors import UnknownSymbol
from trading.services.api_keys import api_key_resolve, api_key_touch
from trading.services.markets import watched_symbols
from trading.services.paper_account import paper_engine

logger = logging.getLogger(__name__)


def symbol_param(
    params: Params, *, required: bool = True, trading: bool = False, known=None
) -> str | None:
    """The ``symbol`` parameter, exactly as Binance spells it (BTCUSDT); -1121 unless it is
    in ``known`` (default: a catalogue symbol, or a watched one, with live prices, to trade)."""
    raw = params.str("symbol", required=required)
    if raw is None:
        return None
    if known is None:
        known = watched_symbols() if trading else paper_engine().rules
    if raw not in known:
        raise errors.bad_symbol()
    return raw


def order_ref(params: Params) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) naming one order; Binance needs one of them."""
    number = params.int("orderId")
    client_id = params.str("origClientOrderId")
    if number is None and client_id is None:
        raise order_params.either_missing("orderId", "origClientOrderId")
    return number, client_id


class BinanceSchema(AutoSchema):
    """The OpenAPI entry of a Binance-compatible route: Binance's own shapes, documented in
    docs/API.md (parameters arrive form-encoded or in the query, signed)."""

    def get_tags(self) -> list[str]:
        return [f"binance-{self.view.venue}"]

    def get_request_serializer(self) -> None:
        return None

    def get_response_serializers(self) -> OpenApiResponse:
        signed = " SIGNED (X-MBX-APIKEY + HMAC-SHA256 signature)." if self.view.signed else ""
        return OpenApiResponse(
            description='Binance\'s JSON; errors {"code": -NNNN, "msg": "..."}. '
            "See docs/API.md, Binance-compatible API." + signed
        )


class BinanceView(APIView):
    schema = BinanceSchema()
    venue: str = "spot"
    weight: int = 1
    signed: bool = False
    trading: bool = False

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes: list = []
    renderer_classes = [JSONRenderer]

    params: Params
    user: Any = None
    extra_headers: dict[str, str]

    def weight_for(self, params: Params) -> int:
        return self.weight

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        django_request = request._request
        query = django_request.META.get("QUERY_STRING", "")
        body = django_request.body.decode("utf-8", errors="replace")
        self.params = Params(query, body)
        self.extra_headers = {}
        self.venue_limits = limits.venue(self.venue)
        ip = django_request.META.get("HTTP_X_REAL_IP") or django_request.META.get("REMOTE_ADDR", "")
        used = limits.weight_use(self.venue_limits, ip, self.weight_for(self.params))
        self.extra_headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        if self.signed:
            self._authenticate(django_request.META.get("HTTP_X_MBX_APIKEY"), query, body)

    def _authenticate(self, api_key: str | None, query: str, body: str) -> None:
        if not api_key:
            raise errors.bad_api_key_format()
        if len(api_key) > 64 or not api_key.isalnum():
            raise errors.bad_api_key_format()
        resolved = api_key_resolve(api_key)
        if resolved is None or not resolved.user.is_active:
            raise errors.bad_api_key()
        payload, signature = signing.split_signature(query, body)
        if signature is None:
            raise errors.missing("signature")
        if not signing.signature_valid(resolved.secret, payload, signature):
            raise errors.bad_signature()
        signing.check_timestamp(
            self.params.str("timestamp"), self.params.str("recvWindow"), server_ms()
        )
        if self.trading and not resolved.can_trade:
            raise errors.bad_api_key()
        api_key_touch(resolved)
        self.user = resolved.user

    def count_order(self) -> None:
        """Count a new order against the account's ORDERS windows (call before placing)."""
        self.extra_headers.update(limits.orders_use(self.venue_limits, str(self.user.pk)))

    def handle_exception(self, exc: Exception) -> Response:
        error = self._binance_error(exc)
        # Order counts are reported for accepted orders only; the weight header stays.
        self.extra_headers = {
            k: v
            for k, v in getattr(self, "extra_headers", {}).items()
            if not k.startswith("X-MBX-ORDER")
        }
        return Response(error.body(), status=error.status, headers=error.headers)

    def _binance_error(self, exc: Exception) -> errors.BinanceError:
        if isinstance(exc, errors.BinanceError):
            return exc
        if isinstance(exc, UnknownSymbol):
            return errors.bad_symbol()
        if isinstance(exc, Unavailable):  # no price yet, exchange down: retry later
            return errors.overloaded()
        if isinstance(exc, ApiError):
            rule = exc.details.get("rule") or exc.code
            return errors.from_rule(self.venue, str(rule), exc.message)
        if isinstance(exc, Http404 | exceptions.NotFound):
            return errors.not_found_route()
        if isinstance(exc, exceptions.MethodNotAllowed):
            return errors.BinanceError(-1, "Method not allowed.", status=405)
        if isinstance(exc, RedisError):
            logger.error("Redis unavailable in %s: %s", type(self).__name__, exc)
            return errors.overloaded()
        logger.exception("Unhandled error in %s", type(self).__name__, exc_info=exc)
        return errors.unknown_error()

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in getattr(self, "extra_headers", {}).items():
            response[name] = value
        return response
