"""The base of every request-body serializer."""

from __future__ import annotations

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """A flat serializer for validating request bodies.

    DRF deep-copies every declared field for every serializer instance, which rebuilds each
    field and its validators: on POST /trade that was a tenth of the web worker's CPU. A
    declared field is not changed after construction, and ``bind`` sets only attributes of
    the copy, so a shallow copy per instance is as independent as DRF needs. Flat fields
    only: a nested serializer field binds its child at construction and must be deep-copied.
    The copy is what ``copy.copy`` makes of a plain object (a new instance sharing the
    attribute values), without its generic ``__reduce_ex__`` round, which cost three times as
    much.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: _shallow_copy(field) for name, field in self._declared_fields.items()}


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


def validated(serializer_class: type[serializers.Serializer], data) -> serializers.Serializer:
    """A bound serializer whose data passed validation (a 400 with the fields otherwise)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: "yes", 1 or "false" are refused rather than guessed at."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class StrictSerializer(serializers.Serializer):
    """A body serializer that refuses keys it does not know (a typo would otherwise be
    silently ignored and the user would think the setting was saved)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Unknown field; known: {', '.join(self.fields)}."] for key in unknown}
                )
        return super().to_internal_value(data)
