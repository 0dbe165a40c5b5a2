"""/notifications: list, filters, pagination, create, read/unread, delete, mark all read,
and other users' ids (404, nothing changes)."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from notifications.services.notifications import notification_create, notify_event


def _make(user, n: int, **kw) -> list[Notification]:
    return [
        notification_create(
            user_id=user.pk, kind=kw.get("kind", "custom"), title=f"note {i}", level=kw.get("level")
        )[0]
        for i in range(n)
    ]


def test_list_is_newest_first_with_unread_count_and_filters(api_client, user, other_user):
    _make(user, 3)
    _make(user, 2, kind="stop_loss")
    _make(other_user, 4)
    body = api_client.get("/notifications").json()
    assert body["count"] == 5 and body["unread_count"] == 5
    assert [n["title"] for n in body["results"]][:2] == ["note 1", "note 0"]
    stops = api_client.get("/notifications", {"kind": "stop_loss"}).json()
    assert stops["count"] == 2 and {n["level"] for n in stops["results"]} == {"warning"}
    assert api_client.get("/notifications", {"level": "warning"}).json()["count"] == 2
    page = api_client.get("/notifications", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]


def test_mark_read_unread_filter_and_mark_all(api_client, user):
    first, second, third = _make(user, 3)
    response = api_client.patch(f"/notifications/{first.pk}", {"read": True}, format="json")
    assert response.status_code == 200 and response.json()["read"] is True
    assert response.json()["read_at"]
    unread = api_client.get("/notifications", {"unread": "true"}).json()
    assert {n["id"] for n in unread["results"]} == {second.pk, third.pk}
    assert unread["unread_count"] == 2
    read = api_client.get("/notifications", {"unread": "false"}).json()
    assert [n["id"] for n in read["results"]] == [first.pk]
    back = api_client.patch(f"/notifications/{first.pk}", {"read": False}, format="json")
    assert back.json()["read"] is False and back.json()["read_at"] is None
    marked = api_client.post("/notifications/mark_all_read").json()
    assert marked == {"marked": 3, "unread_count": 0}
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_create_and_dedupe_key(api_client, user):
    body = {"title": "Backup done", "message": "nightly", "level": "warning", "dedupe_key": "b1"}
    created = api_client.post("/notifications", body, format="json")
    assert created.status_code == 201
    note = created.json()
    assert note["kind"] == "custom" and note["level"] == "warning" and note["read"] is False
    again = api_client.post("/notifications", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == note["id"]
    assert Notification.objects.filter(user=user).count() == 1
    detail = api_client.get(f"/notifications/{note['id']}").json()
    assert detail["title"] == "Backup done" and detail["message"] == "nightly"


def test_delete(api_client, user):
    (note,) = _make(user, 1)
    assert api_client.delete(f"/notifications/{note.pk}").status_code == 204
    assert not Notification.objects.filter(pk=note.pk).exists()
    assert api_client.get(f"/notifications/{note.pk}").status_code == 404


def test_other_users_notifications_are_404_and_unchanged(api_client, other_user):
    (theirs,) = _make(other_user, 1)
    url = f"/notifications/{theirs.pk}"
    assert api_client.get(url).status_code == 404
    assert api_client.patch(url, {"read": True}, format="json").status_code == 404
    assert api_client.delete(url).status_code == 404
    api_client.post("/notifications/mark_all_read")
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "t", "level": "loud"}, "level"),
        ({"title": "t", "kind": "nope"}, "kind"),
        ({"title": "t", "data": [1, 2]}, "data"),
        ({"title": "t", "data": {"x": "y" * 20_000}}, "data"),
        ({"title": "t", "colour": "red"}, "colour"),
        ({"title": ["t"]}, "title"),
    ],
)
def test_bad_create_bodies_are_400_and_change_nothing(api_client, user, body, field):
    response = api_client.post("/notifications", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not Notification.objects.filter(user=user).exists()


@pytest.mark.parametrize("value", ["yes", 1, None, "true", [True]])
def test_patch_read_must_be_a_boolean(api_client, user, value):
    (note,) = _make(user, 1)
    response = api_client.patch(f"/notifications/{note.pk}", {"read": value}, format="json")
    assert response.status_code == 400 and "read" in response.json()["error"]["details"]
    note.refresh_from_db()
    assert note.read_at is None


def test_bad_filters_are_400(api_client):
    assert api_client.get("/notifications", {"level": "loud"}).status_code == 400
    assert api_client.get("/notifications", {"unread": "maybe"}).status_code == 400


def test_routes_need_authentication(anon_client, user):
    (note,) = _make(user, 1)
    for method, url in [
        ("get", "/notifications"),
        ("post", "/notifications/mark_all_read"),
        ("get", f"/notifications/{note.pk}"),
        ("get", "/email/config"),
        ("post", "/email/send_test"),
        ("get", "/settings"),
        ("get", "/settings/email_enabled"),
    ]:
        assert getattr(anon_client, method)(url).status_code in (401, 403), url


def test_events_notify_once_per_event(user):
    data = {
        "trade_id": 7,
        "symbol": "BTCUSDT",
        "direction": "long",
        "exit_price": "100",
        "reason": "stop_loss",
        "realized_pnl": "-5",
    }
    first = notify_event(user_id=user.pk, kind="stop_loss", data=data)
    second = notify_event(user_id=user.pk, kind="stop_loss", data=data)
    assert len(first) == 1 and second == []
    note = Notification.objects.get(user=user)
    assert note.level == "warning" and note.title == "BTCUSDT long stopped out"
    assert "-5" in note.message and note.link == "/#trade"


def test_shared_events_reach_every_active_user(user, other_user):
    created = notify_event(
        user_id=None,
        kind="drift_detected",
        data={"symbol": "BTCUSDT", "timeframe": "1h", "at_ms": 1},
    )
    assert {n.user_id for n in created} == {user.pk, other_user.pk}
    assert (
        notify_event(
            user_id=None,
            kind="drift_detected",
            data={"symbol": "BTCUSDT", "timeframe": "1h", "at_ms": 1},
        )
        == []
    )
