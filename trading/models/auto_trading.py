"""Auto-trading: a user's configuration, and one run row per user, symbol and candle."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class AutoTradingConfig(models.Model):
    """What the bot trades for a user on each closed candle (one per user)."""

    class Sizing(models.TextChoices):
        EQUITY_PCT = "equity_pct", "Share of equity"
        QUOTE = "quote", "Fixed USDT amount"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auto_trading"
    )
    enabled = models.BooleanField(default=False)
    symbols = models.JSONField(default=list)
    strategy = models.CharField(max_length=40, default="sma_cross")
    strategy_params = models.JSONField(default=dict)
    timeframe = models.CharField(max_length=4, default="1h")
    market = models.CharField(max_length=10, default="futures")
    sizing = models.CharField(max_length=12, choices=Sizing.choices, default=Sizing.EQUITY_PCT)
    size = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal("10"))
    leverage = models.PositiveSmallIntegerField(default=1)
    stop_loss_pct = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    take_profit_pct = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    trailing_stop_pct = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    max_open_trades = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(leverage__gte=1) & Q(leverage__lte=125), name="auto_leverage_range"
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="auto_size_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"auto-trading of {self.user_id}: {self.strategy} ({'on' if self.enabled else 'off'})"
        )


class AutoTradingRun(models.Model):
    """The bot's decision for one user, symbol and closed candle. The unique constraint
    is the idempotency: a second beat firing for the same candle claims nothing."""

    class Action(models.TextChoices):
        NONE = "none"
        OPEN = "open"
        CLOSE = "close"
        REVERSE = "reverse"
        REFUSED = "refused"
        ERROR = "error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auto_trading_runs"
    )
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    candle_time = models.DateTimeField()  # open time of the closed candle acted on
    signal = models.SmallIntegerField(default=0)  # -1 / 0 / +1
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.NONE)
    trade_number = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-candle_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "symbol", "timeframe", "candle_time"], name="auto_run_once"
            ),
            models.CheckConstraint(condition=Q(signal__in=[-1, 0, 1]), name="auto_signal_range"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.symbol} {self.candle_time:%Y-%m-%d %H:%M} signal {self.signal}: {self.action}"
        )
