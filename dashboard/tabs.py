"""The dashboard's tabs: each feature adds its tab here with one ``register`` line.

Only tabs whose routes and scripts really work are registered; a tab that would show
placeholders stays out until its feature lands. ``order`` follows DESIGN.md's tab order:

    10 Dashboard · 20 ML Prediction · 30 Open Trade · 40 Model Analytics ·
    50 Hybrid Learning · 60 E-mail · 70 Futures · 80 Backtests · 90 Auto-trading
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tab:
    """One tab of the shell.

    ``template`` is the partial rendered into the tab's panel; ``script`` (a path under
    static/) is the ES module that brings the panel to life, loaded once by the shell.
    """

    key: str
    title: str
    template: str
    order: int
    script: str = ""


_REGISTRY: dict[str, Tab] = {}


def register(tab: Tab) -> Tab:
    """Add a tab; keys are unique so a feature cannot silently replace another's tab."""
    if tab.key in _REGISTRY:
        raise ValueError(f"A dashboard tab with key {tab.key!r} is already registered.")
    _REGISTRY[tab.key] = tab
    return tab


def tab_list() -> list[Tab]:
    """The registered tabs in display order."""
    return sorted(_REGISTRY.values(), key=lambda tab: (tab.order, tab.key))


register(Tab("dashboard", "Dashboard", "dashboard/tabs/dashboard.html", 10, "js/dashboard.js"))
register(
    Tab(
        "ml_prediction",
        "ML Prediction",
        "dashboard/tabs/ml_prediction.html",
        20,
        "js/ml_prediction.js",
    )
)
register(Tab("trade", "Open Trade", "dashboard/tabs/trade.html", 30, "js/trade.js"))
register(
    Tab(
        "model_analytics",
        "Model Analytics",
        "dashboard/tabs/model_analytics.html",
        40,
        "js/model_analytics.js",
    )
)
register(Tab("hybrid", "Hybrid Learning", "dashboard/tabs/hybrid.html", 50, "js/hybrid.js"))
register(Tab("email", "E-mail", "dashboard/tabs/email.html", 60, "js/email.js"))
register(Tab("futures", "Futures", "dashboard/tabs/futures.html", 70, "js/futures.js"))
register(
    Tab(
        "auto_trading", "Auto-trading", "dashboard/tabs/auto_trading.html", 90, "js/auto_trading.js"
    )
)
register(Tab("backtests", "Backtests", "dashboard/tabs/backtests.html", 80, "js/backtests.js"))
