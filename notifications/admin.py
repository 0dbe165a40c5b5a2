"""Admin for notifications, e-mail settings (the password is never shown), deliveries
and preferences. Actions call the services."""

from __future__ import annotations

from django.contrib import admin, messages

from cryptobot.api.errors import ApiError
from notifications.models import EmailConfig, EmailDelivery, Notification, UserSettings
from notifications.services import email, notifications


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "level", "title", "read_at")
    list_filter = ("level", "kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "message", "user__username", "dedupe_key")
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"
    actions = ("mark_read", "mark_unread")

    @admin.action(description="Mark read")
    def mark_read(self, request, queryset) -> None:
        for note in queryset:
            notifications.notification_mark(user=note.user, notification_id=note.pk, read=True)

    @admin.action(description="Mark unread")
    def mark_unread(self, request, queryset) -> None:
        for note in queryset:
            notifications.notification_mark(user=note.user, notification_id=note.pk, read=False)


@admin.register(EmailConfig)
class EmailConfigAdmin(admin.ModelAdmin):
    list_display = ("user", "enabled", "smtp_host", "smtp_port", "from_email", "password_set")
    list_filter = ("enabled",)
    search_fields = ("user__username", "smtp_host", "from_email")
    exclude = ("password_encrypted",)  # set through the API or the E-mail tab only
    readonly_fields = ("password_set", "updated_at")
    actions = ("send_test",)

    @admin.display(boolean=True, description="password stored")
    def password_set(self, obj: EmailConfig) -> bool:
        return obj.password_set

    @admin.action(description="Send a test e-mail")
    def send_test(self, request, queryset) -> None:
        for cfg in queryset.select_related("user"):
            try:
                result = email.email_send_test(user=cfg.user)
                self.message_user(request, f"{cfg.user}: {result['message']}")
            except ApiError as exc:
                self.message_user(request, f"{cfg.user}: {exc.message}", messages.ERROR)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "status", "subject", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("subject", "user__username", "last_error")
    readonly_fields = [f.name for f in EmailDelivery._meta.fields]
    actions = ("retry",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send failed e-mails again")
    def retry(self, request, queryset) -> None:
        count = sum(
            email.delivery_retry(delivery_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{count} e-mail(s) queued again.")


@admin.register(UserSettings)
class UserSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "default_symbol", "default_timeframe", "theme", "timezone")
    search_fields = ("user__username",)
