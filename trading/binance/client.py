"""A minimal signed Binance request builder: what a Binance client sends (tests, bench).

Signs exactly as binance-compat §2 describes: timestamp first, the parameters, recvWindow,
then ``signature`` = HMAC-SHA256(secret, query + body) as lowercase hex.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode


def signed_request(
    method: str,
    path: str,
    params: dict[str, object],
    *,
    key: str,
    secret: str,
    timestamp_ms: int | None = None,
    recv_window: int = 10_000,
) -> tuple[str, str, dict[str, str]]:
    """(url path with query, body, headers) of a signed request: POST signs the form body,
    other methods the query string."""
    ordered = {"timestamp": timestamp_ms or int(time.time() * 1000), **params}
    ordered["recvWindow"] = recv_window
    payload = urlencode(ordered)
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    signed = f"{payload}&signature={signature}"
    headers = {"X-MBX-APIKEY": key}
    if method.upper() == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return path, signed, headers
    return f"{path}?{signed}", "", headers
