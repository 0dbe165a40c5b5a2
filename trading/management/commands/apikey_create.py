"""`manage.py apikey_create <username> [--label L] [--permission read|trade]`: make a
Binance-style API key and print its key and secret (the secret is never shown again)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trading.models import ApiKey
from trading.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user; prints the key and its secret once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="a name to recognise the key by")
        parser.add_argument(
            "--permission",
            choices=ApiKey.Permission.values,
            default=ApiKey.Permission.TRADE,
            help="read: reads only; trade: reads and orders (default)",
        )

    def handle(self, *args, username: str, label: str, permission: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        key, secret = api_key_create(user=user, label=label, permission=permission)
        self.stdout.write(f"id:         {key.pk}")
        self.stdout.write(f"key:        {key.key}")
        self.stdout.write(f"secret:     {secret}")
        self.stdout.write(f"permission: {key.permission}")
        self.stderr.write("Store the secret now: it is not shown again.")
