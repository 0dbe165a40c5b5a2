"""Auto-trading: a user's configuration, and the step that trades it on each closed candle.

The step (``auto_trading_step``) is the live half of "one engine, two shells": it computes
the strategy's signal for the newest closed candle with the same function the backtester
uses, then trades through ``trade_open`` / ``trade_close`` (so the safety check, fees,
slippage and notifications are the ones of every other order path).

Once per candle: the step claims (user, symbol, timeframe, candle) by inserting the
AutoTradingRun row; the unique constraint makes a second claim fail, so a beat that fires
twice, two overlapping workers or a retry never act twice on one candle. The claim, the
orders and the run's outcome commit together, with the user's config row locked, so a
crash leaves nothing half-done and two steps of one user never interleave.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from cryptobot.api.errors import ApiError, Conflict
from trading.errors import UnknownSymbol
from trading.exchange.base import TIMEFRAMES
from trading.models import AutoTradingConfig, AutoTradingRun, Candle, Trade
from trading.notify import trading_event
from trading.services.exchange import exchange_now_ms
from trading.services.markets import symbol_resolve
from trading.services.paper import (
    OrderRefused,
    RiskCheckFailed,
    TradeRequest,
    trade_close,
    trade_open,
)
from trading.strategies import StrategyError, strategy_get
from trading.strategies.frames import rows_frame

logger = logging.getLogger(__name__)

Action = AutoTradingRun.Action

# Candles loaded beyond the strategy's own warm-up (headroom for gaps in the stored data).
EXTRA_BARS = 50
# A closed candle older than this many bars is not acted on: the feed stopped, and a
# signal from then is no reason to trade at today's price.
STALE_BARS = 5

# Ranges (inclusive) of the numeric settings; the API and the admin share them.
EQUITY_PCT = (Decimal("0.01"), Decimal("100"))
LEVERAGE = (1, 125)
STOP_LOSS_PCT = (Decimal("0.01"), Decimal("99"))
TAKE_PROFIT_PCT = (Decimal("0.01"), Decimal("1000"))
TRAILING_STOP_PCT = (Decimal("0.1"), Decimal("50"))
MAX_OPEN_TRADES = (1, 50)
MAX_SYMBOLS = 20

FIELDS = (
    "symbols",
    "strategy",
    "strategy_params",
    "timeframe",
    "market",
    "sizing",
    "size",
    "leverage",
    "stop_loss_pct",
    "take_profit_pct",
    "trailing_stop_pct",
    "max_open_trades",
)


class AutoConfigInvalid(ApiError):
    """A configuration value that cannot be used; ``details`` names the field."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={field: [message]})
        self.field = field


# ---------------------------------------------------------------------------- config


def auto_config_get(*, user: AbstractBaseUser) -> AutoTradingConfig:
    """The user's auto-trading configuration, created (disabled, defaults) on first use."""
    config, _ = AutoTradingConfig.objects.get_or_create(user=user)
    return config


@transaction.atomic
def auto_config_update(*, user: AbstractBaseUser, data: dict[str, Any]) -> AutoTradingConfig:
    """Change any subset of the configuration (FIELDS); the result is validated as a whole
    (strategy and params through the registry, symbols against the watched markets, the
    ranges above) before anything is saved, so a refusal changes nothing.

    Params are validated against the (possibly new) strategy: defaults fill in what is
    missing. Changing the strategy without params starts from its defaults. Raises
    AutoConfigInvalid (400) naming the first bad field. Locks the config row.
    """
    auto_config_get(user=user)
    config = AutoTradingConfig.objects.select_for_update().get(user=user)
    unknown = sorted(set(data) - set(FIELDS) - {"enabled"})
    if unknown:
        raise AutoConfigInvalid(unknown[0], f"unknown setting; use {', '.join(FIELDS)}.")
    values = {name: getattr(config, name) for name in FIELDS}
    if "strategy" in data and data["strategy"] != config.strategy:
        values["strategy_params"] = {}
    values.update({k: v for k, v in data.items() if k in FIELDS})
    clean = auto_config_validate(values)
    for name, value in clean.items():
        setattr(config, name, value)
    if "enabled" in data:
        if data["enabled"]:
            _check_startable(config)
        config.enabled = bool(data["enabled"])
    config.save()
    return config


