"""`manage.py candles_backfill`: fill stored candles from the configured exchange."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from trading.errors import UnknownSymbol
from trading.exchange.base import TIMEFRAMES, ExchangeError
from trading.selectors import symbol_list
from trading.services.candles import candles_backfill
from trading.services.markets import symbol_get


class Command(BaseCommand):
    help = "Fetch the last N candles per timeframe from the exchange (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--symbol", action="append", help="repeatable; default: watched")
        parser.add_argument("--timeframe", action="append", choices=list(TIMEFRAMES))
        parser.add_argument("--count", type=int, default=settings.BACKFILL_CANDLES)
        parser.add_argument("--no-progress", action="store_true")

    def handle(
        self,
        *args,
        symbol=None,
        timeframe=None,
        count: int = 1000,
        no_progress: bool = False,
        **options,
    ) -> None:
        if count < 1:
            raise CommandError("--count must be at least 1")
        try:
            markets = [symbol_get(s) for s in symbol] if symbol else list(symbol_list())
        except UnknownSymbol as exc:
            raise CommandError(exc.message) from exc
        steps = len(markets) * len(timeframe or TIMEFRAMES)
        with tqdm(total=steps, unit="series", disable=no_progress) as bar:
            for market in markets:
                try:
                    stored = candles_backfill(
                        symbol=market,
                        timeframes=timeframe,
                        count=count,
                        progress=lambda _n: bar.update(1),
                    )
                except ExchangeError as exc:
                    raise CommandError(f"{market}: the exchange failed: {exc}") from exc
                summary = ", ".join(f"{tf} {n}" for tf, n in stored.items())
                self.stdout.write(f"{market}: {summary}")
