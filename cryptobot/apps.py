"""Wiring between the apps that must not import each other: the trading and ML hooks are
connected to the notifications service here, and the market's symbol check to the
preferences. Domain apps never import notifications, and notifications imports no
domain app (STYLE.md)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _notify(user_id: int | None, kind: str, data: dict[str, Any]) -> None:
    """The receiver of both hooks (trading: a user; ML: a user, or None for shared models)."""
    from notifications.services.notifications import notify_event

    notify_event(user_id=user_id, kind=kind, data=data)


def _market_check(symbol: str, timeframe: str) -> tuple[str, str]:
    from trading.errors import UnknownSymbol
    from trading.exchange.base import TIMEFRAMES
    from trading.services.markets import symbol_resolve

    try:
        symbol = symbol_resolve(symbol)
    except UnknownSymbol as exc:
        raise ValueError(f"default_symbol: {exc.message}") from exc
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"default_timeframe: use one of {', '.join(TIMEFRAMES)}.")
    return symbol, timeframe


class CryptobotConfig(AppConfig):
    name = "cryptobot"

    def ready(self) -> None:
        from ml import notify as ml_notify
        from notifications.services.preferences import market_check_install
        from trading import notify as trading_notify

        trading_notify.connect(_notify)
        ml_notify.connect(_notify)
        market_check_install(_market_check)