def auto_config_validate(values: dict[str, Any]) -> dict[str, Any]:
    """Every setting checked and normalised (symbols canonical, params with defaults)."""
    out = dict(values)
    try:
        strategy = strategy_get(str(values["strategy"]))
    except StrategyError as exc:
        raise AutoConfigInvalid("strategy", exc.message) from exc
    out["strategy"] = strategy.name
    params = values.get("strategy_params") or {}
    if not isinstance(params, dict):
        raise AutoConfigInvalid("strategy_params", "give an object of parameter values.")
    try:
        out["strategy_params"] = strategy.validate(params)
    except StrategyError as exc:
        raise AutoConfigInvalid(f"strategy_params.{exc.field}", exc.message) from exc
    out["symbols"] = _symbols(values["symbols"])
    if values["timeframe"] not in TIMEFRAMES:
        raise AutoConfigInvalid("timeframe", f"use one of {', '.join(TIMEFRAMES)}.")
    if values["market"] not in ("futures", "spot"):
        raise AutoConfigInvalid("market", "use futures or spot.")
    if values["sizing"] not in AutoTradingConfig.Sizing.values:
        raise AutoConfigInvalid("sizing", "use equity_pct or quote.")
    size = _decimal("size", values["size"])
    if values["sizing"] == AutoTradingConfig.Sizing.EQUITY_PCT:
        _in_range("size", size, EQUITY_PCT, "% of equity")
    elif size <= 0:
        raise AutoConfigInvalid("size", "a USDT amount must be more than 0.")
    out["size"] = size
    out["leverage"] = _int("leverage", values["leverage"], LEVERAGE)
    if values["market"] == "spot" and out["leverage"] != 1:
        raise AutoConfigInvalid("leverage", "spot trades take no leverage; use 1 or futures.")
    for name, bounds in (
        ("stop_loss_pct", STOP_LOSS_PCT),
        ("take_profit_pct", TAKE_PROFIT_PCT),
        ("trailing_stop_pct", TRAILING_STOP_PCT),
    ):
        raw = values.get(name)
        out[name] = None if raw in (None, "") else _in_range(name, _decimal(name, raw), bounds)
    out["max_open_trades"] = _int("max_open_trades", values["max_open_trades"], MAX_OPEN_TRADES)
    return out


