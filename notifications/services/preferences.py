"""A user's preferences (/settings): dashboard defaults, theme, e-mail quiet hours.

The symbol and timeframe are checked by the market's own rules, which the wiring installs
(``market_check_install``), since notifications imports no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import transaction
from rest_framework.exceptions import ValidationError

from notifications.models import UserSettings

# (symbol, timeframe) -> canonical (symbol, timeframe); raises ValueError("field: message").
MarketCheck = Callable[[str, str], tuple[str, str]]
_market_check: MarketCheck | None = None


def market_check_install(check: MarketCheck) -> None:
    """Install the market's symbol/timeframe validation (done by cryptobot's wiring)."""
    global _market_check
    _market_check = check


def settings_get(*, user) -> UserSettings:
    """The user's preferences, or the defaults (unsaved): a read writes nothing."""
    return UserSettings.objects.filter(user=user).first() or UserSettings(user=user)


def settings_dict(prefs: UserSettings) -> dict[str, Any]:
    def hhmm(value: time | None) -> str | None:
        return value.strftime("%H:%M") if value else None

    return {
        "default_symbol": prefs.default_symbol,
        "default_timeframe": prefs.default_timeframe,
        "theme": prefs.theme,
        "quiet_hours_start": hhmm(prefs.quiet_hours_start),
        "quiet_hours_end": hhmm(prefs.quiet_hours_end),
        "timezone": prefs.timezone,
    }


def _timezone(name: str) -> str:
    if name not in available_timezones():
        raise ValidationError(
            {"timezone": [f"{name!r} is not an IANA time zone, e.g. Europe/Berlin."]}
        )
    return name


@transaction.atomic
def settings_update(*, user, data: dict[str, Any]) -> UserSettings:
    """Apply a validated partial update (serializer-checked types). Quiet hours are both
    set or both empty; the market check names the field it refuses."""
    UserSettings.objects.get_or_create(user=user)
    prefs = UserSettings.objects.select_for_update().get(user=user)
    for name in ("theme", "quiet_hours_start", "quiet_hours_end"):
        if name in data:
            setattr(prefs, name, data[name])
    if "timezone" in data:
        prefs.timezone = _timezone(data["timezone"])
    if (prefs.quiet_hours_start is None) != (prefs.quiet_hours_end is None):
        raise ValidationError(
            {"quiet_hours_end": ["Give both quiet_hours_start and quiet_hours_end, or neither."]}
        )
    if "default_symbol" in data or "default_timeframe" in data:
        symbol = data.get("default_symbol", prefs.default_symbol)
        timeframe = data.get("default_timeframe", prefs.default_timeframe)
        if _market_check is not None:
            try:
                symbol, timeframe = _market_check(symbol, timeframe)
            except ValueError as exc:
                field, _, message = str(exc).partition(": ")
                raise ValidationError({field: [message]}) from exc
        prefs.default_symbol, prefs.default_timeframe = symbol, timeframe
    prefs.save()
    return prefs


def in_quiet_hours(*, user_id: int, now: datetime) -> bool:
    """Whether ``now`` falls in the user's quiet hours (in their time zone); a window that
    crosses midnight (22:00 to 07:00) wraps."""
    prefs = UserSettings.objects.filter(user_id=user_id).first()
    if prefs is None or prefs.quiet_hours_start is None or prefs.quiet_hours_end is None:
        return False
    try:
        local = now.astimezone(ZoneInfo(prefs.timezone)).time()
    except ZoneInfoNotFoundError:
        local = now.time()
    start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end
