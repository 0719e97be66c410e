"""The console in a real browser against the real platform (the simulator plays Telegram):
what an operator does, and sees, from signing in to a campaign's statistics.

Every test fails on an error in the browser's console (a script error, a refused request,
a Content-Security-Policy violation). Screenshots of each screen at 1280 and 390 px go to
``screenshot_dir`` (docs/console/ with CONSOLE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from support.console_browser import SLOW, BrowserLog, shoot, sign_in
from support.inspect import wait_until
from support.sending import Audience, client, create_campaign, execute, make_audience, own_platform
from support.webhook_receiver import running_receiver

from telecast_devenv import Infra
from telecast_devenv.platform import Platform

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}
VIEWER_PASSWORD = "a viewer's long passphrase"
TOKEN_TTL = 70


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, console_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    # 10 messages a second: a campaign of a few hundred recipients runs long enough to be
    # paused from the browser, one of twenty ends in a few seconds. Access tokens of 70 s:
    # the console renews them a minute before they lapse, so every 10 s here.
    env = {
        "TELEGRAM_BOT_RATE": "10",
        "TOKEN_TTL_SECONDS": str(TOKEN_TTL),
        # The webhook test's receiver listens on loopback.
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:*",
        "CONSOLE_DIR": str(console_dist),
    }
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    """An administrator's client, signed in for the test (access tokens last 70 s here)."""
    with client(platform) as admin:
        yield admin


@pytest.fixture
def viewer(api: httpx.Client) -> dict[str, str]:
    account = {"email": f"vera.{secrets.token_hex(3)}@telecast.local", "password": VIEWER_PASSWORD}
    answer = api.post("/api/v1/users", json={**account, "name": "Vera Viewer", "role": "viewer"})
    assert answer.status_code == 201, answer.text
    return account


def choose(page: Page, label: str, option: str) -> None:
    """Picks ``option`` in the select labelled ``label``. Element Plus draws its own list,
    in a layer of the page's, which the select names in aria-controls; its placeholder lies
    over the input the label names, so the click goes to the select's frame."""
    select = page.get_by_role("combobox", name=label, exact=True)
    select.locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click()
    options = page.locator(f"#{select.get_attribute('aria-controls')}")
    options.get_by_role("option", name=option, exact=True).click()


def audience(api: httpx.Client, size: int) -> Audience:
    start = 700_000_000 + secrets.randbelow(10_000_000) * 1000
    return make_audience(api, secrets.token_hex(3), list(range(start, start + size)))


def test_an_operator_runs_an_ab_campaign_from_sign_in_to_its_statistics(
    page: Page, api: httpx.Client, screenshot_dir: Path
) -> None:
    group = audience(api, 20)
    sign_in(page, ADMIN)

    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("button", name="New campaign").click()
    page.get_by_label("Name").fill(f"Spring sale {group.batch}")
    choose(page, "Segments (none: every contact)", f"batch {group.batch}")
    # The live count of the chosen segment.
    expect(page.get_by_text("20 reachable contacts")).to_be_visible()
    page.get_by_label("Message text").fill("Hi {{firstName|there}}, spring is here!")
    page.get_by_role("button", name="Add a variation").click()
    page.get_by_label("Variation 1", exact=True).fill("Hello {{firstName|there}}: 20 % off today")
    page.get_by_label("Weight of variation 1 (%)").fill("50")
    page.get_by_label("Start date").fill("2026-01-10T09:30")
    shoot(page, screenshot_dir, "campaign-form")
    page.get_by_role("button", name="Create campaign").click()

    expect(page.get_by_test_id("status")).to_have_text("draft")
    campaign_id = page.url.rsplit("/", 1)[1]
    stored = api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]
    # Entered in the operator's zone (India, UTC+5:30), stored in UTC, shown as entered.
    assert stored["startDate"] == "2026-01-10T04:00:00Z"
    assert [v["weight"] for v in stored["messages"][0]["variations"]] == [50]
    expect(page.get_by_text("10 Jan 2026, 09:30")).to_be_visible()

    page.get_by_role("button", name="Execute").click()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("progress-status")).to_have_text("completed", timeout=SLOW)
    expect(page.get_by_test_id("status")).to_have_text("completed")
    # The period switch asks again: every figure for the last 24 hours.
    page.get_by_text("24 hours", exact=True).click()
    expect(page.get_by_test_id("stat-sent")).to_have_text("20")
    expect(page.get_by_role("heading", name="A/B test")).to_be_visible()
    expect(page.get_by_role("img", name="Funnel")).to_be_visible()
    # A completed campaign offers only what is left to do with it.
    expect(page.get_by_role("button", name="Clone")).to_be_visible()
    for gone in ("Execute", "Pause", "Resume", "Delete", "Edit"):
        expect(page.get_by_role("button", name=gone, exact=True)).to_have_count(0)
    shoot(page, screenshot_dir, "campaign")

    # A bookmarked campaign's address reloads into the console.
    page.reload()
    expect(page.get_by_role("heading", name=re.compile("Spring sale"))).to_be_visible()