def _symbols(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [part for part in raw.replace(" ", ",").split(",") if part]
    if not isinstance(raw, list | tuple) or not raw:
        raise AutoConfigInvalid("symbols", 'give at least one symbol, e.g. ["BTCUSDT"].')
    if len(raw) > MAX_SYMBOLS:
        raise AutoConfigInvalid("symbols", f"at most {MAX_SYMBOLS} symbols.")
    names = []
    for item in raw:
        try:
            name = symbol_resolve(str(item), watched_only=True)
        except UnknownSymbol as exc:
            raise AutoConfigInvalid("symbols", exc.message) from exc
        if name not in names:
            names.append(name)
    return names


def _decimal(name: str, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise AutoConfigInvalid(name, "must be a number.")
    try:
        value = Decimal(str(raw))
    except ArithmeticError as exc:
        raise AutoConfigInvalid(name, "must be a number.") from exc
    if not value.is_finite():
        raise AutoConfigInvalid(name, "must be a finite number.")
    return value


def _int(name: str, raw: Any, bounds: tuple[int, int]) -> int:
    value = _decimal(name, raw)
    if value != value.to_integral_value():
        raise AutoConfigInvalid(name, "must be a whole number.")
    return int(_in_range(name, value, bounds))


def _in_range(name: str, value: Decimal, bounds: tuple, unit: str = "") -> Decimal:
    low, high = bounds
    if not low <= value <= high:
        raise AutoConfigInvalid(name, f"must be between {low} and {high}{unit and ' ' + unit}.")
    return value


def _check_startable(config: AutoTradingConfig) -> None:
    auto_config_validate({name: getattr(config, name) for name in FIELDS})


def auto_trading_start(*, user: AbstractBaseUser) -> AutoTradingConfig:
    """Turn auto-trading on; the stored config must be valid (400 naming the field)."""
    return auto_config_update(user=user, data={"enabled": True})


def auto_trading_stop(*, user: AbstractBaseUser) -> AutoTradingConfig:
    """Turn auto-trading off. Open auto trades stay open (their stops still run); close
    them from the trades list if wanted."""
    with transaction.atomic():
        config = auto_config_get(user=user)
        AutoTradingConfig.objects.filter(pk=config.pk).update(enabled=False)
    config.refresh_from_db()
    return config


# ---------------------------------------------------------------------------- the step


@dataclass(frozen=True)
class StepOutcome:
    """What one step did for a user and symbol.

    status: "acted" (a run row was written, whatever its action), "done" (this candle was
    already handled), "waiting" (no closed candle that the feed has moved past yet),
    "stale" (the newest closed candle is too old), "off" (not enabled for this symbol).
    """

    symbol: str
    status: str
    candle_time: datetime | None = None
    signal: int | None = None
    action: str | None = None
    trade_number: int | None = None
    error: str = ""


def auto_trading_step(*, user_id: int, symbol: str, now: datetime | None = None) -> StepOutcome:
    """Act once on ``symbol``'s newest closed candle of the user's timeframe.

    ``now`` is the market's time (default: the exchange clock). A candle is closed when
    its period has ended *and* the feed has stored a later candle of the timeframe (so
    the last minute of, e.g., an hour has been written into it). Signal +1 closes the
    user's open auto shorts on the symbol and opens a long; -1 closes longs and, on
    futures, opens a short. A new trade needs no auto trade open in that direction on the
    symbol and fewer than max_open_trades auto trades in all.

    Refusals (risk checks, margin, an open opposite manual trade) and errors (no price,
    a strategy failure) are recorded on the run row and sent through the trading_event
    hook as "auto_trading_error" after commit; a trade opened, closed or reversed goes
    out as "auto_trading_signal". Locks the config row, then (through the
    paper services) the account row.
    """
    now = now or datetime.fromtimestamp(exchange_now_ms() / 1000, UTC)
    with transaction.atomic():
        config = (
            AutoTradingConfig.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=user_id, enabled=True)
            .first()
        )
        if config is None or symbol not in config.symbols:
            return StepOutcome(symbol, "off")
        candle_time, status = _closed_candle(symbol, config.timeframe, now)
        if candle_time is None:
            return StepOutcome(symbol, status)
        try:
            with transaction.atomic():
                run = AutoTradingRun.objects.create(
                    user_id=user_id,
                    symbol=symbol,
                    timeframe=config.timeframe,
                    candle_time=candle_time,
                )
        except IntegrityError:  # claimed before: this candle is done
            return StepOutcome(symbol, "done", candle_time)
        _run_decide(config, run)
        run.save(update_fields=["signal", "action", "trade_number", "error"])
        event = _error_event(run)
        if run.error:
            transaction.on_commit(lambda: trading_event(user_id, "auto_trading_error", event))
        elif run.action in (Action.OPEN, Action.CLOSE, Action.REVERSE):
            transaction.on_commit(lambda: trading_event(user_id, "auto_trading_signal", event))
    return StepOutcome(
        symbol,
        "acted",
        candle_time,
        run.signal,
        run.action,
        run.trade_number,
        run.error,
    )


def _closed_candle(symbol: str, timeframe: str, now: datetime) -> tuple[datetime | None, str]:
    period = timedelta(milliseconds=TIMEFRAMES[timeframe])
    stored = Candle.objects.filter(symbol__symbol=symbol, timeframe=timeframe)
    newest = (
        stored.filter(open_time__lte=now - period)
        .order_by("-open_time")
        .values_list("open_time", flat=True)
        .first()
    )
    if newest is None:
        return None, "waiting"
    if now - (newest + period) > STALE_BARS * period:
        return None, "stale"
    if not stored.filter(open_time__gt=newest).exists():
        return None, "waiting"
    return newest, ""


def _signal(
    config: AutoTradingConfig, symbol: str, candle_time: datetime
) -> tuple[int, float, float]:
    """The strategy's (signal, stop_loss, take_profit) for the candle at ``candle_time``,
    from the last warm-up + EXTRA_BARS stored candles ending with it."""
    strategy = strategy_get(config.strategy)
    params = strategy.validate(config.strategy_params)
    need = strategy.warmup(params) + EXTRA_BARS
    rows = list(
        Candle.objects.filter(
            symbol__symbol=symbol, timeframe=config.timeframe, open_time__lte=candle_time
        )
        .order_by("-open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")[:need]
    )
    candles = rows_frame(rows[::-1])
    candles.attrs.update(symbol=symbol, timeframe=config.timeframe)  # for ml_signal
    frame = strategy.signals(candles, params)
    last = frame.iloc[-1]
    return int(last["signal"]), float(last["stop_loss"]), float(last["take_profit"])


def _run_decide(config: AutoTradingConfig, run: AutoTradingRun) -> None:
    """Fill in the run's signal, action, trade number and error (in a savepoint: an
    unexpected failure undoes this candle's orders and is recorded as an error)."""
    try:
        with transaction.atomic():
            run.signal, stop_loss, take_profit = _signal(config, run.symbol, run.candle_time)
            _act(config, run, stop_loss, take_profit)
    except StrategyError as exc:
        run.action, run.error = Action.ERROR, exc.message
    except Exception as exc:  # recorded and reported; the next candle tries again
        logger.exception("Auto-trading of user %s on %s failed", config.user_id, run.symbol)
        run.action, run.error = Action.ERROR, f"{type(exc).__name__}: {exc}"
        run.trade_number = None


def _act(
    config: AutoTradingConfig, run: AutoTradingRun, stop_loss: float, take_profit: float
) -> None:
    """Trade the run's signal; refusals are recorded on the run, not raised."""
    if run.signal == 0:
        run.action = Action.NONE
        return
    want = "long" if run.signal > 0 else "short"
    mine = Trade.objects.filter(
        account__user_id=config.user_id, source=Trade.Source.AUTO, status=Trade.Status.OPEN
    )
    here = list(mine.filter(symbol=run.symbol, market=config.market).order_by("number"))
    closed: list[int] = []
    try:
        for trade in here:
            if trade.direction != want:
                trade_close(user=config.user, number=trade.number)
                closed.append(trade.number)
        may_open = want == "long" or config.market == "futures"
        if not may_open or any(t.direction == want for t in here):
            run.action = Action.CLOSE if closed else Action.NONE
            run.trade_number = closed[-1] if closed else None
            return
        if mine.count() >= config.max_open_trades:
            raise Conflict(
                f"{config.max_open_trades} auto trades are open (max_open_trades); "
                "no new one until one closes.",
                code="max_open_trades",
            )
        opened = trade_open(
            user=config.user, request=_request(config, run, want, stop_loss, take_profit)
        )
    except (RiskCheckFailed, OrderRefused, Conflict) as exc:
        run.action = Action.CLOSE if closed else Action.REFUSED
        run.trade_number = closed[-1] if closed else None
        run.error = exc.message
        return
    except ApiError as exc:  # no price, unknown symbol: the market, not the user
        run.action = Action.CLOSE if closed else Action.ERROR
        run.trade_number = closed[-1] if closed else None
        run.error = exc.message
        return
    run.action = Action.REVERSE if closed else Action.OPEN
    run.trade_number = opened.get("id")


def _request(
    config: AutoTradingConfig, run: AutoTradingRun, direction: str, sl: float, tp: float
) -> TradeRequest:
    """The trade the config asks for: the config's percentages first, else the prices the
    strategy gave with its signal (NaN: none)."""
    sized: dict[str, Any] = (
        {"equity_pct": config.size}
        if config.sizing == AutoTradingConfig.Sizing.EQUITY_PCT
        else {"quote_amount": config.size}
    )
    return TradeRequest(
        symbol=run.symbol,
        direction=direction,
        market=config.market,
        leverage=config.leverage if config.market == "futures" else None,
        stop_loss_pct=config.stop_loss_pct,
        stop_loss=None if config.stop_loss_pct or math.isnan(sl) else _price(sl),
        take_profit_pct=config.take_profit_pct,
        take_profit=None if config.take_profit_pct or math.isnan(tp) else _price(tp),
        trailing_stop_pct=config.trailing_stop_pct,
        source="auto",
        strategy=config.strategy,
        **sized,
    )


def _price(value: float) -> Decimal:
    return Decimal(repr(value))


def _error_event(run: AutoTradingRun) -> dict[str, Any]:
    return {
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "candle_time": run.candle_time.isoformat().replace("+00:00", "Z"),
        "signal": run.signal,
        "action": run.action,
        "trade_id": run.trade_number,
        "error": run.error,
    }


# ---------------------------------------------------------------------------- all users


def auto_trading_run_all(*, now: datetime | None = None) -> dict[str, int]:
    """One step for every enabled user and symbol (the beat task). A failure of one user
    or symbol is logged and reported, and does not stop the others. Returns counts of
    step outcomes by status."""
    counts: dict[str, int] = {}
    configs = AutoTradingConfig.objects.filter(enabled=True).order_by("user_id")
    for user_id, symbols in configs.values_list("user_id", "symbols"):
        for symbol in symbols:
            try:
                status = auto_trading_step(user_id=user_id, symbol=symbol, now=now).status
            except Exception as exc:  # logged and reported; the other users go on
                logger.exception("Auto-trading step of user %s on %s failed", user_id, symbol)
                trading_event(user_id, "auto_trading_error", {"symbol": symbol, "error": str(exc)})
                status = "failed"
            counts[status] = counts.get(status, 0) + 1
    return counts
