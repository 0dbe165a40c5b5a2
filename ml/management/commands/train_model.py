"""`manage.py train_model`: train a model now, in this process, with a progress bar."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cryptobot.api.errors import ApiError
from ml.models import RunStatus, TrainingRun
from ml.selectors import run_dict
from ml.services.training import training_execute, training_request
from ml.training import ALGORITHMS

FIELDS = ("symbol", "timeframe", "source", "algorithm", "horizon", "threshold", "classes", "folds")


class Command(BaseCommand):
    help = (
        "Train a model (walk-forward validation, baselines, feature importance) and record "
        "it as a new version; shared unless --user names a non-staff owner. With --queue "
        "the training goes to the workers' ml queue instead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--symbol", default="BTCUSDT")
        parser.add_argument("--timeframe", default="1h")
        parser.add_argument("--source", choices=["shipped", "stored"], default=None)
        parser.add_argument("--algorithm", choices=ALGORITHMS, default=None)
        parser.add_argument("--horizon", type=int, default=None)
        parser.add_argument("--threshold", type=float, default=None)
        parser.add_argument("--classes", type=int, choices=[2, 3], default=None)
        parser.add_argument("--folds", type=int, default=None)
        parser.add_argument("--user", default=None, help="owner's username (private version)")
        parser.add_argument("--queue", action="store_true", help="run on a worker instead")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        data = {key: options[key] for key in FIELDS if options[key] is not None}
        try:
            run = training_request(
                user=user, data=data, kind=TrainingRun.Kind.MANUAL, enqueue=options["queue"]
            )
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        if options["queue"]:
            self.stdout.write(f"training {run.pk} queued on the ml queue")
            return
        with tqdm(
            total=100, desc=f"training {run.symbol} {run.timeframe}", disable=options["no_progress"]
        ) as bar:

            def progress(fraction: float, message: str) -> None:
                bar.set_postfix_str(message[:60])
                bar.update(max(0, round(fraction * 100) - bar.n))

            status = training_execute(run.pk, on_progress=progress)
            bar.update(100 - bar.n)
        run.refresh_from_db()
        result = run_dict(run)
        if status != RunStatus.DONE:
            raise CommandError(f"training {run.pk} failed: {run.error}")
        self.stdout.write(run.message)
        self.stdout.write(f"model version id {result['model_version']['id']}")
