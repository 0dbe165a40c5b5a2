"""`manage.py api_token <username>`: print the user's API token, creating it if needed."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cryptobot.api.tokens import api_token_get_or_create, api_token_rotate


class Command(BaseCommand):
    help = "Print (creating if needed) a user's API token; --rotate replaces it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true")

    def handle(self, *args, username: str, rotate: bool = False, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        token = api_token_rotate(user=user) if rotate else api_token_get_or_create(user=user)
        self.stdout.write(token.key)
