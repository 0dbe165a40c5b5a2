"""`manage.py backtest_lookahead <strategy>`: prove a strategy's signals do not use the future.

Runs trading/strategies/lookahead.py on the shipped candles (or a CSV); no database needed.
Exits 1 when a lookahead (or a too short warm-up) is found.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.candles import CandleFormatError
from trading.strategies import StrategyError, strategy_get
from trading.strategies.frames import (
    candles_read,
    shipped_candles_available,
    shipped_candles_path,
)
from trading.strategies.lookahead import lookahead_check


class Command(BaseCommand):
    help = (
        "Check that a strategy's signal at t does not change when the candles after t are "
        "removed or altered, on the shipped candles or a CSV. Exit code 1 on a lookahead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("strategy")
        parser.add_argument("--symbol", default="BTCUSDT")
        parser.add_argument("--timeframe", default="1h")
        parser.add_argument("--params", default="{}", help="JSON object, e.g. '{\"fast\": 10}'")
        parser.add_argument("--csv", type=Path, help="candle CSV instead of the shipped data")
        parser.add_argument("--points", type=int, default=20, help="cut points to check")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random futures")

    def handle(self, *args, strategy: str, params: str, csv: Path | None, **options) -> None:
        try:
            raw = json.loads(params)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise CommandError('--params must be a JSON object, e.g. {"fast": 10}.')
        path = csv or shipped_candles_path(options["symbol"], options["timeframe"])
        if not path.is_file():
            raise CommandError(
                f"{path}: no such file; shipped candles: "
                f"{', '.join(shipped_candles_available())} (or pass --csv)."
            )
        try:
            candles = candles_read(path)
            # the candles' market, for strategies that read a model of it (ml_signal)
            candles.attrs.update(symbol=options["symbol"], timeframe=options["timeframe"])
            report = lookahead_check(
                strategy_get(strategy),
                raw,
                candles,
                points=options["points"],
                seed=options["seed"],
            )
        except StrategyError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        except CandleFormatError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
        if not report.passed:
            raise CommandError(report.verdict(), returncode=1)
