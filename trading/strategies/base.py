"""What a strategy is: a pure, vectorised function of candles, with a parameter schema.

``candles`` is a DataFrame indexed by open time (UTC, ascending) with float64 columns
open, high, low, close, volume. A strategy returns a DataFrame on the same index with:

- ``signal`` (int8): +1 buy (enter long / leave a short), -1 sell (enter short / leave a
  long), 0 nothing. The signal of bar t uses candles up to and including t's close only;
  it is acted on at the next bar's open (backtest) or right after t closes (live), so the
  backtest and the live bot act on the same signal at the same price.
- ``stop_loss`` / ``take_profit`` (float64, NaN for none): optional absolute prices for a
  trade entered on that signal.

The same function produces live and backtest signals; nothing else computes signals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


class StrategyError(ValueError):
    """Unknown strategy or invalid parameters; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default and inclusive range."""

    name: str
    kind: type  # int or float
    default: int | float
    minimum: int | float
    maximum: int | float
    description: str = ""

    def parse(self, raw: Any) -> int | float:
        if isinstance(raw, bool) or raw is None:
            raise StrategyError(self.name, f"{self.name} must be a number.")
        try:
            value = self.kind(raw)
        except (TypeError, ValueError) as exc:
            raise StrategyError(self.name, f"{self.name} must be a number.") from exc
        if self.kind is int and float(raw) != value:
            raise StrategyError(self.name, f"{self.name} must be a whole number.")
        if value != value or not self.minimum <= value <= self.maximum:  # NaN too
            raise StrategyError(
                self.name, f"{self.name} must be between {self.minimum} and {self.maximum}."
            )
        return value

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.description,
        }


SignalFunction = Callable[[pd.DataFrame, Mapping[str, Any]], pd.DataFrame]


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    params: tuple[Param, ...]
    compute: SignalFunction
    # Bars needed before the first meaningful signal, from the params (for live runs that
    # read only the latest candles).
    warmup: Callable[[Mapping[str, Any]], int] = field(default=lambda params: 200)
    # Cross-parameter rules (e.g. fast < slow): raise StrategyError.
    check: Callable[[Mapping[str, Any]], None] = field(default=lambda params: None)

    def validate(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, types and ranges checked; unknown names refused."""
        raw = dict(raw or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise StrategyError(
                unknown[0],
                f"{self.name} takes no parameter {unknown[0]!r}; it takes {', '.join(known)}.",
            )
        values = {
            name: p.parse(raw[name]) if name in raw else p.default for name, p in known.items()
        }
        self.check(values)
        return values

    def signals(self, candles: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
        """The signal frame (see the module docstring) for validated ``params``."""
        out = self.compute(candles, params)
        if "stop_loss" not in out:
            out["stop_loss"] = float("nan")
        if "take_profit" not in out:
            out["take_profit"] = float("nan")
        out["signal"] = out["signal"].fillna(0).astype("int8")
        return out[["signal", "stop_loss", "take_profit"]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": [p.as_dict() for p in self.params],
        }
