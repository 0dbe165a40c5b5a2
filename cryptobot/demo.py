"""The demo user `make run` prints, so a fresh install can be logged into at once."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model


def demo_user_ensure() -> tuple[str, bool]:
    """Create DEMO_USERNAME (staff, so /admin/ works) with DEMO_PASSWORD if missing.

    An existing user's password is left alone: changing it in the UI must stick.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=settings.DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user.username, created
