"""The safety check every order path runs before the engine: a user's risk limits (pure).

:func:`evaluate` takes a user's :class:`RiskLimits`, the :class:`Proposal` (the trade as
the caller resolved it: base quantity, expected entry price, leverage, stop) and an
:class:`AccountView` (the numbers about the account that the rules need), and returns one
:class:`Check` per rule, in the order of :data:`RULES`, passed or not. A trade may go ahead
when :func:`allowed` says so; :func:`first_failure` names the rule to report.

Conventions:

* Money is USDT and Decimal; percentages are percent (``Decimal("25")`` = 25 %).
* A limit of ``None`` or ``0`` is off ("no limit") for every optional limit, and
  ``cooldown_minutes == 0`` turns the cooldown off; ``max_leverage`` always applies and
  ``allowed_symbols == ()`` allows every symbol.
* Check values and limits are strings for JSON: percentages and USDT with two decimals,
  limits as the user wrote them, ``"none"`` for a limit that is off.
* The engine checks what this module does not: the margin / balance itself (the API's
  ``balance`` rule), min notional, step and tick, and a stop on the wrong side of the
  price. Fees are not part of the exposure, risk or free-balance arithmetic here.

:func:`validate_limits` turns API input (``POST /risk_settings``) into RiskLimits and
raises :class:`RiskLimitError` naming the field on bad input. No ORM, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from trading.engine.types import Direction, Market
from trading.symbols import normalize_symbol

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MINUTE_MS = 60_000

RULES: Final[tuple[str, ...]] = (
    "allowed_symbol",
    "max_leverage",
    "max_position_pct",
    "max_open_trades",
    "max_daily_loss_pct",
    "max_drawdown_pct",
    "stop_loss_required",
    "max_risk_per_trade_pct",
    "min_free_balance",
    "cooldown",
)
"""Every rule :func:`evaluate` reports, in its order."""

OFF: Final = "none"
"""The ``limit`` string of a check whose limit is off."""

# Input bounds for validate_limits. Percent and money precision match the RiskSettings
# columns (3 and 8 decimal places); the upper bounds only keep absurd input out.
MAX_LEVERAGE: Final = 125
PCT_PLACES: Final = 3
MONEY_PLACES: Final = 8
MAX_MONEY: Final = Decimal(10) ** 12
MAX_COUNT: Final = 1000  # max_open_trades, cooldown_after_losses
MAX_COOLDOWN_MINUTES: Final = 30 * 24 * 60
MAX_SYMBOLS: Final = 500
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")

PCT_FIELDS: Final = (
    "max_position_pct",
    "max_daily_loss_pct",
    "max_drawdown_pct",
    "max_risk_per_trade_pct",
)
FIELDS: Final[tuple[str, ...]] = (
    "max_position_pct",
    "max_leverage",
    "max_open_trades",
    "max_daily_loss_pct",
    "max_drawdown_pct",
    "stop_loss_required",
    "max_risk_per_trade_pct",
    "min_free_balance",
    "cooldown_after_losses",
    "cooldown_minutes",
    "allowed_symbols",
)
"""The settings' field names, as in the API and on RiskLimits."""


