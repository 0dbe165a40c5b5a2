"""How money and quantities are written in JSON: decimal strings, never floats, never
exponents ("0E-8"), with the 8 decimal places the database keeps."""

from __future__ import annotations

from decimal import Decimal

EIGHT_PLACES = Decimal("0.00000001")


def dec_str(value: Decimal) -> str:
    """A Decimal as a plain string with 8 decimal places (money, quantities, prices)."""
    return format(value.quantize(EIGHT_PLACES), "f")


def dec_str_or_none(value: Decimal | None) -> str | None:
    return None if value is None else dec_str(value)
