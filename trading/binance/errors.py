"""Binance's error contract: ``{"code": -NNNN, "msg": "..."}`` with Binance's HTTP status.

Messages are Binance's exact wording: clients (ccxt) map some errors by message text.
"""

from __future__ import annotations

from trading import engine as core


class BinanceError(Exception):
    """A refusal rendered as Binance renders it; views never catch it."""

    def __init__(
        self, code: int, msg: str, *, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def unknown_error() -> BinanceError:
    return BinanceError(
        -1000, "An unknown error occurred while processing the request.", status=500
    )


def overloaded() -> BinanceError:
    return BinanceError(
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
        status=503,
    )


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def bad_api_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)


def bad_api_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", status=401)


def outside_recv_window(*, ahead: bool = False) -> BinanceError:
    if ahead:
        return BinanceError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def bad_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def missing(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def unknown_param(name: str) -> BinanceError:
    return BinanceError(-1103, f"An unknown parameter was sent: '{name}'.")


def bad_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def bad_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def bad_time_in_force() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def bad_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def order_not_found() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def unknown_order_cancel() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def too_much_weight(limit: int, retry_after: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def banned(until_ms: int, retry_after: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        status=418,
        headers={"Retry-After": str(retry_after)},
    )


def too_many_orders(limit: int, interval: str, retry_after: int) -> BinanceError:
    return BinanceError(
        -1015,
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def not_found_route() -> BinanceError:
    return BinanceError(-1, "Not found.", status=404)


# The engine names the rule an order broke; Binance answers each with its own code.
_SPOT = {
    core.Rule.INSUFFICIENT_BALANCE: (
        -2010,
        "Account has insufficient balance for requested action.",
    ),
    core.Rule.SPOT_SHORT: (-2010, "Account has insufficient balance for requested action."),
    core.Rule.CLIENT_ORDER_ID: (-2010, "Duplicate order sent."),
    core.Rule.POST_ONLY: (-2010, "Order would immediately match and take."),
    core.Rule.WOULD_TRIGGER: (-2010, "Stop price would trigger immediately."),
    core.Rule.MIN_NOTIONAL: (-1013, "Filter failure: NOTIONAL"),
    core.Rule.QUANTITY: (-1013, "Filter failure: LOT_SIZE"),
    core.Rule.PRICE: (-1013, "Filter failure: PRICE_FILTER"),
    core.Rule.STOP_PRICE: (-1013, "Filter failure: PRICE_FILTER"),
    core.Rule.ORDER_TYPE: (-1116, "Invalid orderType."),
    core.Rule.TIME_IN_FORCE: (-1115, "Invalid timeInForce."),
    core.Rule.SYMBOL: (-1121, "Invalid symbol."),
    core.Rule.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
}
_FUTURES = {
    core.Rule.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    core.Rule.INSUFFICIENT_BALANCE: (-2018, "Balance is insufficient."),
    core.Rule.REDUCE_ONLY: (-2022, "ReduceOnly Order is rejected."),
    core.Rule.WOULD_TRIGGER: (-2021, "Order would immediately trigger."),
    core.Rule.POST_ONLY: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be "
        "rejected. The order will not be recorded in the order history",
    ),
    core.Rule.CLIENT_ORDER_ID: (-4116, "ClientOrderId is duplicated."),
    core.Rule.QUANTITY: (-4003, "Quantity less than or equal to zero."),
    core.Rule.PRICE: (-4014, "Price not increased by tick size."),
    core.Rule.STOP_PRICE: (-4014, "Price not increased by tick size."),
    core.Rule.ORDER_TYPE: (-1116, "Invalid orderType."),
    core.Rule.TIME_IN_FORCE: (-1115, "Invalid timeInForce."),
    core.Rule.SYMBOL: (-1121, "Invalid symbol."),
    core.Rule.LEVERAGE: (-4028, "Leverage is not valid"),
    core.Rule.NO_CHANGE: (-4046, "No need to change margin type."),
    core.Rule.OPEN_ORDERS: (-4047, "Margin type cannot be changed if there exists open orders."),
    core.Rule.POSITION_OPEN: (-4048, "Margin type cannot be changed if there exists position."),
    core.Rule.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
    core.Rule.MARKET: (-1121, "Invalid symbol."),
}


def from_rule(market: str, rule: str, message: str = "") -> BinanceError:
    """The Binance error for an engine (or risk) refusal; ``market`` is "spot" or "futures".

    Min notional on futures carries the limit in its text (``message`` has it); a risk
    setting refusal has no Binance twin and keeps our message under -2010 / -2019 wording
    clients already treat as "refused for funds or limits"."""
    table = _SPOT if market == "spot" else _FUTURES
    try:
        key = core.Rule(rule)
    except ValueError:
        key = None
    if market == "futures" and key == core.Rule.MIN_NOTIONAL:
        return BinanceError(
            -4164,
            message
            or "Order's notional must be no smaller than 5 (unless you choose reduce only).",
        )
    if key in table:
        code, msg = table[key]
        return BinanceError(code, msg)
    # Our own risk rules (max position, daily loss...): refused, with our explanation.
    code = -2010 if market == "spot" else -2019
    return BinanceError(code, message or "Order rejected by the account's risk settings.")
