"""E-mail: each user's SMTP settings, the decision to mail a notification, delivery with
retries, the digest of held notifications, and the test routes.

Delivery is at most once per notification. The EmailDelivery row is created with the
notification (one per notification, unique), and a task may send it only after moving it
queued → sending with a conditional UPDATE, so a duplicated or retried task cannot send it
twice. A transient failure (connection refused, timeout, 4xx) puts it back to queued and
the task retries with exponential backoff and jitter; a permanent one (bad login, 5xx)
fails it at once. A worker that dies mid-send leaves it ``sending``: the sweep marks it
failed rather than risk a second copy.

Rate limit: past EMAIL_RATE_LIMIT_PER_HOUR e-mails in the last hour, and during the user's
quiet hours (critical ones excepted), notifications are ``held`` and the beat digest sends
them together in one e-mail.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from cryptobot.lib.crypto import SecretUnreadable, secret_decrypt, secret_encrypt, secret_rotate
from cryptobot.lib.time import iso_z
from notifications import catalogue, messages
from notifications.errors import EmailNotConfigured, SmtpFailed
from notifications.models import EmailConfig, EmailDelivery, Notification
from notifications.services.preferences import in_quiet_hours
from notifications.transports.smtp import (
    SmtpError,
    SmtpHostRefused,
    SmtpSettings,
    host_address,
    smtp_check,
    smtp_send,
)

logger = logging.getLogger(__name__)

WRITABLE = (
    "enabled",
    "smtp_host",
    "smtp_port",
    "use_tls",
    "use_ssl",
    "username",
    "password",
    "from_email",
    "recipients",
    "kinds",
    "min_level",
)
Status = EmailDelivery.Status


# ------------------------------------------------------------------------ settings


def config_get(*, user) -> EmailConfig:
    """The user's settings, or the defaults (unsaved) when they never saved any: a read
    writes nothing."""
    return EmailConfig.objects.filter(user=user).first() or EmailConfig(user=user)


def _config_locked(user) -> EmailConfig:
    """Inside a transaction: the user's settings row, created if needed, locked."""
    EmailConfig.objects.get_or_create(user=user)
    return EmailConfig.objects.select_for_update().get(user=user)


def config_dict(cfg: EmailConfig) -> dict[str, Any]:
    """The settings as the API shows them: the password only as ``password_set``."""
    return {
        "enabled": cfg.enabled,
        "smtp_host": cfg.smtp_host,
        "smtp_port": cfg.smtp_port,
        "use_tls": cfg.use_tls,
        "use_ssl": cfg.use_ssl,
        "username": cfg.username,
        "password_set": cfg.password_set,
        "from_email": cfg.from_email,
        "recipients": list(cfg.recipients),
        "kinds": list(cfg.kinds),
        "min_level": cfg.min_level,
        "updated_at": iso_z(cfg.updated_at) if cfg.pk else None,
        "available_kinds": available_kinds(),
        "levels": list(catalogue.LEVELS),
    }


def available_kinds() -> list[dict[str, str]]:
    return [{"kind": k.key, "label": k.label} for k in catalogue.KINDS.values()]


def _missing(cfg: EmailConfig) -> list[str]:
    return [
        name
        for name, value in (
            ("smtp_host", cfg.smtp_host),
            ("from_email", cfg.from_email),
            ("recipients", cfg.recipients),
        )
        if not value
    ]


def _usable(cfg: EmailConfig | None) -> bool:
    """Settings that can send: saved, enabled and complete."""
    return cfg is not None and cfg.enabled and not _missing(cfg)


def _require_complete(cfg: EmailConfig) -> None:
    missing = _missing(cfg)
    if missing:
        raise EmailNotConfigured(
            f"E-mail is not configured: set {', '.join(missing)} first (E-mail tab or "
            "POST /email/config).",
            details={"missing": missing},
        )


