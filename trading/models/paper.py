"""Paper accounts and everything that changes their balances.

These rows are the ORM shell's copy of the engine's AccountState (trading/engine): the
shell locks the Account row, loads the rest, runs the engine, and writes back what it
changed, all in one transaction. Public ids are per-account numbers (``number``), as the
engine counts them, so one user's ids say nothing about another's.

Constraints keep the invariants even if code is wrong: balances and locks never negative,
quantities positive, one position per symbol, open client order ids unique per account.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 28, "decimal_places": 8}
PRICE = {"max_digits": 24, "decimal_places": 8}
QTY = {"max_digits": 28, "decimal_places": 8}


class Account(models.Model):
    """A user's paper account: one USDT balance shared by spot and USD-M futures."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_account"
    )
    currency = models.CharField(max_length=10, default="USDT")
    initial_balance = models.DecimalField(**MONEY)
    # The engine's counters: ids of the next order, trade and fill of this account.
    next_order_id = models.PositiveBigIntegerField(default=1)
    next_trade_id = models.PositiveBigIntegerField(default=1)
    next_fill_id = models.PositiveBigIntegerField(default=1)
    # Last funding instant applied per symbol ({"BTCUSDT": ms}).
    funding_ms = models.JSONField(default=dict, blank=True)
    peak_equity = models.DecimalField(**MONEY, default=Decimal("0"))
    # Today's USDT ledger flow apart from deposits and resets (fees, PnL, funding), kept
    # as each order is written so the daily-loss rule never sums a day's ledger rows.
    # ``flow_day`` is the UTC day it counts; on any other day the flow is zero.
    flow_day = models.DateField(null=True, blank=True)
    flow_today = models.DecimalField(**MONEY, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(initial_balance__gt=0), name="account_initial_balance_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"paper account of {self.user}"


class Balance(models.Model):
    """One asset's balance; ``locked`` is held by open orders (part of ``amount``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=10)
    amount = models.DecimalField(**MONEY, default=Decimal("0"))
    locked = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="balance_unique_asset"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="balance_not_negative"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="balance_locked_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset}"


class LedgerEntry(models.Model):
    """One balance change; per asset, the entries always sum to the balance."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit"
        TRADE = "trade"
        FEE = "fee"
        REALIZED_PNL = "realized_pnl"
        FUNDING = "funding"
        LIQUIDATION = "liquidation"
        INSURANCE = "insurance"
        RESET = "reset"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ledger")
    asset = models.CharField(max_length=10)
    amount = models.DecimalField(**MONEY)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    symbol = models.CharField(max_length=20, blank=True)
    order_number = models.PositiveBigIntegerField(null=True, blank=True)
    trade_number = models.PositiveBigIntegerField(null=True, blank=True)
    time = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "asset", "time"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.asset}"


class SymbolSetting(models.Model):
    """Leverage and margin type per futures symbol, as on Binance."""

    class MarginType(models.TextChoices):
        CROSSED = "CROSSED", "cross"
        ISOLATED = "ISOLATED", "isolated"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="symbol_settings")
    symbol = models.CharField(max_length=20)
    leverage = models.PositiveSmallIntegerField(default=20)
    margin_type = models.CharField(
        max_length=10, choices=MarginType.choices, default=MarginType.CROSSED
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="symbol_setting_unique"),
            models.CheckConstraint(
                condition=Q(leverage__gte=1) & Q(leverage__lte=125),
                name="symbol_setting_leverage_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.leverage}x {self.margin_type}"


class Position(models.Model):
    """An open USD-M position (one-way mode): signed quantity, never zero."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=20)
    quantity = models.DecimalField(**QTY)
    entry_price = models.DecimalField(**PRICE)
    leverage = models.PositiveSmallIntegerField()
    margin_type = models.CharField(max_length=10, choices=SymbolSetting.MarginType.choices)
    isolated_wallet = models.DecimalField(**MONEY, default=Decimal("0"))
    realized_pnl = models.DecimalField(**MONEY, default=Decimal("0"))
    trade_number = models.PositiveBigIntegerField(null=True, blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol"),
            models.CheckConstraint(condition=~Q(quantity=0), name="position_not_flat"),
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="position_entry_positive"),
            models.CheckConstraint(
                condition=Q(isolated_wallet__gte=0), name="position_isolated_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.quantity}@{self.entry_price}"


class Trade(models.Model):
    """A position's life from open to flat (or a spot buy until it is sold)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        OPEN = "open"
        CLOSED = "closed"
        LIQUIDATED = "liquidated"
        CANCELED = "canceled"

    class Direction(models.TextChoices):
        LONG = "long"
        SHORT = "short"

    class Source(models.TextChoices):
        MANUAL = "manual"
        AUTO = "auto"
        API = "api"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="trades")
    number = models.PositiveBigIntegerField()
    symbol = models.CharField(max_length=20)
    market = models.CharField(max_length=10)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    quantity = models.DecimalField(**QTY)
    entered_qty = models.DecimalField(**QTY, default=Decimal("0"))
    exited_qty = models.DecimalField(**QTY, default=Decimal("0"))
    entry_price = models.DecimalField(**PRICE, default=Decimal("0"))
    exit_price = models.DecimalField(**PRICE, null=True, blank=True)
    leverage = models.PositiveSmallIntegerField(default=1)
    margin_type = models.CharField(max_length=10, blank=True)
    stop_loss = models.DecimalField(**PRICE, null=True, blank=True)
    take_profit = models.DecimalField(**PRICE, null=True, blank=True)
    trailing_stop_pct = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    watermark = models.DecimalField(**PRICE, null=True, blank=True)
    fees = models.DecimalField(**MONEY, default=Decimal("0"))
    realized_pnl = models.DecimalField(**MONEY, default=Decimal("0"))
    funding = models.DecimalField(**MONEY, default=Decimal("0"))
    close_reason = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    strategy = models.CharField(max_length=60, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="trade_unique_number"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="trade_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(entered_qty__gte=0) & Q(exited_qty__gte=0),
                name="trade_filled_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status", "symbol"]),
            # The loss-streak rule reads the latest closes.
            models.Index(fields=["account", "-closed_at"], name="trade_latest_closed"),
        ]

    def __str__(self) -> str:
        return f"trade {self.number} {self.direction} {self.symbol} ({self.status})"


