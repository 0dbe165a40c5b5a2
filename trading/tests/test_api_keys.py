"""API keys through the HTTP API, the management commands and admin: the secret is shown
once, stored encrypted, survives a rotation of ENCRYPTION_KEYS; keys are revoked per user."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

import trading.admin_api_keys  # noqa: F401  (registers ApiKey with admin, as trading/admin.py does)
from cryptobot.api.tokens import api_token_get_or_create
from cryptobot.lib.crypto import SecretUnreadable, _fernet, secret_decrypt
from trading.models import ApiKey
from trading.services.api_keys import api_key_create, api_key_resolve

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def other_client(other_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_get_or_create(user=other_user).key}")
    return client


@pytest.fixture
def encryption_keys():
    """use(*keys) sets ENCRYPTION_KEYS (newest first) for the rest of the test."""
    overrides: list[override_settings] = []

    def use(*keys: str) -> None:
        override = override_settings(ENCRYPTION_KEYS=",".join(keys))
        override.enable()
        overrides.append(override)
        _fernet.cache_clear()  # the key set is built once per process

    yield use
    for override in reversed(overrides):
        override.disable()
    _fernet.cache_clear()


def _create(client, **body) -> dict:
    response = client.post("/api_keys", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --------------------------------------------------------------------------- HTTP API


def test_create_shows_the_secret_once_and_the_list_never_shows_it(api_client, user):
    created = _create(api_client, label="ccxt bot", permission="read")
    secret = created["secret"]
    assert HEX64.match(secret) and HEX64.match(created["key"])
    assert created["label"] == "ccxt bot" and created["permission"] == "read"
    assert created["active"] is True and created["revoked_at"] is None
    assert "never again" in created["note"]

    response = api_client.get("/api_keys")
    assert response.status_code == 200
    [listed] = response.json()["api_keys"]
    assert set(listed) == {
        "id",
        "label",
        "key",
        "permission",
        "active",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert listed["id"] == created["id"] and listed["key"] == created["key"]
    assert secret not in response.content.decode()
    revoked = api_client.delete(f"/api_keys/{created['id']}")
    assert secret not in revoked.content.decode()


def test_defaults_are_a_trade_key_without_a_label(api_client, user):
    created = _create(api_client)
    assert created["permission"] == "trade" and created["label"] == ""
    assert ApiKey.objects.get(pk=created["id"]).can_trade


def test_secret_is_stored_encrypted_and_decrypts_to_what_was_shown(api_client, user):
    created = _create(api_client, label="script")
    row = ApiKey.objects.get(pk=created["id"], user=user)
    assert row.key == created["key"]
    assert created["secret"] not in row.secret_encrypted
    assert secret_decrypt(row.secret_encrypted) == created["secret"]
    assert api_key_resolve(row.key).secret == created["secret"]


def test_list_is_newest_first_and_only_the_users_own(api_client, other_client, user):
    first = _create(api_client, label="one")
    second = _create(api_client, label="two")
    _create(other_client, label="theirs")
    listed = api_client.get("/api_keys").json()["api_keys"]
    assert [k["id"] for k in listed] == [second["id"], first["id"]]


def test_revoke_stops_the_key_and_keeps_it_listed(api_client, user):
    created = _create(api_client, label="old")
    assert api_key_resolve(created["key"]) is not None
    response = api_client.delete(f"/api_keys/{created['id']}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["active"] is False and body["revoked_at"]
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is not None
    assert api_key_resolve(created["key"]) is None
    [listed] = api_client.get("/api_keys").json()["api_keys"]
    assert listed["revoked_at"] == body["revoked_at"] and listed["active"] is False
    again = api_client.delete(f"/api_keys/{created['id']}")
    assert again.status_code == 200 and again.json()["revoked_at"] == body["revoked_at"]


def test_revoke_of_another_users_key_is_404_and_changes_nothing(api_client, other_client):
    created = _create(api_client)
    response = other_client.delete(f"/api_keys/{created['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is None
    assert other_client.delete("/api_keys/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permission": "admin"}, "permission"),
        ({"permission": None}, "permission"),
        ({"label": "x" * 65}, "label"),
        ({"label": ["a"]}, "label"),
    ],
)
def test_bad_create_bodies_are_400_and_create_nothing(api_client, user, body, field):
    response = api_client.post("/api_keys", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not ApiKey.objects.exists()


def test_api_key_routes_need_sign_in(anon_client, user):
    api_key_create(user=user)
    assert anon_client.get("/api_keys").status_code == 401
    assert anon_client.post("/api_keys", {}, format="json").status_code == 401
    assert anon_client.delete(f"/api_keys/{ApiKey.objects.get().pk}").status_code == 401
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_schema_documents_the_api_key_routes(api_client):
    paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api_keys"]) and "delete" in paths["/api_keys/{key_id}"]


# --------------------------------------------------------------------------- commands


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_apikey_create_command_prints_key_and_secret_once(user):
    out = _run("apikey_create", user.username, "--label", "cron", "--permission", "read")
    fields = dict(re.findall(r"^(\w+):\s+(\S+)$", out, re.MULTILINE))
    row = ApiKey.objects.get(user=user)
    assert fields["id"] == str(row.pk) and fields["key"] == row.key
    assert (row.label, row.permission) == ("cron", "read")
    assert secret_decrypt(row.secret_encrypted) == fields["secret"]
    assert fields["secret"] not in row.secret_encrypted


def test_apikey_create_refuses_unknown_users_and_permissions(user):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _run("apikey_create", "nobody")
    with pytest.raises(CommandError, match="invalid choice"):
        _run("apikey_create", user.username, "--permission", "admin")
    assert not ApiKey.objects.exists()


def test_apikey_revoke_command_revokes_only_the_users_own_key(user, other_user):
    key, _ = api_key_create(user=user)
    with pytest.raises(CommandError, match=f"no API key {key.pk}"):
        _run("apikey_revoke", other_user.username, str(key.pk))
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    out = _run("apikey_revoke", user.username, str(key.pk))
    assert f"Revoked API key {key.pk}" in out
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_secrets_rotate_reencrypts_with_the_new_first_key(user, encryption_keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    encryption_keys(old)
    out = _run("apikey_create", user.username)
    secret = re.search(r"^secret:\s+(\S+)$", out, re.MULTILINE).group(1)
    other, other_secret = api_key_create(user=user, label="second")
    before = {k.pk: k.secret_encrypted for k in ApiKey.objects.all()}

    encryption_keys(new, old)
    assert "Re-encrypted 2 API key secret(s)" in _run("secrets_rotate")
    after = {k.pk: k.secret_encrypted for k in ApiKey.objects.all()}
    assert all(after[pk] != before[pk] for pk in before)
    first = ApiKey.objects.exclude(pk=other.pk).get()
    assert secret_decrypt(first.secret_encrypted) == secret

    encryption_keys(new)  # the old key dropped: everything still reads
    assert secret_decrypt(ApiKey.objects.get(pk=first.pk).secret_encrypted) == secret
    assert secret_decrypt(ApiKey.objects.get(pk=other.pk).secret_encrypted) == other_secret
    encryption_keys(old)  # and the old key alone no longer does: it was really re-encrypted
    with pytest.raises(SecretUnreadable):
        secret_decrypt(ApiKey.objects.get(pk=first.pk).secret_encrypted)


# --------------------------------------------------------------------------- admin


@pytest.fixture
def staff_client(client, db):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456789")
    client.force_login(boss)
    return client


def test_admin_add_creates_through_the_service_and_shows_the_secret_once(staff_client, user):
    response = staff_client.post(
        "/admin/trading/apikey/add/",
        {"user": user.pk, "label": "from admin", "permission": "read"},
        follow=True,
    )
    assert response.status_code == 200
    row = ApiKey.objects.get(user=user)
    assert (row.label, row.permission) == ("from admin", "read") and HEX64.match(row.key)
    shown = [str(m) for m in response.context["messages"]]
    [message] = [m for m in shown if "shown only this once" in m]
    secret = message.rsplit(" ", 1)[1]
    assert secret_decrypt(row.secret_encrypted) == secret

    for url in ("/admin/trading/apikey/", f"/admin/trading/apikey/{row.pk}/change/"):
        page = staff_client.get(url).content.decode()
        assert secret not in page and row.secret_encrypted not in page
        assert "secret_encrypted" not in page


def test_admin_revoke_action_calls_the_service(staff_client, user):
    key, _ = api_key_create(user=user)
    staff_client.post(
        "/admin/trading/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]}
    )
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert api_key_resolve(key.key) is None
