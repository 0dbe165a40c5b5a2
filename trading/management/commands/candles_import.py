"""`manage.py candles_import <file>`: import the shared CSV format or Binance's kline CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from trading import candles as candle_math
from trading.errors import UnknownSymbol
from trading.services.candles import candles_import
from trading.services.markets import symbol_get


class Command(BaseCommand):
    help = (
        "Import candles from a CSV (.csv or .csv.gz): the shared format with header "
        "open_time_ms,open,high,low,close,volume, or Binance's kline CSV. Symbol and "
        "timeframe come from a name like BTCUSDT-1m.csv.gz unless given. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--symbol")
        parser.add_argument("--timeframe")
        parser.add_argument("--no-progress", action="store_true")

    def handle(
        self,
        *args,
        file: Path,
        symbol: str | None,
        timeframe: str | None,
        no_progress: bool = False,
        **options,
    ) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            info = candle_math.sniff(file)
            name = symbol or info.symbol
            timeframe = timeframe or info.timeframe
            if not name or not timeframe:
                raise CommandError(
                    "Cannot tell the symbol/timeframe from the file name; pass --symbol and "
                    "--timeframe."
                )
            candle_math.timeframe_ms(timeframe)
            market = symbol_get(name)
            with tqdm(unit="candles", disable=no_progress, desc=f"{market} {timeframe}") as bar:
                result = candles_import(
                    path=file,
                    symbol=market,
                    timeframe=timeframe,
                    kind=info.kind,
                    progress=bar.update,
                )
        except (candle_math.CandleFormatError, ValueError) as exc:
            raise CommandError(f"{file.name}: {exc}") from exc
        except UnknownSymbol as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{market} {timeframe}: {result['imported']} candles imported, "
            f"{result['rebuilt']} coarser candles rebuilt"
        )
