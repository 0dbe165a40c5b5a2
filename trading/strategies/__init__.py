"""The strategy registry: name → Strategy (trading/strategies/base.py says what one is)."""

from __future__ import annotations

from trading.strategies.base import Param, Strategy, StrategyError

REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    REGISTRY[strategy.name] = strategy
    return strategy


def strategy_get(name: str) -> Strategy:
    """The registered strategy, or StrategyError listing the known ones."""
    _load()
    try:
        return REGISTRY[name]
    except KeyError as exc:
        raise StrategyError(
            "strategy", f"Unknown strategy {name!r}; choose one of {', '.join(sorted(REGISTRY))}."
        ) from exc


def strategy_list() -> list[Strategy]:
    _load()
    return [REGISTRY[name] for name in sorted(REGISTRY)]


def _load() -> None:
    """Import the built-in strategies (each module registers itself)."""
    from trading.strategies import builtin  # noqa: F401


__all__ = ["Param", "Strategy", "StrategyError", "register", "strategy_get", "strategy_list"]
