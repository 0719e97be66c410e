"""The console's tests: a built console (Node 20+) and Debian's Chromium, driven by
Playwright for Python (its own browser download needs the internet; the system's does not).

Locally a missing Node or Chromium skips the browser tests, saying why; in CI (``CI=true``)
it fails them, so a CI machine without a browser cannot pass by testing nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.console_browser import SLOW, WIDE, BrowserLog
from support.console_checks import unavailable

from telecast_devenv import console
from telecast_devenv.platform import Platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Where the screenshots go: docs/console/ when asked for (make console-screenshots), so that a
# plain test run leaves the checkout as it was.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="session")
def console_dist() -> Path:
    """The console, built when its sources changed since the last build."""
    problem = console.node_problem()
    if problem:
        unavailable(f"the console cannot be built: {problem}")
    console.build()
    return console.DIST


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        unavailable("Chromium is not installed (apt-get install -y chromium; .ci/run does)")
    return path


@pytest.fixture(scope="module")
def browser(platform: object, chromium_path: str) -> Iterator[object]:
    """Chromium, started after the module's ``platform`` and so stopped before it:
    Playwright's sync API keeps an event loop running, in which the platform's teardown
    could not run its own."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if SCREENSHOTS:
        folder = Path(__file__).resolve().parents[2] / "docs" / "console"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Browser, platform: Platform, log: BrowserLog) -> Iterator[Page]:
    """A page of the module's ``platform``, failing the test on anything in ``log``."""
    context = browser.new_context(
        base_url=platform.base_url,
        viewport={"width": WIDE, "height": 900},
        # Not the machine's zone: the console must show dates in the operator's own.
        timezone_id="Asia/Kolkata",
        locale="en-GB",
    )
    opened = context.new_page()
    opened.on("console", log.on_console)
    opened.on("response", log.on_response)
    opened.on("pageerror", lambda error: log.errors.append(str(error)))
    opened.set_default_timeout(SLOW)
    try:
        yield opened
        assert log.errors == [], f"errors in the browser's console: {log.errors}"
        assert log.refused == [], f"requests the API refused: {log.refused}"
    finally:
        context.close()
