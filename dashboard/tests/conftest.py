"""Browser fixtures: Debian's chromium driven by playwright against the live serving stack.

Each browser test gets its own playwright driver and chromium, closed when the test ends.
playwright's sync API keeps an asyncio loop running on the test thread for as long as it
is started; a session-wide browser would leave that loop running under every later test
of the session, where Django's ORM and asgiref's async_to_sync (channel-layer publishing)
refuse to run. Starting the driver dominates the cost (~1.5 s); chromium itself starts
in ~0.3 s, so sharing it would save little.

Every test gets a fresh context (no cookies, no localStorage) and, when it fails, leaves a
screenshot and the page's console output in var/test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def browser(monkeypatch):
    """Headless Debian chromium. Set data up in fixtures requested before this one."""
    from playwright.sync_api import sync_playwright

    # While the driver runs, Django sees an event loop on this thread and refuses ORM calls
    # (the test's own reads, the test database flush). The test is plain synchronous code
    # that only waits on the browser, so the check guards nothing for its duration.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request) -> Iterator:
    """A fresh browser context and page, 1440x900, with console errors collected."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    page.console_log = console
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console))
    context.close()
