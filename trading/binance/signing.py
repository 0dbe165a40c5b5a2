"""Binance's request signing: HMAC-SHA256 over the raw query string + raw body.

Verified over the bytes as received (never re-encoded or sorted), minus ``&signature=…``;
the hex digest compares case-insensitively, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import unquote_plus

from trading.binance import errors

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


def server_ms() -> int:
    """The server's clock in epoch ms: what ``timestamp`` is checked against."""
    return int(time.time() * 1000)


def split_signature(query: str, body: str) -> tuple[str, str | None]:
    """(the signed payload, the signature) from the raw query string and body.

    The signature is the last parameter, of the body when there is one (ccxt POSTs) or of
    the query (GET / DELETE); Binance also takes it in the query of a POST."""
    for part_name, part in (("body", body), ("query", query)):
        head, sep, signature = part.rpartition("signature=")
        if sep and (head == "" or head.endswith("&")) and "&" not in signature:
            head = head[:-1] if head.endswith("&") else head
            payload = query + head if part_name == "body" else head + body
            return payload, unquote_plus(signature)
    return query + body, None


def signature_valid(secret: str, payload: str, signature: str) -> bool:
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


def check_timestamp(timestamp: str | None, recv_window: str | None, server_ms: int) -> None:
    """Binance's rule: accept when timestamp < server + 1000 and server - timestamp <=
    recvWindow (default 5000, at most 60000)."""
    if timestamp is None or timestamp == "":
        raise errors.missing("timestamp")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise errors.illegal("timestamp", "^[0-9]{1,20}$") from exc
    window = DEFAULT_RECV_WINDOW
    if recv_window not in (None, ""):
        try:
            window = int(recv_window)
        except ValueError as exc:
            raise errors.illegal("recvWindow", "^[0-9]{1,20}$") from exc
        if window <= 0 or window > MAX_RECV_WINDOW:
            raise errors.BinanceError(-1131, "recvWindow must be less than 60000")
    if ts >= server_ms + 1000:
        raise errors.outside_recv_window(ahead=True)
    if server_ms - ts > window:
        raise errors.outside_recv_window()
