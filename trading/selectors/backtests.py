"""Reads of backtests and sweeps, as the API and the dashboard show them.

Every read is scoped to the user: another user's backtest or sweep is "not found" (404),
never "forbidden", so ids do not leak what exists.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from cryptobot.api.errors import NotFound
from trading.models import Backtest, BacktestSweep, RunStatus
from trading.strategies import strategy_list
from trading.symbols import normalize_symbol

# Heavy JSON columns left out of list reads.
_HEAVY = ("trades", "equity_curve")


def backtest_list(*, user: AbstractBaseUser, filters: dict[str, Any]) -> QuerySet[Backtest]:
    """The user's backtests, newest first; filters ``strategy``, ``symbol``, ``status``,
    ``timeframe`` and ``sweep`` (a sweep id; by default backtests of sweeps are included)."""
    qs = Backtest.objects.filter(user=user).defer(*_HEAVY)
    if filters.get("symbol"):
        qs = qs.filter(symbol=normalize_symbol(filters["symbol"]))
    for name in ("strategy", "status", "timeframe"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("sweep") is not None:
        qs = qs.filter(sweep_id=filters["sweep"])
    return qs.order_by("-created_at", "-id")


def backtest_get(*, user: AbstractBaseUser, backtest_id: int) -> Backtest:
    """One of the user's backtests, or NotFound."""
    backtest = Backtest.objects.filter(user=user, pk=backtest_id).first()
    if backtest is None:
        raise NotFound(f"You have no backtest {backtest_id}.")
    return backtest


def backtest_dict(backtest: Backtest, *, detail: bool = False) -> dict[str, Any]:
    """A backtest as the API shows it; ``detail`` adds trades and the equity curve."""
    stored = dict(backtest.params or {})
    params = stored.pop("params", {})
    out: dict[str, Any] = {
        "id": backtest.pk,
        "status": backtest.status,
        "progress": round(backtest.progress, 4),
        "symbol": backtest.symbol,
        "timeframe": backtest.timeframe,
        "strategy": backtest.strategy,
        "params": params,
        "config": stored,
        "sweep": backtest.sweep_id,
        "candles": backtest.candles,
        "metrics": backtest.metrics,
        "error": backtest.error,
        "created_at": _iso(backtest.created_at),
        "started_at": _iso(backtest.started_at),
        "finished_at": _iso(backtest.finished_at),
    }
    if detail:
        out["trades"] = backtest.trades
        out["equity_curve"] = backtest.equity_curve
    return out


def sweep_get(*, user: AbstractBaseUser, sweep_id: int) -> BacktestSweep:
    """One of the user's sweeps, or NotFound."""
    sweep = BacktestSweep.objects.filter(user=user, pk=sweep_id).first()
    if sweep is None:
        raise NotFound(f"You have no sweep {sweep_id}.")
    return sweep


def sweep_list(*, user: AbstractBaseUser) -> QuerySet[BacktestSweep]:
    """The user's sweeps, newest first, with their finished-run counts."""
    finished = Q(backtests__status__in=[RunStatus.DONE, RunStatus.FAILED])
    return (
        BacktestSweep.objects.filter(user=user)
        .annotate(finished=Count("backtests", filter=finished))
        .order_by("-created_at", "-id")
    )


def sweep_results(sweep: BacktestSweep) -> dict[str, Any]:
    """A sweep with its progress (finished runs / total) and its backtests ranked best
    first by the sweep's metric (runs without that metric, e.g. failed ones, last)."""
    runs = list(sweep.backtests.defer(*_HEAVY).order_by("id"))
    counts = {status: 0 for status in RunStatus.values}
    for run in runs:
        counts[run.status] += 1
    finished = counts[RunStatus.DONE] + counts[RunStatus.FAILED]
    rows = [
        {
            "id": run.pk,
            "status": run.status,
            "progress": round(run.progress, 4),
            "params": (run.params or {}).get("params", {}),
            "metrics": run.metrics,
            "error": run.error,
        }
        for run in runs
    ]
    stored = dict(sweep.params or {})
    return {
        "id": sweep.pk,
        "status": sweep.status,
        "metric": sweep.metric,
        "total": sweep.total,
        "finished": finished,
        "failed": counts[RunStatus.FAILED],
        "progress": round(finished / sweep.total, 4) if sweep.total else 1.0,
        "symbol": stored.pop("symbol", ""),
        "timeframe": stored.pop("timeframe", ""),
        "strategy": stored.pop("strategy", ""),
        "skipped": stored.pop("skipped", 0),
        "params": stored.pop("params", {}),
        "grid": sweep.grid,
        "config": stored,
        "created_at": _iso(sweep.created_at),
        "finished_at": _iso(sweep.finished_at),
        "results": sweep_rank(rows, sweep.metric),
    }


def sweep_rank(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Rows (each with ``metrics``) best first by ``metric``, each given its ``rank``;
    rows without a finite value of the metric come last with rank null. Largest first for
    every metric (max_drawdown_pct is negative: the shallowest drawdown ranks first)."""

    def key(row: dict[str, Any]) -> tuple[int, float]:
        value = (row.get("metrics") or {}).get(metric)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return (1, 0.0)
        if not math.isfinite(number):
            return (1, 0.0)
        return (0, -number)

    ranked = sorted(rows, key=key)
    position = 0
    for row in ranked:
        if key(row)[0] == 0:
            position += 1
            row["rank"] = position
        else:
            row["rank"] = None
    return ranked


def strategy_catalogue() -> list[dict[str, Any]]:
    """Every registered strategy with its parameter schema (for forms and clients)."""
    return [strategy.as_dict() for strategy in strategy_list()]


def _iso(moment) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