class RiskLimitError(ValueError):
    """Risk settings input that cannot be accepted; names the (first) bad field.

    ``errors`` maps every bad field to its message, in field order, so the API can answer
    400 with all of them; ``field`` / ``message`` are the first.
    """

    def __init__(self, field: str, message: str, errors: Mapping[str, str] | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors = dict(errors) if errors else {field: message}


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """A user's risk settings. ``None`` or ``0`` turns an optional limit off.

    - max_position_pct: the new trade's exposure, notional (quantity x price, before
      leverage) as a percent of equity, must be at most this.
    - max_leverage: futures leverage at most this (spot counts as 1x); 1..125.
    - max_open_trades: open trades before this one must be fewer than this.
    - max_daily_loss_pct: today's (UTC) loss, realized and unrealized, i.e. start-of-day
      equity minus equity, as a percent of start-of-day equity; at or above it, no new trades.
    - max_drawdown_pct: equity below its peak, as a percent of the peak; at or above it, no
      new trades.
    - stop_loss_required: every new trade must carry a stop-loss.
    - max_risk_per_trade_pct: what the stop would lose, |entry - stop| x quantity, as a
      percent of equity, must be at most this.
    - min_free_balance: USDT that must stay available after this trade's margin (futures)
      or cost (spot).
    - cooldown_after_losses / cooldown_minutes: after this many losing closed trades in a
      row, no new trades until cooldown_minutes after the last of them.
    - allowed_symbols: canonical symbols a trade may use; empty allows all.
    """

    max_position_pct: Decimal | None
    max_leverage: int
    max_open_trades: int | None
    max_daily_loss_pct: Decimal | None
    max_drawdown_pct: Decimal | None
    stop_loss_required: bool
    max_risk_per_trade_pct: Decimal | None
    min_free_balance: Decimal | None
    cooldown_after_losses: int | None
    cooldown_minutes: int
    allowed_symbols: tuple[str, ...]

    @classmethod
    def defaults(cls) -> RiskLimits:
        """The settings of a new account (the RiskSettings column defaults)."""
        return cls(
            max_position_pct=Decimal("25"),
            max_leverage=20,
            max_open_trades=5,
            max_daily_loss_pct=Decimal("5"),
            max_drawdown_pct=Decimal("20"),
            stop_loss_required=False,
            max_risk_per_trade_pct=Decimal("2"),
            min_free_balance=Decimal("100"),
            cooldown_after_losses=3,
            cooldown_minutes=60,
            allowed_symbols=(),
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings in the API's shape: decimals as plain strings, None as null."""
        return {
            "max_position_pct": _opt_plain(self.max_position_pct),
            "max_leverage": self.max_leverage,
            "max_open_trades": self.max_open_trades,
            "max_daily_loss_pct": _opt_plain(self.max_daily_loss_pct),
            "max_drawdown_pct": _opt_plain(self.max_drawdown_pct),
            "stop_loss_required": self.stop_loss_required,
            "max_risk_per_trade_pct": _opt_plain(self.max_risk_per_trade_pct),
            "min_free_balance": _opt_plain(self.min_free_balance),
            "cooldown_after_losses": self.cooldown_after_losses,
            "cooldown_minutes": self.cooldown_minutes,
            "allowed_symbols": list(self.allowed_symbols),
        }


@dataclass(frozen=True, slots=True)
class Proposal:
    """A trade about to be placed, resolved by the caller.

    quantity is in base units (>= 0), price the expected entry in quote (>= 0), leverage the
    futures leverage (>= 1; ignored on spot), stop_loss the stop price or None. Bad
    market / direction values or negative numbers raise ValueError (a caller's bug).
    """

    symbol: str
    market: str  # Market value: "spot" | "futures"
    direction: str  # Direction value: "long" | "short"
    quantity: Decimal
    price: Decimal
    leverage: int
    stop_loss: Decimal | None = None

    def __post_init__(self) -> None:
        if self.market not in (Market.SPOT, Market.FUTURES):
            raise ValueError(f"market must be 'spot' or 'futures', not {self.market!r}")
        if self.direction not in (Direction.LONG, Direction.SHORT):
            raise ValueError(f"direction must be 'long' or 'short', not {self.direction!r}")
        # zero is let through (a size that rounded down to nothing): the rules still answer
        # and the engine refuses the order by its quantity rule
        if not self.quantity >= 0 or not self.price >= 0:
            raise ValueError("quantity and price must not be negative")
        if self.leverage < 1:
            raise ValueError("leverage must be at least 1")

    @property
    def effective_leverage(self) -> int:
        """1 on spot (no leverage), else the futures leverage."""
        return 1 if self.market == Market.SPOT else self.leverage

    @property
    def notional(self) -> Decimal:
        """The position's value at entry, quantity x price (USDT)."""
        return self.quantity * self.price

    @property
    def margin(self) -> Decimal:
        """What the trade takes from the available balance: notional / leverage (spot: all)."""
        return self.notional / self.effective_leverage


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as the rules see it (USDT; times in epoch ms).

    equity includes unrealized PnL and spot holdings' value; available is what a new order
    may use; open_trades counts the open trades before this one; day_start_equity is the
    equity at 00:00 UTC today and peak_equity the highest equity seen (both adjusted by the
    caller for deposits and resets); consecutive_losses counts the losing closed trades
    since the last winning or break-even one, last_loss_ms is when the latest of them closed.
    """

    equity: Decimal
    available: Decimal
    open_trades: int
    day_start_equity: Decimal
    peak_equity: Decimal
    consecutive_losses: int
    last_loss_ms: int | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class Check:
    """One rule's verdict; strings throughout so it renders to JSON as it is."""

    rule: str
    passed: bool
    value: str
    limit: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "value": self.value,
            "limit": self.limit,
            "message": self.message,
        }


# --------------------------------------------------------------------------- evaluate


def evaluate(limits: RiskLimits, proposal: Proposal, account: AccountView) -> list[Check]:
    """Every rule of :data:`RULES` applied to the proposal, in that order, passed or not."""
    return [
        _allowed_symbol(limits, proposal),
        _max_leverage(limits, proposal),
        _max_position_pct(limits, proposal, account),
        _max_open_trades(limits, account),
        _max_daily_loss_pct(limits, account),
        _max_drawdown_pct(limits, account),
        _stop_loss_required(limits, proposal),
        _max_risk_per_trade_pct(limits, proposal, account),
        _min_free_balance(limits, proposal, account),
        _cooldown(limits, account),
    ]


def allowed(checks: Iterable[Check]) -> bool:
    """True when every check passed."""
    return all(check.passed for check in checks)


def first_failure(checks: Iterable[Check]) -> Check | None:
    """The first failed check (the one to report), or None when all passed."""
    return next((check for check in checks if not check.passed), None)


def _allowed_symbol(limits: RiskLimits, p: Proposal) -> Check:
    rule = "allowed_symbol"
    if not limits.allowed_symbols:
        return Check(rule, True, p.symbol, "all", "Every symbol is allowed.")
    listed = ", ".join(limits.allowed_symbols)
    if normalize_symbol(p.symbol) in limits.allowed_symbols:
        return Check(rule, True, p.symbol, listed, f"{p.symbol} is on your allowed list.")
    return Check(
        rule, False, p.symbol, listed, f"{p.symbol} is not on your allowed list ({listed})."
    )


def _max_leverage(limits: RiskLimits, p: Proposal) -> Check:
    rule, lev, cap = "max_leverage", p.effective_leverage, limits.max_leverage
    if p.market == Market.SPOT:
        return Check(rule, True, "1", str(cap), "Spot trades use no leverage (1x).")
    if lev > cap:
        return Check(
            rule, False, str(lev), str(cap), f"Leverage {lev}x is above your limit of {cap}x."
        )
    return Check(rule, True, str(lev), str(cap), f"Leverage {lev}x is within your limit of {cap}x.")


def _max_position_pct(limits: RiskLimits, p: Proposal, a: AccountView) -> Check:
    rule, cap = "max_position_pct", limits.max_position_pct
    if not cap:
        value = _pct(p.notional / a.equity * HUNDRED) if a.equity > 0 else ""
        return Check(rule, True, value, OFF, "No position size limit is set.")
    if a.equity <= 0:
        return Check(
            rule, False, "", _plain(cap), "Your equity is 0 USDT or less, so no position fits."
        )
    pct = p.notional / a.equity * HUNDRED
    said = (
        f"This position's value, {_usdt(p.notional)} USDT, is {_pct(pct)}% of your equity "
        f"({_usdt(a.equity)} USDT)"
    )
    if pct > cap:
        return Check(
            rule, False, _pct(pct), _plain(cap), f"{said}, above your limit of {_plain(cap)}%."
        )
    return Check(
        rule, True, _pct(pct), _plain(cap), f"{said}, within your limit of {_plain(cap)}%."
    )


def _max_open_trades(limits: RiskLimits, a: AccountView) -> Check:
    rule, cap, n = "max_open_trades", limits.max_open_trades, a.open_trades
    have = f"You have {_count(n, 'open trade')}"
    if not cap:
        return Check(rule, True, str(n), OFF, f"{have}; no limit on open trades is set.")
    if n >= cap:
        return Check(
            rule, False, str(n), str(cap), f"{have}, which is your limit of {cap}: close one first."
        )
    return Check(rule, True, str(n), str(cap), f"{have}; your limit is {cap}.")


def _max_daily_loss_pct(limits: RiskLimits, a: AccountView) -> Check:
    rule, cap = "max_daily_loss_pct", limits.max_daily_loss_pct
    if a.day_start_equity <= 0:
        limit = _plain(cap) if cap else OFF
        return Check(rule, True, "", limit, "There is no start-of-day equity to measure a loss.")
    loss = max(a.day_start_equity - a.equity, ZERO) / a.day_start_equity * HUNDRED
    said = (
        f"Today's loss is {_pct(loss)}% of your equity at the start of the day "
        f"({_usdt(a.day_start_equity)} USDT)"
    )
    if not cap:
        return Check(rule, True, _pct(loss), OFF, f"{said}; no daily loss limit is set.")
    if loss >= cap:
        return Check(
            rule,
            False,
            _pct(loss),
            _plain(cap),
            f"{said}, at or above your limit of {_plain(cap)}%: "
            "new trades can be opened again tomorrow (UTC).",
        )
    return Check(
        rule, True, _pct(loss), _plain(cap), f"{said}, within your limit of {_plain(cap)}%."
    )


def _max_drawdown_pct(limits: RiskLimits, a: AccountView) -> Check:
    rule, cap = "max_drawdown_pct", limits.max_drawdown_pct
    if a.peak_equity <= 0:
        limit = _plain(cap) if cap else OFF
        return Check(rule, True, "", limit, "There is no peak equity to measure a drawdown.")
    dd = max(a.peak_equity - a.equity, ZERO) / a.peak_equity * HUNDRED
    said = f"Your equity is {_pct(dd)}% below its peak of {_usdt(a.peak_equity)} USDT"
    if not cap:
        return Check(rule, True, _pct(dd), OFF, f"{said}; no drawdown limit is set.")
    if dd >= cap:
        return Check(
            rule, False, _pct(dd), _plain(cap), f"{said}, at or above your limit of {_plain(cap)}%."
        )
    return Check(rule, True, _pct(dd), _plain(cap), f"{said}, within your limit of {_plain(cap)}%.")


def _stop_loss_required(limits: RiskLimits, p: Proposal) -> Check:
    rule = "stop_loss_required"
    value = "set" if p.stop_loss is not None else "missing"
    if not limits.stop_loss_required:
        return Check(rule, True, value, "optional", "A stop-loss is optional in your settings.")
    if p.stop_loss is None:
        return Check(
            rule, False, value, "required", "Your settings require a stop-loss on every trade."
        )
    return Check(
        rule, True, value, "required", "The trade has the stop-loss your settings require."
    )


def _max_risk_per_trade_pct(limits: RiskLimits, p: Proposal, a: AccountView) -> Check:
    """Risk = what the stop would lose, |entry - stop| x quantity (fees and gaps aside)."""
    rule, cap = "max_risk_per_trade_pct", limits.max_risk_per_trade_pct
    limit = _plain(cap) if cap else OFF
    if p.stop_loss is None:
        if cap and limits.stop_loss_required:
            return Check(
                rule,
                False,
                "",
                limit,
                "Without a stop-loss the risk of this trade is unbounded, and your settings "
                "require one.",
            )
        return Check(
            rule, True, "", limit, "Without a stop-loss the risk of this trade is unbounded."
        )
    risk = abs(p.price - p.stop_loss) * p.quantity
    if not cap:
        return Check(
            rule, True, "", OFF, f"The stop-loss risks {_usdt(risk)} USDT; no limit is set."
        )
    if a.equity <= 0:
        return Check(rule, False, "", limit, "Your equity is 0 USDT or less, so no risk fits.")
    pct = risk / a.equity * HUNDRED
    said = f"The stop-loss risks {_usdt(risk)} USDT, {_pct(pct)}% of your equity"
    if pct > cap:
        return Check(rule, False, _pct(pct), limit, f"{said}, above your limit of {limit}%.")
    return Check(rule, True, _pct(pct), limit, f"{said}, within your limit of {limit}%.")


def _min_free_balance(limits: RiskLimits, p: Proposal, a: AccountView) -> Check:
    rule, floor = "min_free_balance", limits.min_free_balance
    left = a.available - p.margin
    what = "margin" if p.market == Market.FUTURES else "cost"
    said = (
        f"After this trade's {what} of {_usdt(p.margin)} USDT, {_usdt(left)} USDT stays available"
    )
    if not floor:
        return Check(rule, True, _usdt(left), OFF, f"{said}; no minimum is set.")
    if left < floor:
        return Check(
            rule,
            False,
            _usdt(left),
            _plain(floor),
            f"{said}, below your minimum free balance of {_plain(floor)} USDT.",
        )
    return Check(
        rule,
        True,
        _usdt(left),
        _plain(floor),
        f"{said}, at or above your minimum free balance of {_plain(floor)} USDT.",
    )


def _cooldown(limits: RiskLimits, a: AccountView) -> Check:
    """After N losses in a row, no new trades until cooldown_minutes after the last one."""
    rule, n, streak = "cooldown", limits.cooldown_after_losses, a.consecutive_losses
    if not n or not limits.cooldown_minutes:
        return Check(rule, True, str(streak), OFF, "No cooldown after losses is set.")
    losses = _count(streak, "losing trade")
    if streak < n:
        return Check(
            rule, True, str(streak), str(n), f"{losses} in a row; trading pauses after {n}."
        )
    if a.last_loss_ms is None:  # inconsistent input: nothing to count the pause from
        return Check(
            rule, True, str(streak), str(n), f"{losses} in a row, but no time of the last loss."
        )
    until = a.last_loss_ms + limits.cooldown_minutes * MINUTE_MS
    if a.now_ms < until:
        left = math.ceil((until - a.now_ms) / MINUTE_MS)
        return Check(
            rule,
            False,
            str(streak),
            str(n),
            f"{losses} in a row: new trades are paused until {_utc(until)} "
            f"({_count(left, 'more minute')}).",
        )
    return Check(
        rule,
        True,
        str(streak),
        str(n),
        f"{losses} in a row, but the {limits.cooldown_minutes}-minute pause ended at "
        f"{_utc(until)}.",
    )


# --------------------------------------------------------------------------- validate


def validate_limits(data: Mapping[str, Any], *, base: RiskLimits | None = None) -> RiskLimits:
    """RiskLimits from API input, every field validated; missing fields come from ``base``.

    ``base`` defaults to :meth:`RiskLimits.defaults`, so POST /risk_settings passes the
    stored settings to apply a subset. Numbers may be JSON numbers or decimal strings;
    booleans are JSON booleans. Rules: percentages null or 0..100 with at most 3 decimals;
    max_leverage an integer 1..125; max_open_trades and cooldown_after_losses null or
    0..1000; cooldown_minutes 0..43200 (30 days); min_free_balance null or 0..10^12 USDT
    with at most 8 decimals; allowed_symbols a list of symbols (any accepted spelling,
    stored canonical, duplicates dropped). NaN, Infinity and booleans-as-numbers are
    refused. Unknown keys are ignored (the caller decides whether to refuse them).

    Raises RiskLimitError naming the first bad field, with every bad field in ``errors``.
    """
    current = (base or RiskLimits.defaults()).as_dict()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FIELDS:
        raw = data[name] if name in data else current[name]
        try:
            values[name] = _PARSERS[name](raw)
        except _Invalid as exc:
            errors[name] = str(exc)
    if errors:
        field, message = next(iter(errors.items()))
        raise RiskLimitError(field, message, errors)
    return RiskLimits(**values)


class _Invalid(Exception):
    pass


def _decimal(raw: Any) -> Decimal:
    """A finite Decimal from a JSON number or a decimal string."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise _Invalid('A number is required (a decimal string such as "2.5" or a number).')
    if isinstance(raw, float):
        raw = repr(raw)  # the shortest text that round-trips: 0.1 stays 0.1
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        raise _Invalid(f"{raw!r} is not a number.") from None
    if not value.is_finite():
        raise _Invalid("The number must be finite (not NaN or Infinity).")
    return value


def _bounded_decimal(raw: Any, *, high: Decimal, places: int, unit: str) -> Decimal:
    value = _decimal(raw)
    if value < 0:
        raise _Invalid(f"Must not be negative (got {_plain(value)}).")
    if value > high:
        raise _Invalid(f"Must be at most {_plain(high)}{unit}.")
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        raise _Invalid(f"At most {places} decimal places are allowed.")
    return value + 0  # drops a negative zero's sign


def _integer(raw: Any, *, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise _Invalid("A whole number is required.")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", raw):
        value = int(raw)
    elif isinstance(raw, float | Decimal) and _decimal(raw) == _decimal(raw).to_integral_value():
        value = int(_decimal(raw))
    else:
        raise _Invalid("A whole number is required.")
    if not low <= value <= high:
        raise _Invalid(f"Must be between {low} and {high} (got {value}).")
    return value


def _nullable(parse: Any) -> Any:
    def parse_or_none(raw: Any) -> Any:
        return None if raw is None else parse(raw)

    return parse_or_none


def _required(parse: Any) -> Any:
    def parse_not_none(raw: Any) -> Any:
        if raw is None:
            raise _Invalid("May not be null.")
        return parse(raw)

    return parse_not_none


def _pct_value(raw: Any) -> Decimal:
    return _bounded_decimal(raw, high=HUNDRED, places=PCT_PLACES, unit=" %")


def _money_value(raw: Any) -> Decimal:
    return _bounded_decimal(raw, high=MAX_MONEY, places=MONEY_PLACES, unit=" USDT")


def _bool_value(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Invalid("Must be true or false.")
    return raw


def _symbols_value(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise _Invalid("A list of symbols is required ([] allows every symbol).")
    if len(raw) > MAX_SYMBOLS:
        raise _Invalid(f"At most {MAX_SYMBOLS} symbols are allowed.")
    out: list[str] = []
    for item in raw:
        symbol = normalize_symbol(item) if isinstance(item, str) else ""
        if not _SYMBOL.fullmatch(symbol):
            raise _Invalid(f"{item!r} is not a symbol (write it like BTCUSDT).")
        if symbol not in out:
            out.append(symbol)
    return tuple(out)


_PARSERS: Final[Mapping[str, Any]] = {
    "max_position_pct": _nullable(_pct_value),
    "max_leverage": _required(lambda raw: _integer(raw, low=1, high=MAX_LEVERAGE)),
    "max_open_trades": _nullable(lambda raw: _integer(raw, low=0, high=MAX_COUNT)),
    "max_daily_loss_pct": _nullable(_pct_value),
    "max_drawdown_pct": _nullable(_pct_value),
    "stop_loss_required": _required(_bool_value),
    "max_risk_per_trade_pct": _nullable(_pct_value),
    "min_free_balance": _nullable(_money_value),
    "cooldown_after_losses": _nullable(lambda raw: _integer(raw, low=0, high=MAX_COUNT)),
    "cooldown_minutes": _required(lambda raw: _integer(raw, low=0, high=MAX_COOLDOWN_MINUTES)),
    "allowed_symbols": _required(_symbols_value),
}


# --------------------------------------------------------------------------- formatting


def _plain(value: Decimal) -> str:
    """A decimal as people write it: no exponent, no trailing zeros ("25", "2.5")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _opt_plain(value: Decimal | None) -> str | None:
    return None if value is None else _plain(value)


def _pct(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _usdt(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