def test_the_session_outlives_its_access_token(page: Page, api: httpx.Client) -> None:
    sign_in(page, ADMIN)
    first = page.evaluate("sessionStorage.getItem('telecast.session')")
    # Renewed quietly, before it lapses: the operator sees nothing of it.
    with page.expect_response("**/api/v1/auth/refresh", timeout=TOKEN_TTL * 1000) as renewal:
        pass
    assert renewal.value.status == 200
    assert page.evaluate("sessionStorage.getItem('telecast.session')") != first
    page.get_by_role("link", name="Campaigns").first.click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    # A reload keeps the operator signed in.
    page.reload()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_operator_pauses_and_resumes_a_running_campaign(
    page: Page, api: httpx.Client, screenshot_dir: Path
) -> None:
    group = audience(api, 400)
    campaign_id = create_campaign(api, group, ["Hi {{firstName}}"])
    execute(api, campaign_id)
    sign_in(page, ADMIN)
    # The dashboard shows it running, with its progress live.
    running = page.locator(".running").filter(has_text=f"sending {group.batch}")
    expect(running.get_by_test_id("progress-status")).to_have_text("running")
    shoot(page, screenshot_dir, "dashboard")
    running.get_by_role("link").click()

    expect(page.get_by_test_id("progress-status")).to_have_text("running")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    expect(page.get_by_test_id("progress-status")).to_have_text("paused")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("status")).to_have_text("active")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    api.post(f"/api/v1/campaigns/{campaign_id}/pause")


def test_a_refused_action_says_why_in_words(page: Page, api: httpx.Client, log: BrowserLog) -> None:
    log.expected.add(409)
    campaign_id = create_campaign(api, audience(api, 3), ["Hello"])
    sign_in(page, ADMIN)
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.get_by_role("button", name="Execute")).to_be_visible()
    # Someone else executes it meanwhile: this page still offers Execute, the API refuses.
    execute(api, campaign_id)
    page.get_by_role("button", name="Execute").click()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"active|completed"))


def test_an_operator_clones_a_campaign_and_deletes_the_copy(page: Page, api: httpx.Client) -> None:
    name = f"Summer {secrets.token_hex(2)}"
    created = api.post("/api/v1/campaigns", json={"name": name, "type": "message"})
    sign_in(page, ADMIN)
    page.goto(f"/campaigns/{created.json()['data']['id']}")
    page.get_by_role("button", name="Clone").click()
    expect(page.get_by_role("heading", name=f"{name} (Copy)")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("draft")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("tooltip").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/campaigns$"))
    page.get_by_label("Search").fill(name)
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"{name} (Copy)")).to_have_count(0)


def test_the_list_keeps_its_filters_in_the_address(page: Page, api: httpx.Client) -> None:
    word = f"zebra{secrets.token_hex(2)}"
    for name in (f"{word} one", f"{word} two"):
        assert api.post("/api/v1/campaigns", json={"name": name, "type": "message"}).is_success
    sign_in(page, ADMIN)
    page.goto("/campaigns")
    page.get_by_label("Search").fill(word)
    expect(page).to_have_url(re.compile(f"search={word}"))
    expect(page.get_by_role("link", name=re.compile(word))).to_have_count(2)
    choose(page, "Sort", "Name, Z to A")
    expect(page).to_have_url(re.compile("sort=-name"))
    expect(page.get_by_role("link", name=re.compile(word)).first).to_have_text(f"{word} two")
    choose(page, "Status", "completed")
    expect(page.get_by_text("No campaigns match")).to_be_visible()

    page.reload()
    expect(page.get_by_label("Search")).to_have_value(word)
    expect(page.get_by_text("No campaigns match")).to_be_visible()
    page.goto(f"/campaigns?search={word}&sort=name")
    expect(page.get_by_role("link", name=re.compile(word)).first).to_have_text(f"{word} one")


