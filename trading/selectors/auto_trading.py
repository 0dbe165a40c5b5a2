"""Reads of auto-trading: the configuration as the API shows it, and the bot's status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Sum

from cryptobot.lib.decimal import dec_str, dec_str_or_none
from trading.models import AutoTradingConfig, AutoTradingRun, Trade
from trading.selectors.paper import liquidation_prices, trade_dict
from trading.services.paper_account import account_get, cached_prices
from trading.strategies import StrategyError, strategy_get, strategy_list

ZERO = Decimal("0")
RECENT_RUNS = 30


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def auto_config_dict(config: AutoTradingConfig, *, strategies: bool = True) -> dict[str, Any]:
    """The configuration as GET /auto_trading/config shows it (decimals as strings), with
    every strategy's parameter schema so a form can be built from it."""
    out: dict[str, Any] = {
        "enabled": config.enabled,
        "symbols": list(config.symbols),
        "strategy": config.strategy,
        "strategy_params": dict(config.strategy_params),
        "timeframe": config.timeframe,
        "market": config.market,
        "sizing": config.sizing,
        "size": dec_str(config.size),
        "leverage": config.leverage,
        "stop_loss_pct": dec_str_or_none(config.stop_loss_pct),
        "take_profit_pct": dec_str_or_none(config.take_profit_pct),
        "trailing_stop_pct": dec_str_or_none(config.trailing_stop_pct),
        "max_open_trades": config.max_open_trades,
        "updated_at": _iso(config.updated_at),
    }
    if not out["strategy_params"]:
        try:  # a fresh config shows its strategy's defaults
            strategy = strategy_get(config.strategy)
            out["strategy_params"] = strategy.validate({})
        except StrategyError:
            pass  # a strategy that is gone: the form shows none and asks for one
    if strategies:
        out["strategies"] = [s.as_dict() for s in strategy_list()]
    return out


def run_dict(run: AutoTradingRun) -> dict[str, Any]:
    """One run (the bot's decision on one closed candle)."""
    return {
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "candle_time": _iso(run.candle_time),
        "candle_time_ms": int(run.candle_time.timestamp() * 1000),
        "signal": run.signal,
        "action": run.action,
        "trade_id": run.trade_number,
        "error": run.error or None,
        "created_at": _iso(run.created_at),
    }


def auto_status(*, user: AbstractBaseUser) -> dict[str, Any]:
    """GET /auto_trading/status: enabled, config, per symbol the last run and last non-zero
    signal, open auto trades, PnL of auto trades (realized net of fees and funding, and
    unrealized at the cached prices), the last error and the recent runs."""
    config, _ = AutoTradingConfig.objects.get_or_create(user=user)
    runs = AutoTradingRun.objects.filter(user=user)
    recent = list(runs.order_by("-created_at", "-id")[:RECENT_RUNS])
    symbols = []
    for symbol in config.symbols:
        mine = runs.filter(symbol=symbol, timeframe=config.timeframe)
        last = mine.order_by("-candle_time").first()
        signalled = mine.exclude(signal=0).order_by("-candle_time").first()
        symbols.append(
            {
                "symbol": symbol,
                "last_run": run_dict(last) if last else None,
                "last_signal": signalled.signal if signalled else None,
                "last_signal_at": _iso(signalled.candle_time) if signalled else None,
            }
        )
    failed = runs.exclude(error="").order_by("-created_at", "-id").first()
    account = account_get(user=user)
    auto = Trade.objects.filter(account=account, source=Trade.Source.AUTO)
    open_rows = list(auto.filter(status=Trade.Status.OPEN).order_by("-opened_at", "-number"))
    prices = cached_prices()
    liquidation = liquidation_prices(account.pk) if open_rows else {}
    open_trades = [trade_dict(row, prices, liquidation) for row in open_rows]
    realized = auto.aggregate(net=Sum(F("realized_pnl") - F("fees") + F("funding")))["net"]
    unrealized = sum((Decimal(t["unrealized_pnl"] or 0) for t in open_trades), ZERO)
    realized = realized or ZERO
    return {
        "enabled": config.enabled,
        "config": auto_config_dict(config, strategies=False),
        "symbols": symbols,
        "open_trades": open_trades,
        "pnl": {
            "realized": dec_str(realized),
            "unrealized": dec_str(unrealized),
            "total": dec_str(realized + unrealized),
            "trades": auto.count(),
            "closed_trades": auto.exclude(status=Trade.Status.OPEN).count(),
        },
        "last_error": (
            {
                "symbol": failed.symbol,
                "candle_time": _iso(failed.candle_time),
                "action": failed.action,
                "message": failed.error,
                "at": _iso(failed.created_at),
            }
            if failed
            else None
        ),
        "recent_runs": [run_dict(run) for run in recent],
    }