class Order(models.Model):
    """An order as the engine keeps it; rejected orders are not stored (they changed nothing)."""

    class Status(models.TextChoices):
        NEW = "NEW"
        PARTIALLY_FILLED = "PARTIALLY_FILLED"
        FILLED = "FILLED"
        CANCELED = "CANCELED"
        EXPIRED = "EXPIRED"
        REJECTED = "REJECTED"

    OPEN_STATUSES = (Status.NEW, Status.PARTIALLY_FILLED)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    number = models.PositiveBigIntegerField()
    symbol = models.CharField(max_length=20)
    market = models.CharField(max_length=10)
    side = models.CharField(max_length=4)
    type = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices)
    quantity = models.DecimalField(**QTY)
    quote_quantity = models.DecimalField(**MONEY, null=True, blank=True)
    price = models.DecimalField(**PRICE, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE, null=True, blank=True)
    time_in_force = models.CharField(max_length=4, default="GTC")
    reduce_only = models.BooleanField(default=False)
    close_position = models.BooleanField(default=False)
    working_type = models.CharField(max_length=20, default="CONTRACT_PRICE")
    client_order_id = models.CharField(max_length=40, blank=True)
    leverage = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=10, default="api")
    strategy = models.CharField(max_length=60, blank=True)
    opens_trade = models.BooleanField(default=False)
    protection = models.JSONField(null=True, blank=True)
    executed_qty = models.DecimalField(**QTY, default=Decimal("0"))
    cum_quote = models.DecimalField(**MONEY, default=Decimal("0"))
    avg_price = models.DecimalField(**PRICE, default=Decimal("0"))
    reserved = models.DecimalField(**MONEY, default=Decimal("0"))
    reserved_asset = models.CharField(max_length=10, blank=True)
    reject_reason = models.CharField(max_length=40, blank=True)
    reject_message = models.CharField(max_length=300, blank=True)
    trade_number = models.PositiveBigIntegerField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="order_unique_number"),
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=Q(status__in=["NEW", "PARTIALLY_FILLED"]) & ~Q(client_order_id=""),
                name="order_open_client_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(quote_quantity__gt=0),
                name="order_quantity_positive",
            ),
            models.CheckConstraint(
                condition=Q(executed_qty__gte=0) & Q(reserved__gte=0),
                name="order_amounts_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["symbol", "status"]),
        ]

    def __str__(self) -> str:
        return f"order {self.number} {self.side} {self.type} {self.symbol} ({self.status})"


class Fill(models.Model):
    """One execution of an order."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="fills")
    number = models.PositiveBigIntegerField()
    order_number = models.PositiveBigIntegerField()
    trade_number = models.PositiveBigIntegerField(null=True, blank=True)
    symbol = models.CharField(max_length=20)
    market = models.CharField(max_length=10)
    side = models.CharField(max_length=4)
    price = models.DecimalField(**PRICE)
    qty = models.DecimalField(**QTY)
    quote_qty = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY)
    fee_asset = models.CharField(max_length=10)
    maker = models.BooleanField()
    realized_pnl = models.DecimalField(**MONEY, default=Decimal("0"))
    time = models.DateTimeField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="fill_unique_number"),
            models.CheckConstraint(condition=Q(qty__gt=0) & Q(price__gt=0), name="fill_positive"),
        ]
        indexes = [models.Index(fields=["account", "trade_number"])]

    def __str__(self) -> str:
        return f"fill {self.number} {self.side} {self.qty} {self.symbol} @ {self.price}"


class RiskSettings(models.Model):
    """A user's risk limits; every order path checks them (trading/risk.py)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="risk")
    max_position_pct = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True, default=Decimal("25")
    )
    max_leverage = models.PositiveSmallIntegerField(default=20)
    max_open_trades = models.PositiveIntegerField(null=True, blank=True, default=5)
    max_daily_loss_pct = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True, default=Decimal("5")
    )
    max_drawdown_pct = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True, default=Decimal("20")
    )
    stop_loss_required = models.BooleanField(default=False)
    max_risk_per_trade_pct = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True, default=Decimal("2")
    )
    min_free_balance = models.DecimalField(**MONEY, null=True, blank=True, default=Decimal("100"))
    cooldown_after_losses = models.PositiveIntegerField(null=True, blank=True, default=3)
    cooldown_minutes = models.PositiveIntegerField(default=60)
    allowed_symbols = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_leverage__gte=1) & Q(max_leverage__lte=125),
                name="risk_max_leverage_range",
            ),
        ]

    def __str__(self) -> str:
        return f"risk settings of {self.account.user}"