def test_an_edit_that_lost_a_race_says_so_and_offers_to_reload(
    page: Page, api: httpx.Client, log: BrowserLog, screenshot_dir: Path
) -> None:
    log.expected.add(412)
    created = api.post("/api/v1/campaigns", json={"name": "Autumn", "type": "message"})
    campaign_id = created.json()["data"]["id"]
    sign_in(page, ADMIN)
    page.goto(f"/campaigns/{campaign_id}/edit")
    expect(page.get_by_label("Name")).to_have_value("Autumn")
    assert api.put(f"/api/v1/campaigns/{campaign_id}", json={"name": "Autumn 2"}).is_success

    page.get_by_label("Name").fill("Autumn (mine)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Someone changed this campaign")).to_be_visible()
    page.get_by_role("button", name="Reload the campaign").click()
    expect(page.get_by_label("Name")).to_have_value("Autumn 2")
    page.get_by_label("Name").fill("Autumn (mine)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name=re.compile(r"Autumn \(mine\)"))).to_be_visible()
    page.goto("/campaigns")
    shoot(page, screenshot_dir, "campaigns")


def test_an_operator_imports_contacts_and_sees_the_rows_refused(
    page: Page, screenshot_dir: Path
) -> None:
    first = 800_000_000 + secrets.randbelow(10_000_000) * 10
    rows = (
        "telegramId,chatType,firstName,location\n"
        f"{first},private,Quentin,FR\n"
        f"{first + 1},private,Rosalind,France\n"
        f"{first + 2},private,Quirinus,DE\n"
    )
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("File to import").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.get_by_test_id("import-report")
    expect(report).to_contain_text("2 created, 0 updated, 1 rejected")
    # The refused row, by its line in the file (the header is line 1).
    refused = report.get_by_role("row").filter(has_text="location")
    expect(refused.get_by_role("cell").first).to_have_text("3")

    page.get_by_label("Search contacts").fill("Qu")
    expect(page).to_have_url(re.compile("search=Qu"))
    quentin = page.get_by_role("row").filter(has_text=str(first))
    expect(quentin).to_contain_text("receives")
    shoot(page, screenshot_dir, "contacts")
    quentin.get_by_role("button", name="Opt out").click()
    expect(quentin).to_contain_text("opted out")
    quentin.get_by_role("button", name="Opt in").click()
    expect(quentin).to_contain_text("receives")


def test_an_operator_builds_a_segment_seeing_whom_it_reaches(
    page: Page, api: httpx.Client, screenshot_dir: Path
) -> None:
    group = audience(api, 7)
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("button", name="New segment").click()
    page.get_by_label("Name").fill(f"Batch {group.batch} in France")
    choose(page, "Field of condition 1", "Attribute…")
    page.get_by_label("Attribute of condition 1").fill("batch")
    page.get_by_label("Value of condition 1").fill(f"batch-{group.batch}")
    count = page.get_by_test_id("segment-count")
    expect(count).to_contain_text("7 reachable contacts")
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Value of condition 2").fill("FR")
    # Nobody of the batch lives in France (no location): all of the conditions reach none…
    expect(count).to_contain_text("0 reachable contacts")
    # …any of them reaches the batch again (and whoever else lives in France).
    choose(page, "Match", "any of")
    expect(count).not_to_contain_text(re.compile(r"^0 reachable"))
    choose(page, "Match", "all of")
    expect(count).to_contain_text("0 reachable contacts")
    shoot(page, screenshot_dir, "segment")
    page.get_by_role("button", name="Create segment").click()

    expect(page).to_have_url(re.compile(r"/segments/[0-9a-f-]{36}$"))
    page.reload()
    expect(page.get_by_label("Value of condition 1")).to_have_value(f"batch-{group.batch}")
    expect(page.get_by_label("Value of condition 2")).to_have_value("FR")
    expect(count).to_contain_text("0 reachable contacts")


def test_an_operator_writes_a_template_and_previews_it(page: Page, screenshot_dir: Path) -> None:
    name = f"Welcome {secrets.token_hex(2)}"
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Text").fill("Hi {{firstName|there}}, welcome from {{location|afar}}!")
    page.get_by_role("button", name="Create template").click()
    preview = page.get_by_test_id("template-preview")
    expect(preview).to_have_text("Hi Ann, welcome from afar!")
    page.get_by_label("Sample first name").fill("Bea")
    page.get_by_label("Sample country").fill("FR")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_have_text("Hi Bea, welcome from FR!")
    shoot(page, screenshot_dir, "template")

    page.get_by_label("Text").fill("Hello {{firstName|there}}.")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_label("Sample first name").fill("")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_have_text("Hello there.")

    # A campaign's message can be the template.
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("button", name="New campaign").click()
    page.get_by_label("Name").fill("Welcome wave")
    choose(page, "Template (none: the text below)", name)
    expect(page.get_by_label("Message text")).to_have_count(0)
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_test_id("status")).to_have_text("draft")
    expect(page.get_by_text(f"template “{name}”")).to_be_visible()


