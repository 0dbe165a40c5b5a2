"""Admin for Binance-style API keys (imported by trading/admin.py).

Keys are made and revoked through the services only: "add" calls api_key_create and shows
the secret once in a message; the "revoke" action calls api_key_revoke. The encrypted
secret is never part of a form or a page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from trading.models import ApiKey
from trading.services.api_keys import api_key_create, api_key_revoke


class ApiKeyAddForm(forms.ModelForm):
    """What an admin chooses for a new key; the key and secret are generated."""

    class Meta:
        model = ApiKey
        fields = ("user", "label", "permission")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "key_prefix",
        "label",
        "user",
        "permission",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("permission", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("key", "label", "user__username")
    list_select_related = ("user",)
    actions = ("revoke_keys",)
    exclude = ("secret_encrypted",)
    readonly_fields = ("key", "user", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "label", "key", "permission", "created_at", "last_used_at", "revoked_at")

    @admin.display(description="key", ordering="key")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{obj.key[:8]}…"

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None):
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:  # label and permission only: plain fields with no side effects
            super().save_model(request, obj, form, change)
            return
        key, secret = api_key_create(user=obj.user, label=obj.label, permission=obj.permission)
        obj.pk, obj.key, obj.created_at = key.pk, key.key, key.created_at
        obj.secret_encrypted = key.secret_encrypted
        messages.warning(
            request,
            f"API key {key.key} was created for {obj.user}. Its secret, shown only this once: "
            f"{secret}",
        )

    def get_actions(self, request: HttpRequest):
        # Revoke instead of deleting: a revoked key stays for the record. (Deleting stays
        # possible so that deleting a user can take its keys with it.)
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Revoke the selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(user=key.user, key_id=key.pk)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
