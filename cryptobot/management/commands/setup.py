"""`manage.py setup`: everything a fresh install needs after `migrate` (idempotent)."""

from django.core.management.base import BaseCommand

from cryptobot.demo import demo_user_ensure
from cryptobot.schedule import beat_schedule_install
from ml.services.hybrid import hybrid_bootstrap
from ml.services.training import training_bootstrap
from trading.services.bootstrap import market_data_bootstrap


class Command(BaseCommand):
    help = (
        "Install the beat schedule, the markets, the demo user, the first candles and queue "
        "the first model's training."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-backfill", action="store_true", help="skip candle backfill")
        parser.add_argument(
            "--no-ml",
            action="store_true",
            help="neither queue the initial model's training nor start data collection",
        )

    def handle(self, *args, no_backfill: bool = False, no_ml: bool = False, **options) -> None:
        entries = beat_schedule_install()
        self.stdout.write(f"beat schedule: {', '.join(entries)}")
        username, created = demo_user_ensure()
        self.stdout.write(f"demo user {username}: {'created' if created else 'exists'}")
        for line in market_data_bootstrap(backfill=not no_backfill):
            self.stdout.write(line)
        if not no_ml:
            self.stdout.write(training_bootstrap())
            self.stdout.write(hybrid_bootstrap())
