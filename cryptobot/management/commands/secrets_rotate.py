"""`manage.py secrets_rotate`: re-encrypt every stored secret (API-key secrets, SMTP
passwords) with the first (newest) key of ENCRYPTION_KEYS. Rotation: put a new key in
front, run this, then drop the old key (cryptobot/lib/crypto.py)."""

from django.core.management.base import BaseCommand

from notifications.services.email import email_passwords_rotate
from trading.services.api_keys import api_keys_rotate_encryption


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (API-key secrets, SMTP passwords) with the newest key."

    def handle(self, *args, **options) -> None:
        keys = api_keys_rotate_encryption()
        passwords = email_passwords_rotate()
        self.stdout.write(
            f"Re-encrypted {keys} API key secret(s) and {passwords} SMTP password(s) "
            "with the newest key."
        )
