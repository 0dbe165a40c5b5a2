"""`manage.py secrets_rotate`: re-encrypt every stored secret with the first (newest) key of
ENCRYPTION_KEYS. Rotation: put a new key in front, run this, then drop the old key
(cryptobot/lib/crypto.py)."""

from django.core.management.base import BaseCommand

from trading.services.api_keys import api_keys_rotate_encryption


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (API-key secrets) with the newest ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        count = api_keys_rotate_encryption()
        self.stdout.write(f"Re-encrypted {count} API key secret(s) with the newest key.")