def _apply(cfg: EmailConfig, data: dict[str, Any]) -> None:
    """Copy validated fields onto ``cfg`` (not saved). ``password``: "" clears it."""
    for name in WRITABLE:
        if name not in data:
            continue
        if name == "password":
            cfg.password_encrypted = secret_encrypt(data[name]) if data[name] else ""
        else:
            setattr(cfg, name, data[name])
    if "use_ssl" in data and data["use_ssl"] and "use_tls" not in data:
        cfg.use_tls = False  # implicit TLS replaces STARTTLS
    if cfg.use_tls and cfg.use_ssl:
        raise ValidationError({"use_ssl": ["Choose use_tls (STARTTLS) or use_ssl, not both."]})


def _check_host(host: str, port: int) -> None:
    """Refuse a private or loopback host when it is saved (it is checked again at every
    connection). A host that does not resolve now is kept: DNS may be down for a while."""
    if not host:
        return
    try:
        host_address(host, port)
    except SmtpHostRefused as exc:
        raise ValidationError({"smtp_host": [exc.message]}) from exc
    except SmtpError:
        pass


@transaction.atomic
def config_update(*, user, data: dict[str, Any]) -> EmailConfig:
    """Save a validated partial update; enabling needs host, sender and recipients."""
    cfg = _config_locked(user)
    _apply(cfg, data)
    if "smtp_host" in data or "smtp_port" in data:
        _check_host(cfg.smtp_host, cfg.smtp_port)
    if cfg.enabled:
        _require_complete(cfg)
    cfg.save()
    return cfg


def email_address_set(*, user, address: str) -> EmailConfig:
    """Make ``address`` the first recipient (the sidebar's quick setting), keeping others."""
    with transaction.atomic():
        cfg = _config_locked(user)
        rest = [r for r in cfg.recipients if r.lower() != address.lower()]
        cfg.recipients = [address, *rest]
        cfg.save(update_fields=["recipients", "updated_at"])
    return cfg


def _smtp(cfg: EmailConfig) -> SmtpSettings:
    try:
        password = secret_decrypt(cfg.password_encrypted) if cfg.password_encrypted else ""
    except SecretUnreadable as exc:
        raise SmtpError(
            "The stored SMTP password cannot be decrypted (ENCRYPTION_KEYS changed): "
            "enter it again."
        ) from exc
    return SmtpSettings(
        host=cfg.smtp_host,
        port=cfg.smtp_port,
        use_tls=cfg.use_tls,
        use_ssl=cfg.use_ssl,
        username=cfg.username,
        password=password,
    )


def email_test(*, user, overrides: dict[str, Any]) -> dict[str, Any]:
    """Connect and log in with the stored settings and ``overrides`` (unsaved), without
    sending. Raises SmtpFailed carrying the server's answer."""
    cfg = config_get(user=user)
    _apply(cfg, overrides)
    if not cfg.smtp_host:
        raise EmailNotConfigured("Set smtp_host first.", details={"missing": ["smtp_host"]})
    try:
        answer = smtp_check(_smtp(cfg))
    except SmtpError as exc:
        raise SmtpFailed.of(exc) from exc
    who = f" and logged in as {cfg.username}" if cfg.username else ""
    return {
        "ok": True,
        "message": f"Connected to {cfg.smtp_host}:{cfg.smtp_port}{who}.",
        "server_answer": answer,
    }


def email_send_test(*, user) -> dict[str, Any]:
    """Send one test e-mail now with the stored settings (recorded as a delivery)."""
    cfg = config_get(user=user)
    _require_complete(cfg)
    email = messages.test_email(username=user.get_username())
    delivery = EmailDelivery.objects.create(
        user=user,
        kind=EmailDelivery.Kind.TEST,
        status=Status.SENDING,
        subject=email.subject,
        recipients=list(cfg.recipients),
        attempts=1,
    )
    try:
        _send(cfg, email, delivery)
    except SmtpError as exc:
        _finish(delivery.pk, Status.FAILED, error=exc.message)
        raise SmtpFailed.of(exc) from exc
    _finish(delivery.pk, Status.SENT)
    to = ", ".join(cfg.recipients)
    return {"ok": True, "message": f"Test e-mail sent to {to}.", "recipients": cfg.recipients}


