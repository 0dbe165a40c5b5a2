"""Notifications, e-mail and settings routes (see docs/API.md)."""

from django.urls import path

from notifications.api import views as v

urlpatterns = [
    path("notifications", v.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/mark_all_read",
        v.NotificationMarkAllReadApi.as_view(),
        name="notifications-mark-all-read",
    ),
    path(
        "notifications/<int:notification_id>",
        v.NotificationDetailApi.as_view(),
        name="notification-detail",
    ),
    path("email/config", v.EmailConfigApi.as_view(), name="email-config"),
    path("email/test", v.EmailTestApi.as_view(), name="email-test"),
    path("email/send_test", v.EmailSendTestApi.as_view(), name="email-send-test"),
    path("settings/email_enabled", v.EmailEnabledApi.as_view(), name="settings-email-enabled"),
    path("settings/email_address", v.EmailAddressApi.as_view(), name="settings-email-address"),
    path("settings/email_kinds", v.EmailKindsApi.as_view(), name="settings-email-kinds"),
    path("settings", v.SettingsApi.as_view(), name="settings"),
]