def test_an_operator_subscribes_a_webhook_and_follows_its_deliveries(
    page: Page, screenshot_dir: Path
) -> None:
    with running_receiver() as receiver:
        sign_in(page, ADMIN)
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("button", name="New webhook").click()
        page.get_by_label("Address").fill(receiver.url("console"))
        page.get_by_label("Description").fill("Our CRM")
        page.get_by_role("button", name="Create webhook").click()
        # The secret, once: the operator copies it before going on.
        expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(
            re.compile(r"\S{20,}")
        )
        page.get_by_role("button", name="I have copied it").click()
        expect(page).to_have_url(re.compile(r"/webhooks/[0-9a-f-]{36}$"))

        page.get_by_role("button", name="Send a test event").click()
        # The log is read again while a delivery is pending: it shows the outcome by itself.
        test_row = page.get_by_role("row").filter(has_text="webhook.test")
        expect(test_row).to_contain_text("succeeded")
        expect(test_row).to_contain_text("200")
        assert [r.event_type for r in receiver.at("console")] == ["webhook.test"]
        shoot(page, screenshot_dir, "webhook")
        test_row.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_text("Delivered again")).to_be_visible()
        wait_until(lambda: len(receiver.at("console")) == 2, what="the redelivery")
        page.get_by_role("button", name="Delete").click()
        page.get_by_role("tooltip").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(re.compile(r"/webhooks$"))
        expect(page.get_by_text("No webhooks yet")).to_be_visible()


def test_an_administrator_manages_operators(page: Page, screenshot_dir: Path) -> None:
    email = f"mina.{secrets.token_hex(3)}@telecast.local"
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Operators").click()
    page.get_by_role("button", name="Add an operator").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Mina Manager")
    page.get_by_label("Password (10 characters or more)").fill("a long and unusual passphrase")
    choose(page, "Role", "Manager")
    page.get_by_role("button", name="Add", exact=True).click()
    mina = page.get_by_role("row").filter(has_text=email)
    expect(mina).to_contain_text("active")
    expect(mina).to_contain_text("Manager")

    choose(page, f"Role of {email}", "Viewer")
    expect(page.get_by_text(f"{email} is now viewer")).to_be_visible()
    mina.get_by_role("button", name="Disable").click()
    expect(mina).to_contain_text("disabled")
    shoot(page, screenshot_dir, "operators")
    # The administrator's own row offers nothing that would lock them out.
    me = page.get_by_role("row").filter(has_text=ADMIN["email"])
    expect(me.get_by_role("button")).to_have_count(0)
    expect(me.get_by_role("combobox")).to_be_disabled()


def test_a_viewer_sees_no_control_it_may_not_use(
    page: Page, api: httpx.Client, viewer: dict[str, Any], screenshot_dir: Path
) -> None:
    campaign_id = create_campaign(api, audience(api, 3), ["Hello"])
    sign_in(page, viewer)
    expect(page.get_by_text("viewer", exact=True)).to_be_visible()
    page.goto("/campaigns")
    expect(page.get_by_role("link", name=re.compile("sending"))).not_to_have_count(0)
    expect(page.get_by_role("button", name="New campaign")).to_have_count(0)
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.get_by_test_id("status")).to_have_text("draft")
    for control in ("Execute", "Pause", "Resume", "Edit", "Clone", "Delete"):
        expect(page.get_by_role("button", name=control, exact=True)).to_have_count(0)
    # An address typed in leads nowhere that writes.
    page.goto("/campaigns/new")
    expect(page).to_have_url(re.compile(r"/campaigns$"))
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.get_by_role("heading", name="Import")).to_have_count(0)
    expect(page.get_by_role("button", name="Opt out")).to_have_count(0)
    page.get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    expect(page.get_by_role("button", name="New segment")).to_have_count(0)
    page.get_by_role("link", name=re.compile("batch")).first.click()
    expect(page.get_by_test_id("segment-count")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    for control in ("Save changes", "Delete", "Add a condition"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    # Webhooks' addresses and logs are internal: not a viewer's either.
    expect(page.get_by_role("link", name="Webhooks")).to_have_count(0)
    # Operators are the administrators' alone: not in the navigation, not at their address.
    expect(page.get_by_role("link", name="Operators")).to_have_count(0)
    page.goto("/operators")
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    shoot(page, screenshot_dir, "sign-in")
    page.goto(f"/campaigns/{campaign_id}")
    expect(page).to_have_url(re.compile(r"/login"))
