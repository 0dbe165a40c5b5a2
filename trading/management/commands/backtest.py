"""`manage.py backtest`: run a backtest in this process, print its metrics, write a report.

    python manage.py backtest --symbol BTCUSDT --timeframe 1h --strategy sma_cross \
        --params '{"fast": 10, "slow": 30}' [--start 2024-01-01 --end 2024-06-01] \
        [--csv candles.csv.gz] [--report out.html]

Candles come from the database (import them with `candles_import`) or, with --csv, from a
candle file. The inputs are checked exactly as POST /backtest/run checks them, and the run
is the one the Celery worker does (trading/services/backtests.py), without storing a row.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cryptobot.api.errors import ApiError
from trading import candles as candle_math
from trading.backtest.report import METRIC_LABELS, metric_text, report_html
from trading.services.backtests import (
    backtest_candles,
    backtest_execute,
    backtest_inputs,
)
from trading.strategies.frames import candles_read

_OPTIONS = (
    "initial_balance",
    "position_pct",
    "leverage",
    "fee_rate",
    "slippage_bps",
    "stop_loss_pct",
    "take_profit_pct",
    "trailing_stop_pct",
    "market",
)


class Command(BaseCommand):
    help = (
        "Backtest a strategy over stored candles (or a --csv file) with a progress bar; "
        "prints the metrics and writes an HTML report with --report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--symbol", default="BTCUSDT")
        parser.add_argument("--timeframe", default="1h")
        parser.add_argument("--strategy", required=True)
        parser.add_argument("--params", default="{}", help="JSON, e.g. '{\"fast\": 10}'")
        parser.add_argument("--start", help="epoch ms or ISO-8601 (default: first candle)")
        parser.add_argument("--end", help="epoch ms or ISO-8601 (default: last candle)")
        parser.add_argument("--csv", type=Path, help="read candles from this file instead")
        parser.add_argument("--report", type=Path, help="write the HTML report here")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--no-short", action="store_true", help="long entries only")
        for name in _OPTIONS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name)

    def handle(self, *args, **options) -> None:
        try:
            params = json.loads(options["params"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not JSON: {exc}") from exc
        data = {
            "symbol": options["symbol"],
            "timeframe": options["timeframe"],
            "strategy": options["strategy"],
            "params": params,
            "start": options["start"],
            "end": options["end"],
            **{name: options[name] for name in _OPTIONS if options[name] is not None},
        }
        if options["no_short"]:
            data["allow_short"] = False
        csv: Path | None = options["csv"]
        try:
            inputs = backtest_inputs(data, check_candles=csv is None)
            if csv is None:
                candles = backtest_candles(
                    symbol=inputs.symbol,
                    timeframe=inputs.timeframe,
                    start=inputs.start,
                    end=inputs.end,
                )
            else:
                candles = self._csv_candles(csv, inputs)
        except ApiError as exc:
            raise CommandError(exc.message) from exc

        total = len(candles)
        with tqdm(
            total=total, unit="candles", disable=options["no_progress"], desc=inputs.strategy
        ) as bar:

            def progress(fraction: float) -> None:
                bar.update(max(0, round(fraction * total) - bar.n))

            result = backtest_execute(inputs, candles, progress=progress)
            bar.update(total - bar.n)

        self._print(inputs, result, total)
        if options["report"]:
            page = report_html(
                candles=candles,
                trades=result.trades,
                equity_curve=result.equity_curve,
                metrics=result.metrics,
                inputs={
                    "symbol": inputs.symbol,
                    "timeframe": inputs.timeframe,
                    "strategy": inputs.strategy,
                    "params": json.dumps(inputs.params),
                    **{k: v for k, v in inputs.config.items() if v is not None},
                },
            )
            options["report"].write_text(page, encoding="utf-8")
            self.stdout.write(f"Report written to {options['report']}")

    def _csv_candles(self, path: Path, inputs):
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            candles = candles_read(path)
        except (candle_math.CandleFormatError, ValueError) as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        candles = candles[(candles.index >= inputs.start) & (candles.index <= inputs.end)]
        if candles.empty:
            raise CommandError(f"{path.name}: no candles between the given start and end")
        return candles

    def _print(self, inputs, result, total: int) -> None:
        self.stdout.write(
            f"\n{inputs.strategy} {json.dumps(inputs.params)} on {inputs.symbol}"
            f" {inputs.timeframe}: {total} candles, {len(result.trades)} trades,"
            f" final balance {result.final_balance} USDT\n"
        )
        width = max(len(label) for label, _ in METRIC_LABELS.values())
        for name, value in result.metrics.items():
            label = METRIC_LABELS.get(name, (name, ""))[0]
            self.stdout.write(f"  {label:<{width}}  {metric_text(name, value):>16}")
