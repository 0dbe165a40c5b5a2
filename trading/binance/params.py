"""Binance request parameters: read from the raw query string and form body, typed.

Every refusal is Binance's (-1102 missing, -1100 malformed, -1116/-1117/-1115 bad enums).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from trading.binance import errors

_DECIMAL = re.compile(r"^-?\d{1,20}(\.\d{1,20})?$")
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_INT = re.compile(r"^-?\d{1,20}$")
# Year 3000 UTC: later times cannot be real, and month arithmetic on them stays valid.
MAX_TIME_MS = 32_503_680_000_000


class Params:
    """The request's parameters (query first, then body; a repeated name keeps the last)."""

    def __init__(self, query: str, body: str) -> None:
        self._values: dict[str, str] = {}
        for part in (query, body):
            if part:
                self._values.update(parse_qsl(part, keep_blank_values=True))

    def __contains__(self, name: str) -> bool:
        return self._values.get(name, "") != ""

    def names(self) -> Iterable[str]:
        return self._values.keys()

    def str(self, name: str, *, required: bool = False) -> str | None:
        value = self._values.get(name, "")
        if value == "":
            if required:
                raise errors.missing(name)
            return None
        return value

    def required(self, name: str) -> str:
        value = self.str(name, required=True)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        raw = self.str(name, required=required)
        if raw is None:
            return None
        if not _DECIMAL.match(raw):
            raise errors.illegal(name, "^([0-9]{1,20})(\\.[0-9]{1,20})?$")
        try:
            return Decimal(raw)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise errors.illegal(name, "^([0-9]{1,20})(\\.[0-9]{1,20})?$") from exc

    def int(self, name: str, *, required: bool = False, default: int | None = None) -> int | None:
        raw = self.str(name, required=required)
        if raw is None:
            return default
        if not _INT.match(raw):
            raise errors.illegal(name, "^[0-9]{1,20}$")
        return int(raw)

    def limit(self, *, default: int, most: int) -> int:
        """``limit``: ``default`` when absent, else 1 to ``most`` (-1100 outside)."""
        value = self.int("limit", default=default)
        assert value is not None
        if not 1 <= value <= most:
            raise errors.illegal("limit", f"1 - {most}")
        return value

    def ms(self, name: str) -> int | None:
        """An epoch-ms time (or id): -1100 unless 0 to year 3000, so no later query fails."""
        value = self.int(name)
        if value is not None and not 0 <= value <= MAX_TIME_MS:
            raise errors.illegal(name, f"0 - {MAX_TIME_MS}")
        return value

    def bool(self, name: str, *, default: bool = False) -> bool:
        raw = self.str(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            raise errors.illegal(name, "true, false")
        return raw.lower() == "true"

    def choice(
        self,
        name: str,
        allowed: Iterable[str],
        error: errors.BinanceError | None = None,
        *,
        required: bool = False,
    ) -> str | None:
        raw = self.str(name, required=required)
        if raw is None:
            return None
        if raw.upper() not in allowed:
            raise error or errors.illegal(name, ", ".join(allowed))
        return raw.upper()

    def client_id(self, name: str) -> str:
        raw = self.str(name)
        if raw is None:
            return ""
        if not _CLIENT_ID.match(raw):
            raise errors.illegal(name, "^[\\.A-Z\\:/a-z0-9_-]{1,36}$")
        return raw
