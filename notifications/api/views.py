"""Notifications, e-mail and settings routes. Thin: validate, call one service or
selector, render (docs/API.md, sections Notifications, E-mail and Settings)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptobot.api.serializers import validated
from notifications import selectors as reads
from notifications.api import serializers as s
from notifications.services import email, notifications, preferences

_any = OpenApiResponse(description="See docs/API.md, sections Notifications and E-mail.")


class NotificationPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NotificationListApi(APIView):
    """GET: the user's notifications, newest first, with the unread count. POST: add one
    (scripts and integrations tell the user something)."""

    @extend_schema(parameters=[s.NotificationQuerySerializer], responses=_any)
    def get(self, request: Request) -> Response:
        query = validated(s.NotificationQuerySerializer, request.query_params).validated_data
        paginator = NotificationPagination()
        page = paginator.paginate_queryset(
            reads.notification_list(user=request.user, **query), request, view=self
        )
        response = paginator.get_paginated_response([reads.notification_dict(n) for n in page])
        response.data["unread_count"] = reads.unread_count(user_id=request.user.pk)
        return response

    @extend_schema(request=s.NotificationCreateSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.NotificationCreateSerializer, request.data).validated_data
        note, created = notifications.notification_create(user_id=request.user.pk, **data)
        return Response(
            reads.notification_dict(note),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class NotificationDetailApi(APIView):
    """One notification: read it, mark it read or unread, delete it."""

    @extend_schema(operation_id="notification_detail", responses=_any)
    def get(self, request: Request, notification_id: int) -> Response:
        note = reads.notification_get(user=request.user, notification_id=notification_id)
        return Response(reads.notification_dict(note))

    @extend_schema(request=s.NotificationPatchSerializer, responses=_any)
    def patch(self, request: Request, notification_id: int) -> Response:
        read = validated(s.NotificationPatchSerializer, request.data).validated_data["read"]
        note = notifications.notification_mark(
            user=request.user, notification_id=notification_id, read=read
        )
        return Response(reads.notification_dict(note))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, notification_id: int) -> Response:
        notifications.notification_delete(user=request.user, notification_id=notification_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationMarkAllReadApi(APIView):
    @extend_schema(request=None, responses=_any)
    def post(self, request: Request) -> Response:
        marked = notifications.notifications_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread_count": 0})


class EmailConfigApi(APIView):
    """The user's SMTP settings; the password is write-only (``password_set`` says
    whether one is stored)."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response(email.config_dict(email.config_get(user=request.user)))

    @extend_schema(request=s.SmtpFieldsSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.SmtpFieldsSerializer, request.data).validated_data
        return Response(email.config_dict(email.config_update(user=request.user, data=data)))


class EmailTestApi(APIView):
    """Connect and log in (nothing is sent) with the stored settings and any fields in
    the body, unsaved; a failure carries the SMTP server's answer."""

    @extend_schema(request=s.SmtpFieldsSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        overrides = validated(s.SmtpFieldsSerializer, request.data).validated_data
        return Response(email.email_test(user=request.user, overrides=overrides))


class EmailSendTestApi(APIView):
    @extend_schema(request=None, responses=_any)
    def post(self, request: Request) -> Response:
        return Response(email.email_send_test(user=request.user))


class EmailEnabledApi(APIView):
    """The sidebar's e-mail switch."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response({"email_enabled": email.config_get(user=request.user).enabled})

    @extend_schema(request=s.EmailEnabledSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        enabled = validated(s.EmailEnabledSerializer, request.data).validated_data["email_enabled"]
        cfg = email.config_update(user=request.user, data={"enabled": enabled})
        return Response({"email_enabled": cfg.enabled})


class EmailAddressApi(APIView):
    """The first recipient of the user's notification e-mail."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        recipients = email.config_get(user=request.user).recipients
        return Response({"email_address": recipients[0] if recipients else ""})

    @extend_schema(request=s.EmailAddressSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        address = validated(s.EmailAddressSerializer, request.data).validated_data["email_address"]
        cfg = email.email_address_set(user=request.user, address=address)
        return Response({"email_address": cfg.recipients[0]})


class EmailKindsApi(APIView):
    """Which kinds of notification are e-mailed (empty: every kind)."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        kinds = email.config_get(user=request.user).kinds
        return Response({"email_kinds": kinds, "available_kinds": email.available_kinds()})

    @extend_schema(request=s.EmailKindsSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.EmailKindsSerializer, request.data).validated_data
        cfg = email.config_update(user=request.user, data={"kinds": data["email_kinds"]})
        return Response({"email_kinds": cfg.kinds, "available_kinds": email.available_kinds()})


class SettingsApi(APIView):
    """The user's preferences: dashboard defaults, theme and e-mail quiet hours."""

    @extend_schema(responses=_any)
    def get(self, request: Request) -> Response:
        return Response(preferences.settings_dict(preferences.settings_get(user=request.user)))

    @extend_schema(request=s.SettingsSerializer, responses=_any)
    def post(self, request: Request) -> Response:
        data = validated(s.SettingsSerializer, request.data).validated_data
        prefs = preferences.settings_update(user=request.user, data=data)
        return Response(preferences.settings_dict(prefs))
