"""Where the API used to differ from the spec, through HTTP on a platform that sends: PUT as a
JSON Merge Patch, a message's personalization, the audience size a list row carries, and a
clone that keeps its source's statistics as a baseline."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from support.sending import (
    create_campaign,
    execute,
    make_audience,
    own_platform,
    simulator_messages,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform

# The spec's create body, with a segment that does not need to exist until it is executed.
BLACK_FRIDAY = {
    "name": "Black Friday Campaign",
    "description": "Massive discounts for Black Friday",
    "type": "message",
    "goals": {"targetAudience": 20000, "conversionRate": 10, "revenue": 100000},
    "targetAudience": {
        "segments": ["seg789"],
        "filters": {"location": ["US"], "purchaseHistory": True},
    },
    "messages": [
        {
            "content": "Hi {{firstName|there}}, last order {{lastPurchase|none}}",
            "personalization": {"enabled": True, "fields": ["firstName", "lastPurchase"]},
        }
    ],
    "budget": 10000,
    "startDate": "2030-11-24T00:00:00Z",
    "endDate": "2030-11-30T23:59:59Z",
}


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {"TELEGRAM_BOT_RATE": "0", "TELEGRAM_SIM_ACCOUNT_RATE": "0"}
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


def _created(answer: httpx.Response) -> str:
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _refused(answer: httpx.Response, status: int = 400) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    return body["error"]


def _list_item(api: httpx.Client, campaign_id: str, name: str) -> dict:
    page = api.get("/api/v1/campaigns", params={"search": name, "limit": 100}).json()["data"]
    [item] = [c for c in page["campaigns"] if c["id"] == campaign_id]
    return item


# PUT: JSON Merge Patch --------------------------------------------------------------------


def test_the_specs_update_keeps_the_revenue_it_does_not_send(api: httpx.Client) -> None:
    cid = _created(api.post("/api/v1/campaigns", json=BLACK_FRIDAY))
    update = {
        "name": "Updated Campaign Name",
        "description": "Updated description",
        "goals": {"targetAudience": 25000, "conversionRate": 12},
    }
    answer = api.put(f"/api/v1/campaigns/{cid}", json=update)
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == '"2"'
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert detail["goals"] == {"targetAudience": 25000, "conversionRate": 12, "revenue": 100000}
    assert detail["targetAudience"]["filters"] == {"location": ["US"], "purchaseHistory": True}
    assert detail["name"] == "Updated Campaign Name"


def test_null_removes_objects_merge_and_lists_replace(api: httpx.Client) -> None:
    cid = _created(api.post("/api/v1/campaigns", json=BLACK_FRIDAY))
    answer = api.put(
        f"/api/v1/campaigns/{cid}",
        json={
            "description": None,
            "budget": None,
            "goals": {"revenue": None},
            "targetAudience": {"segments": ["seg1", "seg2"], "filters": {"location": None}},
        },
        headers={"If-Match": '"1"'},
    )
    assert answer.status_code == 200, answer.text
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert "description" not in detail and "budget" not in detail
    assert detail["goals"] == {"targetAudience": 20000, "conversionRate": 10}
    assert detail["targetAudience"]["segments"] == ["seg1", "seg2"]
    assert detail["targetAudience"]["filters"] == {"purchaseHistory": True}
    item = _list_item(api, cid, "Black Friday")
    assert "description" not in item and item["goals"] == detail["goals"]
    # The ETag rules are unchanged: a stale version changes nothing.
    stale = api.put(f"/api/v1/campaigns/{cid}", json={"budget": 5}, headers={"If-Match": '"1"'})
    assert _refused(stale, 412)["code"] == "PRECONDITION_FAILED"


def test_what_a_campaign_cannot_be_without_cannot_be_null(api: httpx.Client) -> None:
    cid = _created(api.post("/api/v1/campaigns", json=BLACK_FRIDAY))
    for body in ({"name": None}, {"type": None}, {"status": None}):
        error = _refused(api.put(f"/api/v1/campaigns/{cid}", json=body))
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == next(iter(body))
    # An invitation patch on a campaign that has none lacks the chat it needs: a valid patch
    # of a campaign that has one, so a conflict with this one (409).
    error = _refused(
        api.put(f"/api/v1/campaigns/{cid}", json={"invitation": {"expireHours": 5}}), 409
    )
    assert error["code"] == "CONFLICTS_WITH_CAMPAIGN"
    assert error["details"][0]["field"] == "invitation.chatId"
    assert api.get(f"/api/v1/campaigns/{cid}").headers["ETag"] == '"1"'


# Personalization --------------------------------------------------------------------------


def test_a_placeholder_outside_the_fields_is_refused_naming_it(api: httpx.Client) -> None:
    body = {
        **BLACK_FRIDAY,
        "messages": [
            {
                "content": "Hi {{firstName|there}} {{lastName|}}",
                "personalization": {"enabled": True, "fields": ["firstName"]},
            }
        ],
    }
    error = _refused(api.post("/api/v1/campaigns", json=body))
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "messages[0].content"
    assert error["details"][0]["placeholder"] == "lastName"
    assert "{{lastName}}" in error["message"]

    # The same through an update, and through the template a message names.
    cid = _created(api.post("/api/v1/campaigns", json=BLACK_FRIDAY))
    error = _refused(api.put(f"/api/v1/campaigns/{cid}", json={"messages": body["messages"]}))
    assert error["details"][0]["placeholder"] == "lastName"
    template = api.post(
        "/api/v1/templates", json={"name": "age", "content": "You are {{age|ageless}}"}
    )
    assert template.status_code == 201, template.text
    message = {
        "templateId": template.json()["data"]["id"],
        "personalization": {"enabled": True, "fields": ["firstName"]},
    }
    error = _refused(api.put(f"/api/v1/campaigns/{cid}", json={"messages": [message]}))
    assert error["details"][0]["field"] == "messages[0].templateId"
    assert error["details"][0]["placeholder"] == "age"


def test_disabled_personalization_sends_the_fallbacks(
    platform: Platform, api: httpx.Client
) -> None:
    audience = make_audience(api, f"plain-{secrets.token_hex(3)}", [31_000_001, 31_000_002])
    personal = "Hi {{firstName|there}}!"
    cid = create_campaign(api, audience, [personal])
    off = {"content": personal, "personalization": {"enabled": False}}
    answer = api.put(f"/api/v1/campaigns/{cid}", json={"messages": [off]})
    assert answer.status_code == 200, answer.text

    preview = api.post(f"/api/v1/campaigns/{cid}/preview", json={"contact": {"firstName": "Jo"}})
    assert preview.status_code == 200, preview.text
    assert preview.json()["data"]["messages"][0]["text"] == "Hi there!"

    execution_id = execute(api, cid)
    wait_status(api, cid, "completed", timeout=60)
    texts = [m["text"] for m in simulator_messages(platform.database_url, execution_id)]
    assert texts == ["Hi there!", "Hi there!"]

    # Enabled, the same text uses the recipients' names (as without personalization).
    on = create_campaign(api, audience, [personal])
    api.put(
        f"/api/v1/campaigns/{on}",
        json={"messages": [{**off, "personalization": {"enabled": True}}]},
    )
    execution_id = execute(api, on)
    wait_status(api, on, "completed", timeout=60)
    texts = sorted(m["text"] for m in simulator_messages(platform.database_url, execution_id))
    assert texts == sorted(f"Hi {name}!" for name in audience.first_names.values())


# The audience size a list row carries -----------------------------------------------------


def test_a_list_row_carries_the_count_of_the_last_save_or_execute(api: httpx.Client) -> None:
    batch = f"count-{secrets.token_hex(3)}"
    audience = make_audience(api, batch, list(range(32_000_000, 32_000_005)))
    before = datetime.now(UTC).replace(microsecond=0)
    cid = create_campaign(api, audience, ["Hello"])
    item = _list_item(api, cid, "sending")
    assert item["targetAudience"]["totalCount"] == 5
    counted_at = datetime.fromisoformat(item["targetAudience"]["countedAt"])
    assert counted_at >= before

    # Three more contacts: the row keeps its count (no count per list row) until a save.
    make_audience(api, batch, list(range(32_000_000, 32_000_008)))
    assert _list_item(api, cid, "sending")["targetAudience"]["totalCount"] == 5
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert detail["targetAudience"]["totalCount"] == 8  # the detail counts now
    assert "countedAt" not in detail["targetAudience"]
    assert api.put(f"/api/v1/campaigns/{cid}", json={"name": "sending recount"}).is_success
    recounted = _list_item(api, cid, "sending")["targetAudience"]
    assert recounted["totalCount"] == 8
    assert datetime.fromisoformat(recounted["countedAt"]) >= counted_at

    # Executed on a sample: the row shows the execution's audience, counted at its start.
    api.post(f"/api/v1/campaigns/{cid}/execute", json={"targetPercentage": 1, "testMode": True})
    started = _list_item(api, cid, "sending")["targetAudience"]
    assert started["totalCount"] == 0  # none of these contacts is a test recipient


# Clone and resetStatistics ---------------------------------------------------------------


def test_a_clone_without_reset_carries_its_sources_statistics(api: httpx.Client) -> None:
    audience = make_audience(api, f"stats-{secrets.token_hex(3)}", [33_000_001, 33_000_002])
    source = create_campaign(api, audience, ["One"], name="Stats source")
    execute(api, source)
    wait_status(api, source, "completed", timeout=60)
    own = api.get(f"/api/v1/campaigns/{source}/statistics").json()["data"]
    assert own["overview"]["messagesSent"] == 2

    kept = _created(api.post(f"/api/v1/campaigns/{source}/clone", json={"resetStatistics": False}))
    reset = _created(api.post(f"/api/v1/campaigns/{source}/clone"))

    statistics = api.get(f"/api/v1/campaigns/{kept}/statistics").json()["data"]
    baseline = statistics["baseline"]
    assert baseline["campaignId"] == source
    assert baseline["overview"] == own["overview"]
    assert baseline["performance"] == own["performance"]
    assert statistics["overview"]["messagesSent"] == 0  # its own figures start from zero
    item = _list_item(api, kept, "Stats source")
    assert item["statistics"]["messagesSent"] == 0
    assert item["statistics"]["baseline"]["messagesSent"] == 2
    assert item["statistics"]["baseline"]["campaignId"] == source
    assert "countedAt" in item["statistics"]["baseline"]

    assert "baseline" not in api.get(f"/api/v1/campaigns/{reset}/statistics").json()["data"]
    assert "baseline" not in _list_item(api, reset, "Stats source")["statistics"]
