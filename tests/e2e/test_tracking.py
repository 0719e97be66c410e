"""Tracking end to end: a campaign whose template has a URL button and a link is sent through
the platform with tracked links; following a link from the simulator's record redirects to
the original URL and records a click; a conversion is attributed to the recipient's
execution; reads and clicks the simulator reports are recorded; every interaction is on the
delivery stream exactly once, even when the same click id is reported twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from support import signed
from support.inspect import wait_until
from support.sending import (
    execute,
    make_audience,
    own_platform,
    simulator_messages,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.deliveries import InteractionEvent
from telecast_libs.contracts.tracking import RecordClick
from telecast_libs.subjects import subjects_for
from telecast_libs.tracking import DEV_TRACKING_SECRET, TrackedLink, sign, token_of, verify

SHOP = "https://shop.example.com/black-friday?utm_source=telegram&b=2"
TERMS = "https://shop.example.com/terms"
RECIPIENTS = list(range(20_300_000, 20_300_006))
# A signed link of one delivery that the message does not hold (so the simulator never
# follows it): test_a_link_followed_again_by_the_same_client_is_one_click.
ONLY_HERE = "https://shop.example/only-here"


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
        # Every accepted message is read, and its first URL button clicked.
        "TELEGRAM_SIM_READ_RATE": "1",
        "TELEGRAM_SIM_CLICK_RATE": "1",
    }
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


async def _interactions(platform: Platform) -> list[tuple[InteractionEvent, str]]:
    """Every interaction event on the delivery stream, with its Nats-Msg-Id."""
    subjects = subjects_for(platform.namespace)
    nc = await nats.connect(platform.nats_url)
    try:
        found = []
        for kind in ("read", "clicked", "converted"):
            subscription = await nc.jetstream().pull_subscribe(
                subjects.event(f"delivery.{kind}"),
                durable=None,
                stream=subjects.delivery_events_stream,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
            )
            while (info := await subscription.consumer_info()).num_pending:
                for message in await subscription.fetch(info.num_pending, timeout=5):
                    found.append(
                        (decode(message.data, InteractionEvent), message.headers["Nats-Msg-Id"])
                    )
            await subscription.unsubscribe()
        return found
    finally:
        await nc.close()


def interactions(platform: Platform, campaign_id: str) -> list[InteractionEvent]:
    found = asyncio.run(_interactions(platform))
    for event, message_id in found:
        assert message_id == event.id
    events = [event for event, _ in found if event.campaign_id == campaign_id]
    ids = [event.id for event in events]
    assert len(ids) == len(set(ids)), "an interaction is on the stream twice"
    return events


def report_click(platform: Platform, click: RecordClick) -> dict[str, Any]:
    """As the gateway does it, straight over NATS."""

    async def ask() -> dict[str, Any]:
        nc = await nats.connect(platform.nats_url)
        try:
            subjects = subjects_for(platform.namespace)
            answer = await signed.request(
                nc, subjects.tracking_command("tracking.click"), encode(click)
            )
            return decode(answer.data, dict)
        finally:
            await nc.close()

    return asyncio.run(ask())


@pytest.fixture(scope="module")
def sent(platform: Platform, api: httpx.Client) -> dict[str, Any]:
    """A campaign with a URL button and a link, sent to RECIPIENTS."""
    audience = make_audience(api, "tracking", RECIPIENTS)
    template = api.post(
        "/api/v1/templates",
        json={
            "name": "Black Friday with a button",
            "content": f'Hi {{{{firstName}}}}! <b>-30%</b> <a href="{TERMS}">terms</a>',
            "parseMode": "html",
            "buttons": [[{"text": "Shop now", "url": SHOP}]],
        },
    )
    assert template.status_code == 201, template.text
    campaign = api.post(
        "/api/v1/campaigns",
        json={
            "name": "tracking",
            "type": "message",
            "targetAudience": {"segments": [audience.segment_id]},
            "messages": [{"templateId": template.json()["data"]["id"]}],
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["data"]["id"]
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "completed", timeout=60)
    messages = simulator_messages(platform.database_url, execution_id)
    assert len(messages) == len(RECIPIENTS)
    return {"campaign_id": campaign_id, "execution_id": execution_id, "messages": messages}


def test_links_and_buttons_are_sent_tracked(platform: Platform, sent: dict[str, Any]) -> None:
    for message in sent["messages"]:
        [[button]] = message["buttons"]
        assert button["url"].startswith(f"{platform.base_url}/r/"), button
        link = verify(DEV_TRACKING_SECRET, token_of(button["url"], platform.base_url) or "")
        assert link.url == SHOP
        assert link.execution_id == sent["execution_id"]
        assert message["reference"] == f"{link.execution_id}:{link.contact_id}:{link.message_id}"
        assert f'href="{platform.base_url}/r/' in message["text"]
        assert TERMS not in message["text"] and "terms</a>" in message["text"]


def test_following_a_tracked_link_redirects_and_records_a_click(
    platform: Platform, sent: dict[str, Any]
) -> None:
    message = sent["messages"][0]
    url = message["buttons"][0][0]["url"]
    for _ in range(2):
        answer = httpx.get(url, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == SHOP
    # A link-preview robot is redirected but not counted.
    robot = httpx.get(
        url, follow_redirects=False, headers={"User-Agent": "TelegramBot (like TwitterBot)"}
    )
    assert robot.status_code == 302

    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    for bad in (tampered, f"{platform.base_url}/r/not-a-token"):
        answer = httpx.get(bad, follow_redirects=False)
        assert answer.status_code == 404, answer.text
        body = answer.json()
        assert body["success"] is False and body["error"]["code"] == "LINK_NOT_FOUND"

    link = verify(DEV_TRACKING_SECRET, token_of(url, platform.base_url) or "")
    wait_until(
        lambda: any(
            e.type == "delivery.clicked" and e.contact_id == link.contact_id and e.correlation_id
            for e in interactions(platform, sent["campaign_id"])
        ),
        timeout=20,
        what="the click followed through HTTP",
    )


def test_a_link_followed_again_by_the_same_client_is_one_click(
    platform: Platform, sent: dict[str, Any]
) -> None:
    message = sent["messages"][3]
    link = verify(
        DEV_TRACKING_SECRET, token_of(message["buttons"][0][0]["url"], platform.base_url) or ""
    )
    # A link of the same delivery to a page of its own, which the simulator never clicks.
    other = ONLY_HERE
    token = sign(
        DEV_TRACKING_SECRET, TrackedLink(link.execution_id, link.contact_id, link.message_id, other)
    )
    for agent in ("Browser A", "Browser A", "Browser B", "Browser A"):
        answer = httpx.get(
            f"{platform.base_url}/r/{token}", follow_redirects=False, headers={"User-Agent": agent}
        )
        assert answer.status_code == 302 and answer.headers["location"] == other

    def clicks() -> int:
        return sum(
            1
            for e in interactions(platform, sent["campaign_id"])
            if e.type == "delivery.clicked" and e.url == other
        )

    wait_until(lambda: clicks() >= 2, timeout=20, what="the two clients' clicks")
    time.sleep(1)
    assert clicks() == 2  # one per client: following again does not inflate the statistics


def test_a_signed_link_to_anything_but_a_web_address_is_refused(platform: Platform) -> None:
    execution, contact = str(uuid.uuid4()), str(uuid.uuid4())
    for target in ("javascript:alert(1)", "/api/v1/users", "data:text/html,x", "ftp://x.org/"):
        token = sign(DEV_TRACKING_SECRET, TrackedLink(execution, contact, "m1", target))
        answer = httpx.get(f"{platform.base_url}/r/{token}", follow_redirects=False)
        assert answer.status_code == 404, (target, answer.text)
        assert answer.json()["error"]["code"] == "LINK_NOT_FOUND"


def test_the_same_click_id_twice_is_one_event(platform: Platform, sent: dict[str, Any]) -> None:
    message = sent["messages"][1]
    link = verify(
        DEV_TRACKING_SECRET, token_of(message["buttons"][0][0]["url"], platform.base_url) or ""
    )
    click = RecordClick(
        click_id=str(uuid.uuid4()),
        execution_id=link.execution_id,
        contact_id=link.contact_id,
        message_id=link.message_id,
        url=link.url,
        occurred_at=datetime.now(UTC),
    )
    first, second = report_click(platform, click), report_click(platform, click)
    assert first["ok"] and second["ok"], (first, second)
    assert first["data"]["id"] == second["data"]["id"]
    assert first["data"]["recorded"] and not second["data"].get("recorded", False)
    wait_until(
        lambda: any(
            e.id == first["data"]["id"] for e in interactions(platform, sent["campaign_id"])
        ),
        timeout=20,
        what="the click's event",
    )
    events = [e for e in interactions(platform, sent["campaign_id"]) if e.id == first["data"]["id"]]
    assert len(events) == 1 and events[0].type == "delivery.clicked"


def test_simulated_reads_and_clicks_are_recorded_per_delivery(
    platform: Platform, sent: dict[str, Any]
) -> None:
    contacts = {m["reference"].split(":")[1] for m in sent["messages"]}

    def who(kind: str) -> set[str]:
        return {e.contact_id for e in interactions(platform, sent["campaign_id"]) if e.type == kind}

    # The simulator reads each message within 0.5 s and clicks its button within 1 s.
    wait_until(
        lambda: who("delivery.read") == contacts and who("delivery.clicked") == contacts,
        timeout=30,
        what="a read and a click of every message",
    )
    events = interactions(platform, sent["campaign_id"])
    reads = [e for e in events if e.type == "delivery.read"]
    assert len(reads) == len(contacts) and all(e.first for e in reads)
    every_click = [e for e in events if e.type == "delivery.clicked"]
    clicks = [e for e in every_click if e.url != ONLY_HERE]
    assert {e.contact_id for e in clicks} == contacts
    assert all(e.url == SHOP and e.message_id == "msg1" for e in clicks)
    # Unique clickers: one first click per recipient, whatever the number of clicks (on
    # whichever of their links).
    assert sorted(e.contact_id for e in every_click if e.first) == sorted(contacts)


def test_a_conversion_is_recorded_once_and_attributed(
    platform: Platform, api: httpx.Client, sent: dict[str, Any]
) -> None:
    campaign_id = sent["campaign_id"]
    message = sent["messages"][2]
    contact_id = message["reference"].split(":")[1]
    body = {"contactId": contact_id, "revenue": 12.5, "conversionId": "order-123"}
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/conversions", json=body)
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    assert data["executionId"] == sent["execution_id"] and data["contactId"] == contact_id
    assert data["arms"] == [{"messageId": "msg1"}] and data["first"] and data["recorded"]
    assert data["telegramId"] == message["chat_id"] and data["revenue"] == 12.5

    again = api.post(f"/api/v1/campaigns/{campaign_id}/conversions", json=body)
    assert again.status_code == 201 and again.json()["data"]["id"] == data["id"]
    assert again.json()["data"]["recorded"] is False

    by_telegram = api.post(
        f"/api/v1/campaigns/{campaign_id}/conversions",
        json={"telegramId": message["chat_id"], "revenue": 3},
        headers={"Idempotency-Key": f"conv-{uuid.uuid4()}"},
    )
    assert by_telegram.status_code == 201, by_telegram.text
    assert by_telegram.json()["data"]["first"] is False

    for refused, status, code in (
        ({"telegramId": 1, "revenue": 1}, 404, "RECIPIENT_NOT_FOUND"),
        ({"contactId": str(uuid.uuid4())}, 404, "RECIPIENT_NOT_FOUND"),
        ({"revenue": 1}, 400, "VALIDATION_ERROR"),
        ({"contactId": contact_id, "telegramId": 1}, 400, "VALIDATION_ERROR"),
        ({"contactId": contact_id, "revenue": -1}, 400, "VALIDATION_ERROR"),
    ):
        answer = api.post(f"/api/v1/campaigns/{campaign_id}/conversions", json=refused)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code

    wait_until(
        lambda: (
            len([e for e in interactions(platform, campaign_id) if e.type == "delivery.converted"])
            == 2
        ),
        timeout=20,
        what="the conversions' events",
    )
    [event] = [e for e in interactions(platform, campaign_id) if e.id == data["id"]]
    assert event.type == "delivery.converted" and event.conversion_id == "order-123"
    assert [(a.message_id, a.variation_id) for a in event.arms] == [("msg1", None)]
    assert event.first and event.revenue == 12.5