# ------------------------------------------------------------------------ delivery


def _wanted(cfg: EmailConfig, note: Notification) -> bool:
    return (
        _usable(cfg)
        and (not cfg.kinds or note.kind in cfg.kinds)
        and catalogue.level_at_least(note.level, cfg.min_level)
    )


def _sent_last_hour(user_id: int, now: datetime) -> int:
    return EmailDelivery.objects.filter(
        user_id=user_id,
        kind__in=(EmailDelivery.Kind.NOTIFICATION, EmailDelivery.Kind.DIGEST),
        status__in=(Status.QUEUED, Status.SENDING, Status.SENT),
        created_at__gte=now - timedelta(hours=1),
    ).count()


def delivery_plan(note: Notification) -> int | None:
    """Inside the notification's transaction: record whether it is mailed (queued),
    held for the digest, or not at all. The id to queue after commit, or None."""
    cfg = (
        EmailConfig.objects.select_for_update()  # one decision at a time per user
        .filter(user_id=note.user_id, enabled=True)
        .first()
    )
    if cfg is None or not _wanted(cfg, note):
        return None
    now = timezone.now()
    held = note.level != "critical" and (
        in_quiet_hours(user_id=note.user_id, now=now)
        or _sent_last_hour(note.user_id, now) >= settings.EMAIL_RATE_LIMIT_PER_HOUR
    )
    delivery = EmailDelivery.objects.create(
        user_id=note.user_id,
        notification=note,
        status=Status.HELD if held else Status.QUEUED,
        subject=note.title[:250],
        recipients=list(cfg.recipients),
    )
    return None if held else delivery.pk


