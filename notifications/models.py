"""Notifications, each user's e-mail settings and preferences, and one row per e-mail.

A Notification's ``dedupe_key`` names the event (notifications/catalogue.py); the unique
constraint on (user, dedupe_key) is what makes "the same event never notifies twice" hold
across processes and retries. An EmailDelivery row is the claim on sending one e-mail:
one per notification (unique), moved queued → sending → sent by conditional updates, so a
retried or duplicated task never sends it twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.catalogue import LEVELS

LEVEL_CHOICES = [(level, level) for level in LEVELS]


class Notification(models.Model):
    """One thing the user is told, in the app, over /ws/notifications and maybe by e-mail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    level = models.CharField(max_length=10, choices=LEVEL_CHOICES, default="info")
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=200, blank=True)
    dedupe_key = models.CharField(
        max_length=200, blank=True, help_text="Names the event; empty: never deduplicated."
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notif_user_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notif_once_per_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class EmailConfig(models.Model):
    """Where and how one user's notification e-mail goes. The SMTP password is stored
    Fernet-encrypted (cryptobot/lib/crypto.py) and is never returned by the API."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_config"
    )
    enabled = models.BooleanField(default=False)
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    use_tls = models.BooleanField(default=True, help_text="STARTTLS after connecting.")
    use_ssl = models.BooleanField(default=False, help_text="TLS from the first byte (465).")
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, help_text="Fernet token; never shown.")
    from_email = models.EmailField(blank=True)
    recipients = models.JSONField(default=list, blank=True)
    kinds = models.JSONField(default=list, blank=True, help_text="Empty: every kind.")
    min_level = models.CharField(max_length=10, choices=LEVEL_CHOICES, default="info")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~(Q(use_tls=True) & Q(use_ssl=True)), name="email_tls_or_ssl"
            ),
            models.CheckConstraint(
                condition=Q(smtp_port__gte=1) & Q(smtp_port__lte=65535), name="email_port_range"
            ),
        ]

    def __str__(self) -> str:
        return f"e-mail of {self.user_id} via {self.smtp_host or '-'}"

    @property
    def password_set(self) -> bool:
        return bool(self.password_encrypted)


class EmailDelivery(models.Model):
    """One e-mail: a notification's, a digest of held ones, or a test. The status moves
    queued → sending → sent | failed by conditional updates (the claim); ``held`` waits
    for the next digest (rate limit or quiet hours) and ends ``digested``."""

    class Kind(models.TextChoices):
        NOTIFICATION = "notification"
        DIGEST = "digest"
        TEST = "test"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        HELD = "held"
        DIGESTED = "digested"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_deliveries"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTIFICATION)
    notification = models.OneToOneField(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="delivery",
    )
    digest = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="held_items"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    subject = models.CharField(max_length=250)
    recipients = models.JSONField(default=list)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="delivery_user_status")]

    def __str__(self) -> str:
        return f"{self.kind} e-mail {self.pk} ({self.status})"


class UserSettings(models.Model):
    """A user's preferences: the dashboard's defaults, theme and e-mail quiet hours."""

    class Theme(models.TextChoices):
        SYSTEM = "system"
        LIGHT = "light"
        DARK = "dark"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    default_symbol = models.CharField(max_length=20, default="BTCUSDT")
    default_timeframe = models.CharField(max_length=4, default="1h")
    theme = models.CharField(max_length=6, choices=Theme.choices, default=Theme.SYSTEM)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of {self.user_id}"
