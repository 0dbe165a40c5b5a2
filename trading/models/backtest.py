"""Backtests and parameter sweeps: the run rows the API and the dashboard show.

A backtest runs on Celery; its row records status, progress, the inputs, and once done the
metrics, trades and equity curve (JSON: a backtest's result is read whole, never queried
inside). A sweep fans a parameter grid out as one backtest per parameter set.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


class BacktestSweep(models.Model):
    """A parameter grid over one strategy; its backtests are ranked by ``metric``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_sweeps"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # The shared inputs (symbol, timeframe, range, strategy, costs) and the grid itself.
    params = models.JSONField()
    grid = models.JSONField()
    metric = models.CharField(max_length=30, default="sharpe")
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sweep {self.pk} {self.params.get('strategy', '')} ({self.status})"


class Backtest(models.Model):
    """One backtest run: inputs, progress, and the results once done."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtests"
    )
    sweep = models.ForeignKey(
        BacktestSweep, on_delete=models.CASCADE, null=True, blank=True, related_name="backtests"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    strategy = models.CharField(max_length=40)
    # Every input as validated (strategy params, range, balance, fees, slippage, leverage...).
    params = models.JSONField()
    metrics = models.JSONField(null=True, blank=True)
    trades = models.JSONField(null=True, blank=True)
    equity_curve = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    candles = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="backtest_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"backtest {self.pk} {self.strategy} {self.symbol} {self.timeframe} ({self.status})"
