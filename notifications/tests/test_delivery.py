"""E-mail delivery through the services the Celery task calls, to a real SMTP server:
one e-mail per event, retries only on transient failures, rate limit and digest, quiet
hours, filters, and the password in clear nowhere (database, responses, logs)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

from django.db import connection

from notifications.models import EmailDelivery, Notification
from notifications.services.email import (
    config_update,
    deliveries_sweep,
    email_deliver,
    email_digest_send,
)
from notifications.services.notifications import notify_event
from notifications.services.preferences import in_quiet_hours, settings_update
from notifications.tests.conftest import open_trade


def _deliver_all() -> list[str]:
    return [
        email_deliver(delivery_id=pk).status
        for pk in EmailDelivery.objects.values_list("pk", flat=True).order_by("pk")
    ]


def _closed(n: int) -> dict:
    return {
        "trade_id": n,
        "symbol": "BTCUSDT",
        "direction": "long",
        "exit_price": "100",
        "reason": "manual",
        "realized_pnl": "1",
    }


def test_closing_a_trade_sends_one_email_with_its_details(
    api_client, user, priced, mail_to, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        trade = open_trade(api_client)
        closed = api_client.post(f"/trades/{trade['id']}/close", {}, format="json").json()
    kinds = list(Notification.objects.filter(user=user).values_list("kind", flat=True))
    assert sorted(kinds) == ["trade_closed", "trade_opened"]
    assert _deliver_all() == ["sent", "sent"]
    assert _deliver_all() == ["sent", "sent"]  # the task run again sends nothing
    messages = mail_to.wait_for(2)
    assert len(messages) == 2
    closing = next(m for m in messages if "closed" in m["Subject"])
    assert closing["Subject"] == "[cryptobot] BTCUSDT long closed"
    text = closing.get_body(("plain",)).get_content()
    html = closing.get_body(("html",)).get_content()
    for value in (
        closed["exit_price"],
        closed["entry_price"],
        closed["quantity"],
        "BTCUSDT",
        f"Trade: {trade['id']}",
        "Realized PnL (USDT)",
    ):
        assert value in text, value
    assert "http://localhost:8000/#trade" in text and 'href="http://localhost:8000/#trade"' in html
    assert closed["exit_price"] in html


def test_the_same_event_never_sends_twice(user, mail_to):
    for _ in range(3):
        notify_event(user_id=user.pk, kind="trade_closed", data=_closed(1))
    assert Notification.objects.count() == 1 and EmailDelivery.objects.count() == 1
    (pk,) = EmailDelivery.objects.values_list("pk", flat=True)
    assert [email_deliver(delivery_id=pk).status for _ in range(3)] == ["sent"] * 3
    assert len(mail_to.wait_for(1)) == 1
    assert EmailDelivery.objects.get().attempts == 1


def test_server_down_retries_with_backoff_then_delivers_once(user, mail_to):
    notify_event(user_id=user.pk, kind="liquidation", data=_closed(2))
    (pk,) = EmailDelivery.objects.values_list("pk", flat=True)
    mail_to.stop()
    first = email_deliver(delivery_id=pk)
    second = email_deliver(delivery_id=pk)
    assert first.status == second.status == "queued" and first.retry_in > 0
    delivery = EmailDelivery.objects.get()
    assert delivery.attempts == 2 and "Could not connect" in delivery.last_error
    mail_to.start()
    assert email_deliver(delivery_id=pk).status == "sent"
    assert email_deliver(delivery_id=pk).status == "sent"
    assert len(mail_to.wait_for(1)) == 1
    assert EmailDelivery.objects.get().attempts == 3


def test_retry_delays_grow_and_stop_at_the_cap(settings):
    from notifications.services.email import retry_delay

    settings.EMAIL_RETRY_BASE_SECONDS, settings.EMAIL_RETRY_MAX_SECONDS = 10, 100
    assert 7.5 <= retry_delay(1) <= 12.5 and 15 <= retry_delay(2) <= 25
    assert 75 <= retry_delay(10) <= 125


def test_a_wrong_password_fails_at_once_without_retry(user, mail_to):
    config_update(user=user, data={"password": "wrong"})
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(3))
    outcome = email_deliver(delivery_id=EmailDelivery.objects.get().pk)
    assert outcome.status == "failed" and outcome.retry_in is None
    assert "535" in EmailDelivery.objects.get().last_error and mail_to.messages == []


def test_last_attempt_fails_the_delivery(user, mail_to, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(4))
    pk = EmailDelivery.objects.get().pk
    mail_to.stop()
    assert email_deliver(delivery_id=pk).status == "queued"
    assert email_deliver(delivery_id=pk).status == "failed"


def test_rate_limit_holds_then_one_digest(user, mail_to, settings):
    settings.EMAIL_RATE_LIMIT_PER_HOUR = 2
    for n in range(5):
        notify_event(user_id=user.pk, kind="trade_closed", data=_closed(10 + n))
    statuses = list(EmailDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["queued", "queued", "held", "held", "held"]
    assert email_digest_send() == 1
    assert email_digest_send() == 0
    _deliver_all()
    messages = mail_to.wait_for(3)
    assert len(messages) == 3
    digest = messages[-1]
    assert digest["Subject"] == "[cryptobot] 3 notifications while e-mail was held"
    body = digest.get_body(("plain",)).get_content()
    assert body.count("BTCUSDT long closed") == 3
    assert EmailDelivery.objects.filter(status="digested").count() == 3


def test_quiet_hours_hold_all_but_critical(user, mail_to):
    now = datetime.now(UTC)
    start = time((now.hour + 23) % 24, 0)
    end = time((now.hour + 1) % 24, 0)
    settings_update(user=user, data={"quiet_hours_start": start, "quiet_hours_end": end})
    assert in_quiet_hours(user_id=user.pk, now=now)
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(20))
    notify_event(user_id=user.pk, kind="liquidation", data=_closed(21))
    by_kind = {
        d.notification.kind: d.status for d in EmailDelivery.objects.select_related("notification")
    }
    assert by_kind == {"trade_closed": "held", "liquidation": "queued"}
    assert email_digest_send() == 0  # still quiet


def test_quiet_hours_wrap_midnight_in_the_users_zone(user):
    settings_update(
        user=user,
        data={"quiet_hours_start": time(22), "quiet_hours_end": time(7), "timezone": "Asia/Tokyo"},
    )
    assert in_quiet_hours(user_id=user.pk, now=datetime(2026, 1, 1, 14, 30, tzinfo=UTC))  # 23:30
    assert in_quiet_hours(user_id=user.pk, now=datetime(2026, 1, 1, 21, 0, tzinfo=UTC))  # 06:00
    assert not in_quiet_hours(user_id=user.pk, now=datetime(2026, 1, 1, 3, 0, tzinfo=UTC))  # 12:00


def test_kinds_and_min_level_filter_what_is_mailed(user, mail_to):
    config_update(user=user, data={"kinds": ["trade_closed", "liquidation"], "min_level": "info"})
    notify_event(user_id=user.pk, kind="trade_opened", data={"trade_id": 30, "symbol": "BTCUSDT"})
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(30))
    config_update(user=user, data={"kinds": [], "min_level": "error"})
    notify_event(user_id=user.pk, kind="stop_loss", data=_closed(31))
    notify_event(user_id=user.pk, kind="liquidation", data=_closed(32))
    mailed = EmailDelivery.objects.values_list("notification__kind", flat=True)
    assert sorted(mailed) == ["liquidation", "trade_closed"]
    assert Notification.objects.count() == 4  # every event is still in the app


def test_disabled_email_sends_nothing(user, mail_to):
    config_update(user=user, data={"enabled": False})
    notify_event(user_id=user.pk, kind="liquidation", data=_closed(40))
    assert Notification.objects.count() == 1 and not EmailDelivery.objects.exists()


def test_sweep_fails_deliveries_a_dead_worker_left_sending(user, mail_to):
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(50))
    EmailDelivery.objects.update(status="sending")
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    assert deliveries_sweep(now=later) == 1
    delivery = EmailDelivery.objects.get()
    assert delivery.status == "failed" and "not re-sent" in delivery.last_error
    assert email_deliver(delivery_id=delivery.pk).status == "failed"
    assert mail_to.messages == []


def test_password_is_nowhere_in_clear(api_client, user, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    secret = smtp_server.password
    bodies = [
        api_client.post("/email/config", smtp_server.config(), format="json"),
        api_client.get("/email/config"),
        api_client.post("/email/test", {}, format="json"),
        api_client.post("/email/test", {"password": "wrong-" + secret}, format="json"),
        api_client.post("/email/send_test"),
        api_client.get("/settings/email_enabled"),
    ]
    notify_event(user_id=user.pk, kind="trade_closed", data=_closed(60))
    _deliver_all()
    assert all(b.status_code < 500 for b in bodies)
    assert not any(secret in b.content.decode() for b in bodies)
    assert secret not in caplog.text
    # Every column of every table, as text.
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            dump.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    assert "trader@example.org" in text  # the dump does hold the e-mail settings
    assert secret not in text
