"""/email/config, /email/test, /email/send_test and the sidebar's quick settings, against a
real SMTP server (aiosmtpd with login) on 127.0.0.1."""

from __future__ import annotations

import pytest

from cryptobot.lib.crypto import secret_decrypt
from cryptobot.testing.live import free_port
from notifications.models import EmailConfig, EmailDelivery


def _saved(user) -> dict:
    cfg = EmailConfig.objects.filter(user=user).first()
    if cfg is None:
        return {}
    return {
        f.name: getattr(cfg, f.name) for f in EmailConfig._meta.fields if f.name != "updated_at"
    }


def test_defaults_then_save_keeps_password_write_only(api_client, user, smtp_server):
    body = api_client.get("/email/config").json()
    assert body["enabled"] is False and body["password_set"] is False
    assert body["smtp_port"] == 587 and body["levels"] == ["info", "warning", "error", "critical"]
    assert {"kind": "trade_closed", "label": "Trade closed"} in body["available_kinds"]
    response = api_client.post(
        "/email/config", {**smtp_server.config(), "kinds": ["trade_closed"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    saved = response.json()
    assert saved["enabled"] is True and saved["password_set"] is True
    assert "password" not in saved and smtp_server.password not in response.content.decode()
    cfg = EmailConfig.objects.get(user=user)
    assert cfg.password_encrypted != smtp_server.password
    assert secret_decrypt(cfg.password_encrypted) == smtp_server.password
    # Omitting the password keeps it; "" clears it.
    api_client.post("/email/config", {"username": "other"}, format="json")
    assert secret_decrypt(EmailConfig.objects.get(user=user).password_encrypted) == (
        smtp_server.password
    )
    cleared = api_client.post("/email/config", {"password": ""}, format="json").json()
    assert cleared["password_set"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_port": 70000}, "smtp_port"),
        ({"smtp_port": "abc"}, "smtp_port"),
        ({"smtp_port": "NaN"}, "smtp_port"),
        ({"smtp_port": 25.5}, "smtp_port"),
        ({"use_tls": True, "use_ssl": True}, "use_ssl"),
        ({"use_tls": "yes"}, "use_tls"),
        ({"enabled": 1}, "enabled"),
        ({"from_email": "not-an-address"}, "from_email"),
        ({"recipients": "a@b.org"}, "recipients"),
        ({"recipients": ["a@b.org", "nope"]}, "recipients"),
        ({"recipients": [f"u{i}@b.org" for i in range(11)]}, "recipients"),
        ({"kinds": ["trade_closed", "weather"]}, "kinds"),
        ({"min_level": "loud"}, "min_level"),
        ({"smtp_host": "smtp://mail.example.org:25"}, "smtp_host"),
        ({"smtp_host": "x" * 300}, "smtp_host"),
        ({"password": "p" * 600}, "password"),
        ({"smtp_pass": "x"}, "smtp_pass"),
        ({"enabled": True}, None),  # not configured yet
    ],
)
def test_bad_config_bodies_are_4xx_and_change_nothing(api_client, user, body, field):
    api_client.post("/email/config", {"smtp_host": "", "username": "me"}, format="json")
    before = _saved(user)
    response = api_client.post("/email/config", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    if field:
        assert field in error["details"], error
    else:
        assert error["code"] == "email_not_configured" and "smtp_host" in error["message"]
    assert _saved(user) == before


def test_private_hosts_are_refused_unless_allow_listed(api_client, user, settings):
    settings.SMTP_ALLOWED_HOSTS = ""
    for host in ("127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1"):
        response = api_client.post("/email/config", {"smtp_host": host}, format="json")
        assert response.status_code == 400, host
        assert "SMTP_ALLOWED_HOSTS" in response.json()["error"]["message"]
        tested = api_client.post("/email/test", {"smtp_host": host, "smtp_port": 25}, format="json")
        assert tested.status_code == 422 and tested.json()["error"]["code"] == "smtp_host_refused"
    assert not EmailConfig.objects.filter(user=user).exclude(smtp_host="").exists()
    settings.SMTP_ALLOWED_HOSTS = "mail.lan, 10.0.0.0/8"
    allowed = api_client.post("/email/config", {"smtp_host": "10.1.2.3"}, format="json")
    assert allowed.status_code == 200 and allowed.json()["smtp_host"] == "10.1.2.3"
    refused = api_client.post("/email/config", {"smtp_host": "192.168.0.10"}, format="json")
    assert refused.status_code == 400


def test_connection_test_logs_in_and_reports_the_servers_answer(api_client, smtp_server):
    api_client.post("/email/config", smtp_server.config(enabled=False), format="json")
    ok = api_client.post("/email/test", {}, format="json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["ok"] is True and ok.json()["server_answer"].startswith("235")
    wrong = api_client.post("/email/test", {"password": "wrong"}, format="json")
    assert wrong.status_code == 422
    error = wrong.json()["error"]
    assert error["code"] == "smtp_auth_failed" and error["details"]["smtp_code"] == 535
    assert "535" in error["message"] and error["details"]["smtp_answer"]
    assert "wrong" not in wrong.content.decode()
    # The stored password was not replaced by the test's.
    assert api_client.post("/email/test", {}, format="json").status_code == 200
    assert smtp_server.messages == []  # a test connection sends nothing


def test_connection_test_to_a_closed_port(api_client, smtp_server):
    api_client.post("/email/config", smtp_server.config(enabled=False), format="json")
    response = api_client.post("/email/test", {"smtp_port": free_port()}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "smtp_connect_failed"


def test_send_test_arrives(api_client, user, smtp_server):
    assert api_client.post("/email/send_test").json()["error"]["code"] == "email_not_configured"
    api_client.post("/email/config", smtp_server.config(), format="json")
    response = api_client.post("/email/send_test")
    assert response.status_code == 200, response.json()
    assert response.json()["recipients"] == ["trader@example.org"]
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "[cryptobot] Test e-mail"
    assert message["To"] == "trader@example.org" and message["From"] == "cryptobot@example.org"
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
    assert user.username in message.get_body(("plain",)).get_content()
    delivery = EmailDelivery.objects.get(user=user)
    assert delivery.kind == "test" and delivery.status == "sent"


def test_send_test_with_a_wrong_password_fails_with_the_answer(api_client, smtp_server):
    api_client.post("/email/config", smtp_server.config(password="nope"), format="json")
    response = api_client.post("/email/send_test")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["smtp_code"] == 535
    assert EmailDelivery.objects.get().status == "failed"


def test_quick_settings(api_client, user, smtp_server):
    assert api_client.get("/settings/email_enabled").json() == {"email_enabled": False}
    refused = api_client.post("/settings/email_enabled", {"email_enabled": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "email_not_configured"
    assert not EmailConfig.objects.filter(user=user).exists()  # nothing saved, not even a row
    api_client.post("/email/config", smtp_server.config(enabled=False), format="json")
    on = api_client.post("/settings/email_enabled", {"email_enabled": True}, format="json")
    assert on.json() == {"email_enabled": True} and EmailConfig.objects.get(user=user).enabled
    bad = api_client.post("/settings/email_enabled", {"email_enabled": "off"}, format="json")
    assert bad.status_code == 400 and EmailConfig.objects.get(user=user).enabled

    address = api_client.post(
        "/settings/email_address", {"email_address": "me@example.org"}, format="json"
    )
    assert address.json() == {"email_address": "me@example.org"}
    assert EmailConfig.objects.get(user=user).recipients == ["me@example.org", "trader@example.org"]
    assert api_client.get("/settings/email_address").json() == {"email_address": "me@example.org"}
    bad = api_client.post("/settings/email_address", {"email_address": "x"}, format="json")
    assert bad.status_code == 400

    kinds = api_client.post(
        "/settings/email_kinds", {"email_kinds": ["liquidation", "stop_loss"]}, format="json"
    )
    assert kinds.json()["email_kinds"] == ["stop_loss", "liquidation"]
    assert api_client.get("/settings/email_kinds").json()["email_kinds"] == [
        "stop_loss",
        "liquidation",
    ]
    bad = api_client.post("/settings/email_kinds", {"email_kinds": ["rain"]}, format="json")
    assert bad.status_code == 400
    assert EmailConfig.objects.get(user=user).kinds == ["stop_loss", "liquidation"]


def test_preferences(api_client, user, markets):
    body = api_client.get("/settings").json()
    assert body == {
        "default_symbol": "BTCUSDT",
        "default_timeframe": "1h",
        "theme": "system",
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "timezone": "UTC",
    }
    saved = api_client.post(
        "/settings",
        {
            "default_symbol": "eth/usdt",
            "default_timeframe": "15m",
            "theme": "dark",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
            "timezone": "Europe/Berlin",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    assert saved.json()["default_symbol"] == "ETHUSDT"
    assert saved.json()["quiet_hours_end"] == "07:30"
    assert api_client.get("/settings").json() == saved.json()
    for bad, field in [
        ({"default_symbol": "DOGEBTC"}, "default_symbol"),
        ({"default_timeframe": "7m"}, "default_timeframe"),
        ({"theme": "neon"}, "theme"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"quiet_hours_start": "25:00"}, "quiet_hours_start"),
        ({"quiet_hours_start": None}, "quiet_hours_end"),
        ({"language": "de"}, "language"),
    ]:
        response = api_client.post("/settings", bad, format="json")
        assert response.status_code == 400, bad
        assert field in response.json()["error"]["details"], response.json()
        assert api_client.get("/settings").json() == saved.json()


def test_secrets_rotate_reencrypts_smtp_passwords(user, smtp_server, settings):
    from io import StringIO

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from cryptobot.lib.crypto import SecretUnreadable
    from notifications.services.email import config_update

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = old
    config_update(user=user, data=smtp_server.config())
    before = EmailConfig.objects.get(user=user).password_encrypted
    settings.ENCRYPTION_KEYS = f"{new},{old}"
    out = StringIO()
    call_command("secrets_rotate", stdout=out)
    assert "1 SMTP password(s)" in out.getvalue()
    after = EmailConfig.objects.get(user=user).password_encrypted
    assert after != before
    settings.ENCRYPTION_KEYS = new
    assert secret_decrypt(after) == smtp_server.password
    settings.ENCRYPTION_KEYS = old
    with pytest.raises(SecretUnreadable):
        secret_decrypt(after)


def test_email_test_command(user, smtp_server):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from notifications.services.email import config_update

    config_update(user=user, data=smtp_server.config())
    out = StringIO()
    call_command("email_test", user.username, stdout=out)
    assert "logged in" in out.getvalue() and "235" in out.getvalue()
    call_command("email_test", user.username, "--send", stdout=out)
    assert len(smtp_server.wait_for(1)) == 1
    config_update(user=user, data={"password": "bad"})
    with pytest.raises(CommandError, match="535"):
        call_command("email_test", user.username)
