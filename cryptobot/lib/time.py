"""Times as people read them: ISO-8601 in UTC with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime | None) -> str | None:
    """An aware datetime as ISO-8601 UTC ending in Z (None stays None)."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ms_iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC ending in Z (None or 0 stay None)."""
    return iso_z(datetime.fromtimestamp(ms / 1000, UTC)) if ms else None
