"""What the console's browser tests share: the browser's log of what went wrong, signing
in, and screenshots at both widths.

Playwright is imported where it is used: the console's conftest imports this module, and
without Playwright its browser tests are skipped rather than failing to import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Response

WIDE, NARROW = 1280, 390
# Generous: the first load of a screen may wait for the platform's first answers.
SLOW = 60_000


@dataclass
class BrowserLog:
    """What went wrong in the browser: console errors, and refused requests (the browser
    reports those as errors too) apart from the statuses a test provokes on purpose."""

    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    expected: set[int] = field(default_factory=set)

    def on_response(self, response: Response) -> None:
        if response.status >= 400 and response.status not in self.expected:
            self.refused.append(f"{response.status} {response.request.method} {response.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        # The refusal itself is in `refused`, with its address, or was expected.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)


def sign_in(page: Page, account: dict[str, str], landing: str = "Dashboard") -> None:
    """Signs in from the sign-in screen, and waits for the screen headed ``landing``."""
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=landing)).to_be_visible()


def shoot(page: Page, folder: Path, name: str) -> None:
    """The screen at both widths; at the narrow one nothing may stick out sideways."""
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)  # let the charts and tables follow the new width
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": WIDE, "height": 900})
