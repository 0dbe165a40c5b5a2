"""Auth on every route and JSON errors everywhere."""

import pytest
from django.db import connection


def test_database_is_postgresql(db):
    assert connection.vendor == "postgresql"


def test_health_is_public_and_names_components(anon_client, db):
    response = anon_client.get("/health")
    body = response.json()
    assert set(body["components"]) >= {"database", "redis", "celery"}
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True
    # No worker runs in this test, so celery is down and the status says so.
    assert body["components"]["celery"]["ok"] is False
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert "celery" in body["failing"]


def test_unauthenticated_api_request_is_401_json(anon_client, db):
    response = anon_client.get("/api/token")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_bad_token_is_401_json(anon_client, db):
    anon_client.credentials(HTTP_AUTHORIZATION="Token nope")
    response = anon_client.get("/api/token")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token."


def test_unknown_route_is_404_json(anon_client, db):
    response = anon_client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_token_rotation_revokes_old_token_at_once(api_client, anon_client, user):
    old = api_client.get("/api/token").json()["token"]
    new = api_client.post("/api/token").json()["token"]
    assert new != old
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert anon_client.get("/api/token").status_code == 401
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert anon_client.get("/api/token").json()["token"] == new


def test_session_write_without_csrf_is_refused(client, user, password):
    client.force_login(user)
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post("/api/token")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_render(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200


@pytest.mark.urls("cryptobot.tests.error_urls")
@pytest.mark.parametrize("path", ["/test/broken-page", "/test/broken-api"])
def test_server_error_is_json_500_without_traceback(client, db, settings, path):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "server_error"
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
