"""Backtests and parameter sweeps: validate the inputs, record the run row, run it on Celery.

A backtest is the paper engine's core run over stored candles by
:func:`trading.backtest.runner.run_backtest`; this module is its ORM shell. The row
(:class:`~trading.models.Backtest`) goes ``queued → running → done | failed``; the API and
the dashboard poll it for ``progress`` (0..1) and read the results from it once done.

Inputs (``data``) are the request body's fields, already typed by the API serializer or
given by the admin's re-run and the ``backtest`` command: Decimals or decimal strings for
money and rates, datetimes or epoch ms for times. Every refusal is an InvalidParameter (400)
naming the field; nothing is written when one is raised.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from trading.backtest.metrics import METRIC_NAMES
from trading.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from trading.errors import InvalidParameter, UnknownSymbol
from trading.exchange.base import TIMEFRAMES
from trading.models import Backtest, BacktestSweep, Candle, RunStatus, Symbol
from trading.services.markets import symbol_get
from trading.strategies import Strategy, StrategyError, strategy_get
from trading.strategies.frames import rows_frame

logger = logging.getLogger(__name__)

# Ranges of the numeric inputs (inclusive); the API serializer shows the same ones.
LIMITS: dict[str, tuple[Decimal, Decimal]] = {
    "initial_balance": (Decimal("10"), Decimal("1000000000")),
    # Margin per entry as a percent of equity; the entry fee comes on top, so not 100.
    "position_pct": (Decimal("1"), Decimal("99")),
    "fee_rate": (Decimal("0"), Decimal("0.01")),
    "slippage_bps": (Decimal("0"), Decimal("500")),
    "stop_loss_pct": (Decimal("0.01"), Decimal("99")),
    "take_profit_pct": (Decimal("0.01"), Decimal("1000")),
    "trailing_stop_pct": (Decimal("0.1"), Decimal("50")),
}
MAX_LEVERAGE = 125
MAX_CANDLES = 3_000_000
MAX_SWEEP_SETS = 200
# Metrics a sweep can be ranked by, largest first (max_drawdown_pct is negative, so the
# shallowest drawdown ranks first); buy-and-hold is the same for every parameter set.
SWEEP_METRICS = tuple(name for name in METRIC_NAMES if name != "buy_and_hold_return_pct")
PROGRESS_EVERY_SECONDS = 0.5
MARKETS = ("futures", "spot")


@dataclass(frozen=True)
class BacktestInputs:
    """Validated inputs of one backtest (``config`` is everything but the strategy)."""

    symbol: str
    timeframe: str
    strategy: str
    params: dict[str, Any]
    start: datetime
    end: datetime
    config: dict[str, Any]  # JSON-safe: Decimals as strings

    def as_json(self) -> dict[str, Any]:
        """What Backtest.params stores: the request body as validated (re-runnable)."""
        return {
            "params": self.params,
            "start": _ms(self.start),
            "end": _ms(self.end),
            **self.config,
        }


# --------------------------------------------------------------------------- validation


def backtest_inputs(data: Mapping[str, Any], *, check_candles: bool = True) -> BacktestInputs:
    """Check every input of a backtest; InvalidParameter (400) naming the first bad one.

    ``check_candles=False`` skips the database checks of the candle range (the command's
    ``--csv`` runs over a file instead).
    """
    strategy = _strategy(data.get("strategy"))
    params = _strategy_params(strategy, data.get("params"), field="params")
    timeframe = str(data.get("timeframe") or "1h")
    if timeframe not in TIMEFRAMES:
        raise InvalidParameter(
            "timeframe", f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}."
        )
    symbol = _symbol(data.get("symbol"))
    start, end = _time("start", data.get("start")), _time("end", data.get("end"))
    if start is not None and end is not None and start >= end:
        raise InvalidParameter("end", "end must be after start.")
    config = _config(data, symbol)
    if check_candles:
        start, end = _candle_range(symbol, timeframe, start, end)
    return BacktestInputs(
        symbol=symbol.symbol,
        timeframe=timeframe,
        strategy=strategy.name,
        params=params,
        start=start or datetime.fromtimestamp(0, UTC),
        end=end or timezone.now(),
        config=config,
    )


def _strategy(raw: Any) -> Strategy:
    if not raw:
        raise InvalidParameter("strategy", "give a strategy (GET /backtest/strategies lists them).")
    try:
        return strategy_get(str(raw))
    except StrategyError as exc:
        raise InvalidParameter("strategy", exc.message) from exc


def _strategy_params(strategy: Strategy, raw: Any, *, field: str) -> dict[str, Any]:
    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidParameter(
            field, 'give the strategy parameters as an object, e.g. {"fast": 10}.'
        )
    try:
        return strategy.validate(raw)
    except StrategyError as exc:
        raise InvalidParameter(f"{field}.{exc.field}", exc.message) from exc


def _symbol(raw: Any) -> Symbol:
    if not raw:
        raise InvalidParameter("symbol", "give a symbol, e.g. BTCUSDT.")
    try:
        return symbol_get(str(raw))
    except UnknownSymbol as exc:
        raise InvalidParameter("symbol", exc.message) from exc


def _time(name: str, raw: Any) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    text = str(raw).strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidParameter(name, "use epoch milliseconds or ISO-8601.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decimal(name: str, raw: Any, default: Decimal | None) -> Decimal | None:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise InvalidParameter(name, "must be a number.")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise InvalidParameter(name, "must be a number.") from exc
    low, high = LIMITS[name]
    if not value.is_finite() or not low <= value <= high:
        raise InvalidParameter(name, f"must be between {low} and {high}.")
    return value


def _bool(name: str, raw: Any, default: bool) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "1", "yes"):
        return True
    if str(raw).lower() in ("false", "0", "no"):
        return False
    raise InvalidParameter(name, "must be true or false.")


def _config(data: Mapping[str, Any], symbol: Symbol) -> dict[str, Any]:
    """Money, sizing, costs and protection, checked; JSON-safe (Decimals as strings)."""
    market = str(data.get("market") or "futures")
    if market not in MARKETS:
        raise InvalidParameter("market", "must be futures or spot.")
    raw_leverage = data.get("leverage")
    try:
        leverage = 1 if raw_leverage in (None, "") else int(str(raw_leverage))
    except ValueError as exc:
        raise InvalidParameter("leverage", "must be a whole number.") from exc
    top = min(MAX_LEVERAGE, symbol.max_leverage)
    if not 1 <= leverage <= top:
        raise InvalidParameter("leverage", f"must be between 1 and {top} for {symbol.symbol}.")
    allow_short = _bool("allow_short", data.get("allow_short"), market == "futures")
    if market == "spot":
        if leverage != 1:
            raise InvalidParameter("leverage", "spot backtests take no leverage.")
        if allow_short:
            raise InvalidParameter("allow_short", "spot cannot go short; use futures.")
    values = {
        "initial_balance": _decimal(
            "initial_balance", data.get("initial_balance"), Decimal("10000")
        ),
        "position_pct": _decimal(
            "position_pct", data.get("position_pct"), BacktestConfig.position_pct
        ),
        "fee_rate": _decimal("fee_rate", data.get("fee_rate"), None),
        "slippage_bps": _decimal("slippage_bps", data.get("slippage_bps"), Decimal("0")),
        "stop_loss_pct": _decimal("stop_loss_pct", data.get("stop_loss_pct"), None),
        "take_profit_pct": _decimal("take_profit_pct", data.get("take_profit_pct"), None),
        "trailing_stop_pct": _decimal("trailing_stop_pct", data.get("trailing_stop_pct"), None),
    }
    return {
        "market": market,
        "leverage": leverage,
        "allow_short": allow_short,
        "funding": _bool("funding", data.get("funding"), True),
        **{k: None if v is None else format(v, "f") for k, v in values.items()},
    }


def _candle_range(
    symbol: Symbol, timeframe: str, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The range narrowed to the stored candles; 400 when there are none or too many."""
    stored = Candle.objects.filter(symbol=symbol, timeframe=timeframe)
    if not stored.exists():
        have = sorted(
            Candle.objects.filter(symbol=symbol).values_list("timeframe", flat=True).distinct(),
            key=lambda tf: TIMEFRAMES.get(tf, 0),
        )
        raise InvalidParameter(
            "timeframe",
            f"no {timeframe} candles are stored for {symbol.symbol}"
            + (f"; stored timeframes: {', '.join(have)}." if have else "; import some first."),
        )
    in_range = stored
    if start is not None:
        in_range = in_range.filter(open_time__gte=start)
    if end is not None:
        in_range = in_range.filter(open_time__lte=end)
    count = in_range.count()
    if count == 0:
        raise InvalidParameter(
            "start",
            f"no candles for {symbol.symbol} {timeframe} between {_iso(start)} and {_iso(end)}.",
        )
    if count > MAX_CANDLES:
        raise InvalidParameter(
            "start", f"{count} candles in the range; narrow it to at most {MAX_CANDLES}."
        )
    first = in_range.order_by("open_time").values_list("open_time", flat=True).first()
    last = in_range.order_by("-open_time").values_list("open_time", flat=True).first()
    return first, last


