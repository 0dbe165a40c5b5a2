"""Refusals of the trading app, each mapped to an HTTP status by cryptobot.api.errors."""

from __future__ import annotations

from cryptobot.api.errors import ApiError, NotFound, Unavailable


class UnknownSymbol(NotFound):
    code = "unknown_symbol"

    def __init__(self, raw: str, valid: list[str]) -> None:
        super().__init__(
            f"Unknown symbol {raw!r}. Valid symbols: {', '.join(valid)}.",
            details={"symbol": raw, "valid_symbols": valid},
        )


class InvalidParameter(ApiError):
    """A query or body parameter that is wrong; names the parameter."""

    code = "invalid_parameter"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}", details={"parameter": param})


class PriceUnavailable(Unavailable):
    code = "price_unavailable"