def delivery_queue(delivery_id: int) -> None:
    """Hand a queued delivery to a worker (after commit)."""
    current_app.send_task("notifications.email.deliver", args=[delivery_id])


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None  # seconds until the task should try again


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter around it: base · 2^(attempt-1), capped."""
    delay = min(
        settings.EMAIL_RETRY_MAX_SECONDS, settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return delay * random.uniform(0.75, 1.25)


def email_deliver(*, delivery_id: int) -> DeliveryOutcome:
    """Send one queued delivery if this call wins the claim. Transient failures leave it
    queued with a retry delay; permanent ones and the last attempt fail it."""
    claimed = EmailDelivery.objects.filter(pk=delivery_id, status=Status.QUEUED).update(
        status=Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        current = EmailDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True)
        return DeliveryOutcome(current.first() or "missing")
    delivery = EmailDelivery.objects.select_related("notification").get(pk=delivery_id)
    cfg = EmailConfig.objects.filter(user_id=delivery.user_id).first()
    if not _usable(cfg):
        _finish(delivery_id, Status.FAILED, error="E-mail was disabled before it went out.")
        return DeliveryOutcome(Status.FAILED)
    try:
        _send(cfg, _content(delivery), delivery)
    except SmtpError as exc:
        last = delivery.attempts >= settings.EMAIL_MAX_ATTEMPTS
        if exc.transient and not last:
            _finish(delivery_id, Status.QUEUED, error=exc.message)
            logger.warning(
                "E-mail %s attempt %s failed, will retry: %s",
                delivery_id,
                delivery.attempts,
                exc.message,
            )
            return DeliveryOutcome(Status.QUEUED, retry_delay(delivery.attempts))
        _finish(delivery_id, Status.FAILED, error=exc.message)
        logger.error("E-mail %s failed: %s", delivery_id, exc.message)
        return DeliveryOutcome(Status.FAILED)
    _finish(delivery_id, Status.SENT)
    return DeliveryOutcome(Status.SENT)


def _content(delivery: EmailDelivery) -> messages.Email:
    if delivery.kind == EmailDelivery.Kind.DIGEST:
        notes = [
            item.notification
            for item in delivery.held_items.select_related("notification").order_by("created_at")
            if item.notification is not None
        ]
        return messages.digest_email(notes, reason="rate limit or quiet hours")
    if delivery.notification is None:
        raise SmtpError("The notification was deleted before its e-mail went out.")
    return messages.notification_email(delivery.notification)


def _send(cfg: EmailConfig, email: messages.Email, delivery: EmailDelivery) -> None:
    recipients = list(delivery.recipients or cfg.recipients)
    body = messages.mime_bytes(
        email, sender=cfg.from_email, recipients=recipients, ref=f"delivery-{delivery.pk}"
    )
    smtp_send(_smtp(cfg), sender=cfg.from_email, recipients=recipients, message=body)


def _finish(delivery_id: int, status: str, *, error: str = "") -> None:
    fields: dict[str, Any] = {"status": status}
    if error:
        fields["last_error"] = error[:2000]
    if status == Status.SENT:
        fields["sent_at"] = timezone.now()
    EmailDelivery.objects.filter(pk=delivery_id).update(**fields)


# ------------------------------------------------------------------------ beat


def email_digest_send(*, now: datetime | None = None) -> int:
    """One digest per user with held notifications, outside their quiet hours (beat).
    The held rows are claimed by the digest in the same transaction. Returns how many
    digests were queued."""
    now = now or timezone.now()
    queued = []
    user_ids = (
        EmailDelivery.objects.filter(status=Status.HELD)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in list(user_ids):
        if in_quiet_hours(user_id=user_id, now=now):
            continue
        with transaction.atomic():
            held = list(
                EmailDelivery.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, status=Status.HELD)
                .order_by("created_at")
            )
            cfg = EmailConfig.objects.filter(user_id=user_id).first()
            if not held:
                continue
            if not _usable(cfg):
                EmailDelivery.objects.filter(pk__in=[d.pk for d in held]).update(
                    status=Status.FAILED, last_error="E-mail was disabled before the digest."
                )
                continue
            digest = EmailDelivery.objects.create(
                user_id=user_id,
                kind=EmailDelivery.Kind.DIGEST,
                subject=f"{len(held)} notifications",
                recipients=list(cfg.recipients),
            )
            EmailDelivery.objects.filter(pk__in=[d.pk for d in held]).update(
                status=Status.DIGESTED, digest=digest
            )
            transaction.on_commit(lambda pk=digest.pk: delivery_queue(pk))
            queued.append(digest.pk)
    return len(queued)


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Fail deliveries stuck in ``sending`` (the worker died mid-send) instead of sending
    them again; re-queue queued ones whose task was lost (e.g. Redis flushed)."""
    now = now or timezone.now()
    stuck = EmailDelivery.objects.filter(
        status=Status.SENDING,
        created_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2),
    ).update(
        status=Status.FAILED,
        last_error="The worker stopped while sending; not re-sent, to avoid a duplicate.",
    )
    lost = EmailDelivery.objects.filter(
        status=Status.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.EMAIL_RETRY_MAX_SECONDS * 3),
    ).values_list("pk", flat=True)
    for pk in lost:
        delivery_queue(pk)
    return stuck


def delivery_retry(*, delivery_id: int) -> bool:
    """Send a failed delivery again (an operator's decision, from admin); whether it was
    failed and is now queued."""
    requeued = (
        EmailDelivery.objects.filter(pk=delivery_id, status=Status.FAILED)
        .exclude(kind=EmailDelivery.Kind.TEST)
        .update(status=Status.QUEUED, attempts=0)
    )
    if requeued:
        transaction.on_commit(lambda: delivery_queue(delivery_id))
    return bool(requeued)


def email_passwords_rotate() -> int:
    """Re-encrypt every stored SMTP password with the newest ENCRYPTION_KEYS key."""
    count = 0
    for cfg in EmailConfig.objects.exclude(password_encrypted="").only("id", "password_encrypted"):
        EmailConfig.objects.filter(pk=cfg.pk).update(
            password_encrypted=secret_rotate(cfg.password_encrypted)
        )
        count += 1
    return count