def _iso(moment: datetime | None) -> str:
    return "the first candle" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# ------------------------------------------------------------------------------ backtests


def backtest_create(*, user: AbstractBaseUser, data: Mapping[str, Any]) -> Backtest:
    """Validate the inputs, record a queued backtest and enqueue its run after commit."""
    inputs = backtest_inputs(data)
    with transaction.atomic():
        backtest = _backtest_row(user=user, inputs=inputs)
        transaction.on_commit(lambda: _enqueue([backtest.pk]))
    return backtest


def _backtest_row(
    *, user: AbstractBaseUser, inputs: BacktestInputs, sweep: BacktestSweep | None = None
) -> Backtest:
    return Backtest.objects.create(
        user=user,
        sweep=sweep,
        symbol=inputs.symbol,
        timeframe=inputs.timeframe,
        strategy=inputs.strategy,
        params=inputs.as_json(),
    )


def _enqueue(backtest_ids: list[int]) -> None:
    """One Celery task per backtest, sent as a group so they spread over every worker."""
    from celery import group

    from trading.backtest_tasks import backtest_run_task

    group(backtest_run_task.s(pk) for pk in backtest_ids).apply_async()


def backtest_delete(*, user: AbstractBaseUser, backtest_id: int) -> None:
    """Delete one of the user's backtests (a run still going stops writing to it)."""
    from trading.selectors.backtests import backtest_get

    backtest_get(user=user, backtest_id=backtest_id).delete()


