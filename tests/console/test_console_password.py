"""Changing one's password in the console: the production bootstrap administrator's first
login, which the API holds at 403 PASSWORD_CHANGE_REQUIRED until they choose a password of
their own, and any operator's change by choice.

The platform's gateway runs for production (its secrets set, no default password): the
bootstrap administrator it creates has a generated password, logged once, that the test
reads from its log as an operator would.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from support.console_browser import BrowserLog, shoot, sign_in
from support.sending import own_platform

from telecast_devenv import Infra
from telecast_devenv.platform import Platform
from telecast_libs.command_signing import generate_signing_key, public_key_of

BOOTSTRAP_EMAIL = "admin@telecast.local"
COMMON_PASSWORD = "password123"  # long enough, and among the most common
COMMON_REFUSED = "This password is among the most common ones; choose another."


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, console_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    signing_key = generate_signing_key()
    env = {
        "CONSOLE_DIR": str(console_dist),
        # The other services stay in development; they must still trust this gateway's
        # commands and share its tracking secret.
        "GATEWAY_VERIFY_KEY": public_key_of(signing_key),
        "TRACKING_SECRET": "t" * 40,
    }
    production = {
        "TELECAST_ENV": "production",
        "JWT_SECRET": "j" * 40,
        "GATEWAY_SIGNING_KEY": signing_key,
        # The session's NATS asks for no password and ignores one; production requires it.
        "NATS_GATEWAY_PASSWORD": "n" * 40,
    }
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env, production
    ) as running:
        yield running


@pytest.fixture(scope="module")
def bootstrap(platform: Platform) -> dict[str, str]:
    """The bootstrap administrator's account, with the password it has now: the generated
    one until a test changes it (and writes the new one here)."""
    logged = [
        json.loads(line)
        for line in platform["gateway"].log_path.read_text().splitlines()
        if "generated_password" in line
    ]
    assert len(logged) == 1, platform["gateway"].log_tail()
    return {"email": BOOTSTRAP_EMAIL, "password": logged[0]["generated_password"]}


def _new_password() -> str:
    return f"a passphrase of my own {secrets.token_hex(4)}"


@pytest.fixture
def admin_api(platform: Platform, bootstrap: dict[str, str]) -> Iterator[httpx.Client]:
    """The bootstrap administrator's client; changes the generated password first when no
    test has yet (a test run alone)."""
    answer = httpx.post(f"{platform.base_url}/api/v1/auth/login", json=bootstrap)
    assert answer.status_code == 200, answer.text
    token = answer.json()["data"]["accessToken"]
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as admin:
        if admin.get("/api/v1/auth/me").json()["data"].get("mustChangePassword"):
            fresh = _new_password()
            changed = admin.post(
                "/api/v1/auth/password",
                json={"currentPassword": bootstrap["password"], "newPassword": fresh},
            )
            assert changed.status_code == 200, changed.text
            bootstrap["password"] = fresh
            token = changed.json()["data"]["accessToken"]
            admin.headers["Authorization"] = f"Bearer {token}"
        yield admin


def _fill(page: Page, current: str, fresh: str, repeated: str | None = None) -> None:
    page.get_by_label("Current password", exact=True).fill(current)
    page.get_by_label("New password", exact=True).fill(fresh)
    page.get_by_label("Repeat new password", exact=True).fill(
        fresh if repeated is None else repeated
    )


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_bootstrap_administrator_changes_the_generated_password_at_the_first_login(
    page: Page, bootstrap: dict[str, str], log: BrowserLog, screenshot_dir: Path
) -> None:
    sign_in(page, bootstrap, landing="Change password")
    expect(page).to_have_url(re.compile(r"/password"))
    expect(page.get_by_text("Your password was set for you")).to_be_visible()
    # Nothing else answers yet: no navigation, and an address typed in leads back here.
    expect(page.get_by_role("link", name="Campaigns", exact=True)).to_have_count(0)
    page.goto("/campaigns")
    expect(page).to_have_url(re.compile(r"/password"))
    page.goto("/dashboard")

    fresh = _new_password()
    _fill(page, bootstrap["password"], fresh, repeated=fresh + "!")
    expect(page.get_by_text("The new passwords differ.")).to_be_visible()
    expect(page.get_by_role("button", name="Change password")).to_be_disabled()

    log.expected.add(400)
    _fill(page, bootstrap["password"], COMMON_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text(COMMON_REFUSED)
    shoot(page, screenshot_dir, "password")

    _fill(page, bootstrap["password"], fresh)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    bootstrap["password"] = fresh
    expect(page.get_by_role("link", name="Campaigns", exact=True)).to_be_visible()

    _sign_out(page)
    sign_in(page, bootstrap)


def test_an_operator_changes_their_password_from_the_menu(
    page: Page, admin_api: httpx.Client, log: BrowserLog
) -> None:
    account = {"email": f"mo.{secrets.token_hex(3)}@telecast.local", "password": _new_password()}
    created = admin_api.post(
        "/api/v1/users", json={**account, "name": "Mo Manager", "role": "manager"}
    )
    assert created.status_code == 201, created.text
    sign_in(page, account)
    page.get_by_role("link", name="Password", exact=True).click()
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    # The navigation stays: the change is by choice.
    expect(page.get_by_role("link", name="Campaigns", exact=True)).to_be_visible()

    log.expected.add(403)  # WRONG_PASSWORD: the credential in the body does not do
    fresh = _new_password()
    _fill(page, "not my password at all", fresh)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("The current password is not right.")

    _fill(page, account["password"], fresh)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your password is changed")
    expect(page.get_by_label("New password", exact=True)).to_have_value("")

    _sign_out(page)
    sign_in(page, {**account, "password": fresh})
