"""Request bodies and queries of the notifications, e-mail and settings routes. Every body
refuses unknown keys and non-boolean booleans (cryptobot.api.serializers)."""

from __future__ import annotations

import re

from rest_framework import serializers

from cryptobot.api.serializers import StrictBooleanField, StrictSerializer
from notifications.catalogue import KIND_KEYS, LEVELS
from notifications.models import UserSettings

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$"
)
MAX_RECIPIENTS = 10


def ordered_kinds(kinds: list[str]) -> list[str]:
    """Each kind once, in the catalogue's order."""
    return sorted(set(kinds), key=KIND_KEYS.index)


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=KIND_KEYS, required=False)
    level = serializers.ChoiceField(choices=LEVELS, required=False)


class NotificationCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    level = serializers.ChoiceField(choices=LEVELS, required=False, default="info")
    kind = serializers.ChoiceField(choices=KIND_KEYS, required=False, default="custom")
    data = serializers.DictField(required=False, default=dict)
    dedupe_key = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_data(self, value: dict) -> dict:
        if len(repr(value)) > 10_000:
            raise serializers.ValidationError("At most 10,000 characters of data.")
        return value


class NotificationPatchSerializer(StrictSerializer):
    read = StrictBooleanField()


class SmtpFieldsSerializer(StrictSerializer):
    """The SMTP settings, every one optional (a partial update, or overrides to test)."""

    enabled = StrictBooleanField(required=False)
    smtp_host = serializers.CharField(max_length=253, required=False, allow_blank=True)
    smtp_port = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    use_tls = StrictBooleanField(required=False)
    use_ssl = StrictBooleanField(required=False)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=512, required=False, allow_blank=True, trim_whitespace=False, write_only=True
    )
    from_email = serializers.EmailField(required=False, allow_blank=True)
    recipients = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=MAX_RECIPIENTS
    )
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=KIND_KEYS), required=False)
    min_level = serializers.ChoiceField(choices=LEVELS, required=False)

    def validate_smtp_host(self, value: str) -> str:
        value = value.strip()
        if value and not _HOST.match(value):
            raise serializers.ValidationError(
                "A host name or IP address, e.g. smtp.example.com (no scheme, port or path)."
            )
        return value.strip("[]")

    def validate_recipients(self, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for address in value:
            seen.setdefault(address.lower(), address)
        return list(seen.values())

    def validate_kinds(self, value: list[str]) -> list[str]:
        return ordered_kinds(value)


class EmailEnabledSerializer(StrictSerializer):
    email_enabled = StrictBooleanField()


class EmailAddressSerializer(StrictSerializer):
    email_address = serializers.EmailField()


class EmailKindsSerializer(StrictSerializer):
    email_kinds = serializers.ListField(child=serializers.ChoiceField(choices=KIND_KEYS))

    def validate_email_kinds(self, value: list[str]) -> list[str]:
        return ordered_kinds(value)


class SettingsSerializer(StrictSerializer):
    default_symbol = serializers.CharField(max_length=20, required=False)
    default_timeframe = serializers.CharField(max_length=4, required=False)
    theme = serializers.ChoiceField(choices=UserSettings.Theme.values, required=False)
    quiet_hours_start = serializers.TimeField(
        required=False, allow_null=True, input_formats=["%H:%M"]
    )
    quiet_hours_end = serializers.TimeField(
        required=False, allow_null=True, input_formats=["%H:%M"]
    )
    timezone = serializers.CharField(max_length=64, required=False)