def backtest_rerun(*, backtest: Backtest) -> Backtest:
    """A new backtest with the same inputs (admin's re-run): validated again, since the
    stored candles or the strategy may have changed."""
    stored = dict(backtest.params)
    data = {
        **stored,
        "symbol": backtest.symbol,
        "timeframe": backtest.timeframe,
        "strategy": backtest.strategy,
    }
    return backtest_create(user=backtest.user, data=data)


def backtest_candles(
    *, symbol: str, timeframe: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """Stored candles in [start, end] as a strategy's candles frame (UTC DatetimeIndex
    ``open_time``, float64 open/high/low/close/volume)."""
    rows = (
        Candle.objects.filter(
            symbol__symbol=symbol,
            timeframe=timeframe,
            open_time__gte=start,
            open_time__lte=end,
        )
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )
    return rows_frame(rows.iterator())


def backtest_config(inputs: BacktestInputs) -> BacktestConfig:
    """The runner's BacktestConfig of validated inputs."""
    c = inputs.config

    def dec(name: str) -> Decimal | None:
        return None if c.get(name) is None else Decimal(c[name])

    return BacktestConfig(
        symbol=inputs.symbol,
        market=c["market"],
        initial_balance=Decimal(c["initial_balance"]),
        leverage=int(c["leverage"]),
        position_pct=Decimal(c["position_pct"]),
        fee_rate=dec("fee_rate"),
        slippage_bps=Decimal(c["slippage_bps"]),
        stop_loss_pct=dec("stop_loss_pct"),
        take_profit_pct=dec("take_profit_pct"),
        trailing_stop_pct=dec("trailing_stop_pct"),
        allow_short=bool(c["allow_short"]),
        funding=bool(c["funding"]),
    )


def backtest_execute(
    inputs: BacktestInputs,
    candles: pd.DataFrame,
    *,
    progress: Callable[[float], None] | None = None,
) -> BacktestResult:
    """Signals of the strategy over ``candles``, run through the paper engine's core.

    Pure apart from reading the engine's configuration; the worker, the command and the
    tests all run a backtest through here, so they give the same result on the same candles.
    """
    from trading.services.paper_account import paper_engine

    strategy = strategy_get(inputs.strategy)
    candles.attrs.update(symbol=inputs.symbol, timeframe=inputs.timeframe)  # for ml_signal
    signals = strategy.signals(candles, inputs.params)
    return run_backtest(
        candles, signals, backtest_config(inputs), engine=paper_engine(), progress=progress
    )


def backtest_inputs_of(backtest: Backtest) -> BacktestInputs:
    """The stored inputs of a backtest row (validated when it was created)."""
    stored = dict(backtest.params)
    return BacktestInputs(
        symbol=backtest.symbol,
        timeframe=backtest.timeframe,
        strategy=backtest.strategy,
        params=dict(stored.pop("params", {})),
        start=datetime.fromtimestamp(int(stored.pop("start")) / 1000, UTC),
        end=datetime.fromtimestamp(int(stored.pop("end")) / 1000, UTC),
        config=stored,
    )


def backtest_run(backtest_id: int) -> str:
    """Run a queued backtest and store its results; returns the final status.

    Claimed with a conditional UPDATE (queued → running), so a task delivered twice runs
    once. Progress is written at most every PROGRESS_EVERY_SECONDS. Every write is an
    UPDATE by id, so a backtest deleted meanwhile is not brought back. Any error ends the
    run as ``failed`` with the error recorded (the API shows it).
    """
    claimed = Backtest.objects.filter(pk=backtest_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=0.0
    )
    if not claimed:
        logger.info("Backtest %s is gone or no longer queued; skipped", backtest_id)
        return "skipped"
    backtest = Backtest.objects.get(pk=backtest_id)
    rows = Backtest.objects.filter(pk=backtest_id)
    if backtest.sweep_id:
        BacktestSweep.objects.filter(pk=backtest.sweep_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING
        )
    last_write = [time.monotonic()]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_EVERY_SECONDS:
            last_write[0] = now
            rows.filter(status=RunStatus.RUNNING).update(
                progress=min(1.0, max(0.0, float(fraction)))
            )

    try:
        inputs = backtest_inputs_of(backtest)
        candles = backtest_candles(
            symbol=inputs.symbol, timeframe=inputs.timeframe, start=inputs.start, end=inputs.end
        )
        if candles.empty:
            raise ValueError(
                f"no candles for {inputs.symbol} {inputs.timeframe} between"
                f" {_iso(inputs.start)} and {_iso(inputs.end)} (deleted since it was queued?)"
            )
        result = backtest_execute(inputs, candles, progress=progress)
    except Exception as exc:  # any failure is recorded on the row, which the API shows
        logger.exception("Backtest %s failed", backtest_id)
        rows.update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        status = RunStatus.FAILED
    else:
        rows.update(
            status=RunStatus.DONE,
            progress=1.0,
            metrics=json_safe(result.metrics),
            trades=json_safe(result.trades),
            equity_curve=json_safe([[int(t), e] for t, e in result.equity_curve]),
            candles=int(result.candles),
            finished_at=timezone.now(),
        )
        status = RunStatus.DONE
    if backtest.sweep_id:
        sweep_finish(backtest.sweep_id)
    return str(status)


def json_safe(value: Any) -> Any:
    """Results as JSON: Decimals as strings, numpy numbers as Python ones, NaN/inf as null,
    datetimes as ISO-8601 UTC."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime | pd.Timestamp):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


# -------------------------------------------------------------------------------- sweeps


def sweep_create(*, user: AbstractBaseUser, data: Mapping[str, Any]) -> BacktestSweep:
    """Validate a parameter grid, record the sweep and one backtest per parameter set, and
    fan the runs out as one Celery group after commit.

    ``data`` is a backtest's inputs plus ``grid`` (parameter → list of values; the other
    parameters come from ``params`` or their defaults) and ``metric`` to rank by. Every grid
    value is checked against the parameter's range; sets that break a rule between
    parameters (e.g. fast ≥ slow) are skipped and counted in ``params.skipped``.
    """
    inputs = backtest_inputs(data)
    strategy = strategy_get(inputs.strategy)
    metric = str(data.get("metric") or "sharpe")
    if metric not in SWEEP_METRICS:
        raise InvalidParameter("metric", f"rank by one of {', '.join(SWEEP_METRICS)}.")
    sets, skipped = _grid_sets(strategy, data.get("params"), data.get("grid"))
    with transaction.atomic():
        sweep = BacktestSweep.objects.create(
            user=user,
            params={
                **inputs.as_json(),
                "symbol": inputs.symbol,
                "timeframe": inputs.timeframe,
                "strategy": inputs.strategy,
                "skipped": skipped,
            },
            grid=data["grid"],
            metric=metric,
            total=len(sets),
        )
        ids = [
            _backtest_row(user=user, inputs=_with_params(inputs, params), sweep=sweep).pk
            for params in sets
        ]
        transaction.on_commit(lambda: _enqueue(ids))
    return sweep


def _with_params(inputs: BacktestInputs, params: dict[str, Any]) -> BacktestInputs:
    return BacktestInputs(**{**inputs.__dict__, "params": params})


def _grid_sets(strategy: Strategy, base: Any, grid: Any) -> tuple[list[dict[str, Any]], int]:
    """Every valid parameter set of the grid (cartesian product) and the number skipped."""
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameter(
            "grid", 'give parameter → list of values, e.g. {"fast": [5, 10], "slow": [30, 50]}.'
        )
    known = {p.name: p for p in strategy.params}
    axes: list[list[Any]] = []
    for name, values in grid.items():
        if name not in known:
            raise InvalidParameter(
                f"grid.{name}",
                f"{strategy.name} takes no parameter {name!r}; it takes {', '.join(known)}.",
            )
        if not isinstance(values, list | tuple) or not values:
            raise InvalidParameter(f"grid.{name}", "give a non-empty list of values.")
        try:
            axes.append(list(dict.fromkeys(known[name].parse(v) for v in values)))
        except StrategyError as exc:
            raise InvalidParameter(f"grid.{name}", exc.message) from exc
    size = math.prod(len(axis) for axis in axes)
    if size > MAX_SWEEP_SETS:
        raise InvalidParameter(
            "grid", f"the grid has {size} parameter sets; a sweep runs at most {MAX_SWEEP_SETS}."
        )
    base_params = _strategy_params(strategy, base, field="params")
    sets, skipped, first_error = [], 0, None
    for combo in itertools.product(*axes):
        try:
            sets.append(strategy.validate({**base_params, **dict(zip(grid, combo, strict=True))}))
        except StrategyError as exc:
            skipped += 1
            first_error = first_error or exc
    if not sets:
        assert first_error is not None
        raise InvalidParameter(
            f"grid.{first_error.field}", f"no parameter set is valid: {first_error.message}"
        )
    return sets, skipped


def sweep_finish(sweep_id: int) -> bool:
    """Mark the sweep done once none of its backtests is queued or running (idempotent:
    a conditional UPDATE, so the last two runs finishing together mark it once)."""
    unfinished = Backtest.objects.filter(
        sweep_id=sweep_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    )
    if unfinished.exists():
        return False
    return bool(
        BacktestSweep.objects.filter(pk=sweep_id)
        .filter(Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING))
        .update(status=RunStatus.DONE, finished_at=timezone.now())
    )
