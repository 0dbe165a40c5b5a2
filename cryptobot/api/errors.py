"""The one place that turns errors into the JSON every route answers with.

Shape: ``{"error": {"code": "...", "message": "...", "details": {...}}}``. Domain code raises
:class:`ApiError` subclasses (or Django/DRF exceptions); views never catch them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal that the client can act on; subclasses set status and code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "bad_request"

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Unavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten_validation(detail: Any) -> tuple[str, dict[str, Any]]:
    """First readable message and the full per-field details of a DRF ValidationError."""
    if isinstance(detail, dict):
        details = {key: _as_messages(value) for key, value in detail.items()}
        field, messages = next(iter(details.items()))
        first = messages[0] if messages else "invalid"
        label = "" if field in ("non_field_errors", "detail") else f"{field}: "
        return f"{label}{first}", details
    messages = _as_messages(detail)
    return (messages[0] if messages else "Invalid input."), {"errors": messages}


def _as_messages(value: Any) -> list[str]:
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_as_messages(item))
        return out
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _as_messages(v)]
    return [str(value)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every refusal becomes the project's error JSON."""
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, RedisError):
        logger.error("Redis unavailable during %s: %s", context.get("view"), exc)
        return Response(
            error_body(
                "service_unavailable",
                "The cache (Redis) is unavailable; try again shortly. GET /health shows status.",
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            error_body("server_error", "The server failed to handle this request; it was logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        message, details = _flatten_validation(exc.detail)
        code = "invalid"
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        details = {}
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait) + 1}
    response.data = error_body(code, message, details)
    return response


_BINANCE_PREFIXES = ("/api/v3/", "/fapi/", "/sapi/", "/dapi/")


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Unknown routes answer JSON, never an HTML page (Binance's shape on its paths)."""
    if request.path.startswith(_BINANCE_PREFIXES):
        return JsonResponse({"code": -1, "msg": f"Unknown route {request.path}."}, status=404)
    return JsonResponse(
        error_body("not_found", f"No route matches {request.path}. See /api/docs/ for the routes."),
        status=404,
    )


def json_500(request: HttpRequest) -> JsonResponse:
    """Unhandled errors answer JSON without a traceback."""
    return JsonResponse(
        error_body("server_error", "The server failed to handle this request; it was logged."),
        status=500,
    )


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "You may not do this."), status=403)


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "The request was malformed."), status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF refusals on session writes, as JSON."""
    return JsonResponse(
        error_body(
            "csrf_failed",
            "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.",
            {"reason": reason},
        ),
        status=403,
    )
