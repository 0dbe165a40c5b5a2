"""`manage.py apikey_revoke <username> <id>`: revoke one of the user's API keys."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cryptobot.api.errors import NotFound
from trading.services.api_keys import api_key_revoke


class Command(BaseCommand):
    help = "Revoke a user's API key by its id (apikey_create prints it; admin lists it)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("key_id", type=int)

    def handle(self, *args, username: str, key_id: int, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            key = api_key_revoke(user=user, key_id=key_id)
        except NotFound as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked API key {key.pk} ({key.key[:8]}…) of {username}.")
