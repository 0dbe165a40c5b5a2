"""The latest trading signals per watched symbol, as GET /futures/signals shows them.

Strategies and ML models arrive in later issues; until then each watched symbol is listed
with ``strategy`` and ``ml`` set to null and a note saying why. Those issues fill in
``_strategy_signal`` and ``_ml_signal`` (their own selectors, read here), so the route and
its shape stay as they are.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from trading.services.markets import watched_symbols

NO_SIGNALS_NOTE = (
    "No signal yet: no strategy runs and no ML model is trained for this symbol. "
    "Signals appear here once auto-trading or an ML model is set up."
)


def signal_list(*, user: AbstractBaseUser) -> list[dict[str, Any]]:
    """For each watched symbol (sorted): the latest strategy signal and ML prediction the
    user can see, each None when there is none, and a note when both are missing."""
    out = []
    for symbol in sorted(watched_symbols()):
        strategy = _strategy_signal(user, symbol)
        ml = _ml_signal(symbol)
        note = NO_SIGNALS_NOTE if strategy is None and ml is None else ""
        out.append({"symbol": symbol, "strategy": strategy, "ml": ml, "note": note})
    return out


def _strategy_signal(user: AbstractBaseUser, symbol: str) -> dict[str, Any] | None:
    """The newest signal of the user's strategy on ``symbol`` (none exist yet)."""
    return None


def _ml_signal(symbol: str) -> dict[str, Any] | None:
    """The active model's newest prediction for ``symbol`` (no models exist yet)."""
    return None
