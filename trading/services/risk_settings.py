"""Writing a user's risk limits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from trading.errors import InvalidParameter, UnknownSymbol
from trading.models import RiskSettings
from trading.selectors.paper import risk_settings_get
from trading.services.markets import symbol_resolve
from trading.services.paper_account import account_get


@transaction.atomic
def risk_settings_update(*, user: AbstractBaseUser, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply validated changes (unknown symbols in allowed_symbols are refused by name)."""
    if "allowed_symbols" in changes:
        try:
            changes["allowed_symbols"] = sorted(
                {symbol_resolve(s) for s in changes["allowed_symbols"]}
            )
        except UnknownSymbol as exc:
            raise InvalidParameter("allowed_symbols", exc.message) from exc
    account = account_get(user=user)
    row, _ = RiskSettings.objects.select_for_update().get_or_create(account=account)
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()
    return risk_settings_get(user=user)
