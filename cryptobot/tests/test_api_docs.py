"""docs/API.md and the OpenAPI schema describe every REST route the code serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

DOCS = Path(settings.BASE_DIR) / "docs" / "API.md"
# Served by the project but documented elsewhere: pages, admin, static, Binance (its own
# contract, listed route by route in binance-compat terms), the schema views themselves.
SKIP = re.compile(r"^(admin/|static/|api/v3/|fapi/|sapi/|dapi/|api/schema|api/docs|$)")
PAGES = {"login", "logout", "profile", "profile/api-keys", "profile/token/rotate"}


def _routes(patterns, prefix: str = "") -> list[str]:
    out: list[str] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            out += _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            out.append(prefix + str(entry.pattern))
    return out


def _shape(path: str) -> str:
    """/trades/<int:number> and /trades/{id} both become /trades/{}."""
    path = re.sub(r"<[^>]+>", "{}", path)
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")


def api_routes() -> list[str]:
    routes = {r for r in _routes(get_resolver().url_patterns) if not SKIP.match(r)}
    return sorted(r for r in routes if r.rstrip("/") not in PAGES and "^" not in r)


def test_every_route_is_documented_in_api_md():
    documented = {_shape(m) for m in re.findall(r"/[A-Za-z0-9_/{}<>:.-]+", DOCS.read_text())}
    missing = [r for r in api_routes() if _shape("/" + r) not in documented]
    assert missing == []


@pytest.mark.django_db
def test_every_route_is_in_the_openapi_schema(client, user):
    client.force_login(user)
    schema = client.get("/api/schema/?format=json").json()
    paths = {_shape(p) for p in schema["paths"]}
    missing = [r for r in api_routes() if _shape("/" + r) not in paths]
    assert missing == []
