"""Market catalogue and candles.

Candles are analytics data and stored as float64 (DESIGN.md); money (balances, orders, fills)
is Decimal and lives in the paper-trading models.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q


class Symbol(models.Model):
    """A tradable market (BTCUSDT = base BTC in quote USDT) with the exchange's filters."""

    class Status(models.TextChoices):
        TRADING = "TRADING", "trading"
        HALTED = "HALTED", "halted"

    symbol = models.CharField(max_length=20, unique=True)
    base = models.CharField(max_length=10)
    quote = models.CharField(max_length=10)
    tick_size = models.DecimalField(max_digits=20, decimal_places=10)
    step_size = models.DecimalField(max_digits=20, decimal_places=10)
    min_notional = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal("5"))
    max_leverage = models.PositiveSmallIntegerField(default=125)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRADING)
    spot = models.BooleanField(default=True)
    futures = models.BooleanField(default=True)
    watched = models.BooleanField(default=True, help_text="Polled for live prices.")

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="symbol_tick_size_positive"),
            models.CheckConstraint(condition=Q(step_size__gt=0), name="symbol_step_size_positive"),
            models.CheckConstraint(
                condition=Q(max_leverage__gte=1) & Q(max_leverage__lte=125),
                name="symbol_max_leverage_range",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol


class Candle(models.Model):
    """One OHLCV candle of a symbol and timeframe; the newest one may still be forming."""

    class Timeframe(models.TextChoices):
        M1 = "1m"
        M5 = "5m"
        M15 = "15m"
        H1 = "1h"
        H4 = "4h"
        D1 = "1d"

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="candles")
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    open_time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()

    class Meta:
        ordering = ["symbol", "timeframe", "open_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "timeframe", "open_time"], name="candle_unique_open_time"
            ),
            models.CheckConstraint(
                condition=Q(high__gte=models.F("low")) & Q(volume__gte=0),
                name="candle_sane_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"


class ReplayClock(models.Model):
    """The replay exchange's clock, shared by every process (web, worker, beat).

    ``origin`` is the first start: the replayed history is shifted so it ends there, and the
    shift never changes afterwards, so stored candles stay consistent across restarts.
    Replay time runs at ``speed`` from (``wall_anchor``, ``replay_anchor``); a change of
    REPLAY_SPEED re-anchors at the current replay time so the clock never jumps.
    """

    name = models.CharField(max_length=20, unique=True, default="default")
    origin = models.DateTimeField()
    wall_anchor = models.DateTimeField()
    replay_anchor = models.DateTimeField()
    speed = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(speed__gt=0), name="replay_speed_positive")
        ]

    def __str__(self) -> str:
        return f"replay from {self.origin:%Y-%m-%d %H:%M:%S} x{self.speed}"
