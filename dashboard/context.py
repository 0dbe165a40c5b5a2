"""Template context shared by every dashboard page: the tabs and the sidebar's symbols."""

from __future__ import annotations

from django.http import HttpRequest

from dashboard.tabs import tab_list
from notifications.services.preferences import settings_get
from trading.selectors import symbol_list


def shell(request: HttpRequest) -> dict:
    """Sidebar and tab data for signed-in users.

    This processor runs for every template (admin and login pages too), so it returns
    nothing to anonymous users and hands over the symbol queryset unevaluated: the database
    is read only by a page that actually renders the symbol selector.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "shell_tabs": tab_list(),
        "shell_symbols": symbol_list(watched_only=True).only("symbol", "base", "quote"),
        "shell_preferences": lambda: settings_get(user=user),  # read only when rendered
    }
