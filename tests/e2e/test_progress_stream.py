"""GET /api/v1/campaigns/{id}/progress/stream: Server-Sent Events of a campaign executed
against the simulator, until the final ``completed``; 404 before the stream; the token in
``access_token`` on this endpoint only."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from support.sending import create_campaign, execute, make_audience, own_platform

from telecast_cli.sse import Event, parse_events
from telecast_devenv import Infra
from telecast_devenv.platform import Platform


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform that sends (the shared e2e one holds sending): its own database and
    namespace."""
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("logs"), {}
    ) as running:
        yield running


def _events(base_url: str, campaign_id: str, **request: object) -> list[Event]:
    """Every event of one stream, read until the server ends it."""
    with httpx.stream(
        "GET",
        f"{base_url}/api/v1/campaigns/{campaign_id}/progress/stream",
        timeout=httpx.Timeout(10, read=30),
        **request,  # type: ignore[arg-type]
    ) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        # Heartbeats (every 15 s) keep the reads alive: the deadline is what ends a stall.
        deadline = time.monotonic() + 90
        lines = []
        for line in answer.iter_lines():
            assert time.monotonic() < deadline, f"the stream did not end: {lines[-6:]}"
            lines.append(line)
        return list(parse_events(lines))


def test_a_stream_sends_the_progress_until_the_execution_completes(
    platform: Platform, api: httpx.Client
) -> None:
    start = random.randrange(10**9, 2 * 10**9)
    audience = make_audience(api, uuid.uuid4().hex[:8], list(range(start, start + 60)))
    campaign_id = create_campaign(api, audience, ["Hello {{firstName}}"])
    execute(api, campaign_id)

    events = _events(platform.base_url, campaign_id, headers=api.headers)

    assert events, "no event"
    assert {event.event for event in events} == {"progress"}
    ids = [int(event.id or 0) for event in events]
    assert ids == sorted(set(ids)) and ids[0] == 1
    bodies = [json.loads(event.data) for event in events]
    assert bodies[-1]["status"] == "completed"
    assert all(body["status"] != "completed" for body in bodies[:-1])
    # Each event is what GET …/progress answers.
    now = api.get(f"/api/v1/campaigns/{campaign_id}/progress").json()["data"]
    assert bodies[-1] == now
    assert set(bodies[0]) >= {"status", "progress", "currentRate", "errors"}


def test_a_finished_campaign_streams_one_event_and_ends(
    platform: Platform, api: httpx.Client
) -> None:
    created = api.post("/api/v1/campaigns", json={"name": "Stream cancelled", "type": "message"})
    campaign_id = created.json()["data"]["id"]
    assert api.put(f"/api/v1/campaigns/{campaign_id}", json={"status": "cancelled"}).is_success

    [event] = _events(platform.base_url, campaign_id, headers=api.headers)

    assert event.event == "progress" and event.id == "1"
    assert json.loads(event.data)["status"] == "cancelled"


def test_an_unknown_campaign_is_404_in_the_envelope_before_the_stream(
    platform: Platform, api: httpx.Client
) -> None:
    answer = api.get(f"/api/v1/campaigns/{uuid.uuid4()}/progress/stream")

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"


def test_the_token_may_come_as_access_token_on_the_stream_only(
    platform: Platform, api: httpx.Client
) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    created = api.post("/api/v1/campaigns", json={"name": "Stream by query", "type": "message"})
    campaign_id = created.json()["data"]["id"]
    assert api.put(f"/api/v1/campaigns/{campaign_id}", json={"status": "cancelled"}).is_success

    [event] = _events(platform.base_url, campaign_id, params={"access_token": token})
    assert json.loads(event.data)["status"] == "cancelled"

    elsewhere = httpx.get(
        f"{platform.base_url}/api/v1/campaigns/{campaign_id}/progress",
        params={"access_token": token},
    )
    assert elsewhere.status_code == 401
    refused = httpx.get(
        f"{platform.base_url}/api/v1/campaigns/{campaign_id}/progress/stream",
        params={"access_token": "not-a-token"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHORIZED"
