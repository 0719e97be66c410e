"""The campaign lifecycle through HTTP: execute, schedule, pause, resume, complete, cancel,
clone, statistics and progress, and the events each one publishes."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import nats
import pytest
from support import signed
from support.inspect import stream_messages, wait_until

from telecast_devenv.platform import Platform
from telecast_libs.command_signing import DISPATCHER
from telecast_libs.subjects import subjects_for


def _create(api: httpx.Client, **fields: object) -> str:
    answer = api.post("/api/v1/campaigns", json={"name": "Lifecycle", "type": "message", **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _status(api: httpx.Client, campaign_id: str) -> str:
    return api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]["status"]


def _refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    return error


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_execute_pause_resume_complete(platform: Platform, api: httpx.Client) -> None:
    cid = _create(api)
    executed = api.post(
        f"/api/v1/campaigns/{cid}/execute",
        json={"testMode": True, "targetPercentage": 40, "priority": "high"},
    )
    assert executed.status_code == 200, executed.text
    body = executed.json()["data"]
    assert body["status"] == "started"
    assert body["message"] == "Campaign execution started"
    assert body["executionId"]
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert detail["status"] == "active"
    assert detail["execution"]["executionId"] == body["executionId"]
    assert detail["execution"]["testMode"] is True
    assert detail["execution"]["targetPercentage"] == 40
    assert detail["execution"]["priority"] == "high"
    assert detail["execution"]["late"] is False

    error = _refused(api.post(f"/api/v1/campaigns/{cid}/execute"), 409, "INVALID_STATE_TRANSITION")
    assert "active" in error["message"]
    _refused(api.post(f"/api/v1/campaigns/{cid}/resume"), 409, "INVALID_STATE_TRANSITION")

    paused = api.post(f"/api/v1/campaigns/{cid}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["data"]["status"] == "paused"
    assert paused.json()["data"]["message"] == "Campaign paused successfully"
    assert paused.json()["data"]["pausedAt"].endswith("Z")
    assert _status(api, cid) == "paused"
    error = _refused(api.post(f"/api/v1/campaigns/{cid}/pause"), 409, "INVALID_STATE_TRANSITION")
    assert error["details"]["status"] == "paused"

    resumed = api.post(f"/api/v1/campaigns/{cid}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["data"]["status"] == "active"
    assert resumed.json()["data"]["resumedAt"].endswith("Z")

    # Audience and messages are frozen once running; the name is not.
    _refused(
        api.put(f"/api/v1/campaigns/{cid}", json={"targetAudience": {"segments": ["s"]}}),
        409,
        "EDIT_NOT_ALLOWED",
    )
    assert api.put(f"/api/v1/campaigns/{cid}", json={"name": "Renamed"}).status_code == 200
    _refused(api.delete(f"/api/v1/campaigns/{cid}"), 409, "EDIT_NOT_ALLOWED")

    completed = api.put(f"/api/v1/campaigns/{cid}", json={"status": "completed"})
    assert completed.status_code == 200, completed.text
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert detail["status"] == "completed"
    assert detail["execution"]["reason"] == "completed by an operator"
    _refused(api.post(f"/api/v1/campaigns/{cid}/pause"), 409, "INVALID_STATE_TRANSITION")
    _refused(api.put(f"/api/v1/campaigns/{cid}", json={"name": "x"}), 409, "EDIT_NOT_ALLOWED")
    _refused(
        api.put(f"/api/v1/campaigns/{cid}", json={"status": "active"}),
        409,
        "INVALID_STATE_TRANSITION",
    )

    types = [
        e["type"]
        for e, _ in stream_messages(platform.nats_url, platform.namespace)
        if e["aggregateId"] == cid
    ]
    assert types == [
        "campaign.created",
        "campaign.started",
        "campaign.paused",
        "campaign.resumed",
        "campaign.updated",
        "campaign.completed",
    ]


def test_status_through_put_follows_the_action_rules(api: httpx.Client) -> None:
    cid = _create(api)
    _refused(
        api.put(f"/api/v1/campaigns/{cid}", json={"status": "paused"}),
        409,
        "INVALID_STATE_TRANSITION",
    )
    started = api.put(f"/api/v1/campaigns/{cid}", json={"status": "active", "name": "Both"})
    assert started.status_code == 200, started.text
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert (detail["status"], detail["name"]) == ("active", "Both")
    assert api.put(f"/api/v1/campaigns/{cid}", json={"status": "paused"}).status_code == 200
    assert api.put(f"/api/v1/campaigns/{cid}", json={"status": "cancelled"}).status_code == 200
    assert _status(api, cid) == "cancelled"
    # A cancelled campaign can be deleted.
    assert api.delete(f"/api/v1/campaigns/{cid}").status_code == 200
    # A refused status change leaves the other fields of the same request unapplied.
    other = _create(api)
    _refused(
        api.put(f"/api/v1/campaigns/{other}", json={"name": "Half", "status": "completed"}),
        409,
        "INVALID_STATE_TRANSITION",
    )
    assert api.get(f"/api/v1/campaigns/{other}").json()["data"]["name"] == "Lifecycle"


def test_a_scheduled_execution_starts_on_time(api: httpx.Client) -> None:
    cid = _create(api)
    executed = api.post(f"/api/v1/campaigns/{cid}/execute", json={"scheduledAt": _in(2)})
    assert executed.status_code == 200, executed.text
    assert executed.json()["data"]["status"] == "scheduled"
    assert executed.json()["data"]["message"] == "Campaign execution scheduled"
    assert _status(api, cid) == "scheduled"
    wait_until(lambda: _status(api, cid) == "active", timeout=15, what="the scheduled start")
    execution = api.get(f"/api/v1/campaigns/{cid}").json()["data"]["execution"]
    assert execution["late"] is False
    assert execution["startedAt"] >= execution["scheduledAt"]


def test_a_start_missed_while_down_happens_on_recovery_and_is_late(
    platform: Platform, api: httpx.Client
) -> None:
    cid = _create(api)
    assert (
        api.post(f"/api/v1/campaigns/{cid}/execute", json={"scheduledAt": _in(1.5)}).status_code
        == 200
    )
    platform["campaign"].kill()
    time.sleep(4)
    assert _status(api, cid) == "scheduled"
    platform["campaign"].start()
    platform["campaign"].wait_ready()
    wait_until(lambda: _status(api, cid) == "active", timeout=15, what="the late start")
    assert api.get(f"/api/v1/campaigns/{cid}").json()["data"]["execution"]["late"] is True


def test_end_date_completes_a_running_campaign(platform: Platform, api: httpx.Client) -> None:
    cid = _create(api, endDate=_in(2))
    assert api.post(f"/api/v1/campaigns/{cid}/execute").status_code == 200
    wait_until(lambda: _status(api, cid) == "completed", timeout=15, what="endDate")
    execution = api.get(f"/api/v1/campaigns/{cid}").json()["data"]["execution"]
    assert execution["reason"] == "endDate reached"
    (completed,) = [
        e
        for e, _ in stream_messages(platform.nats_url, platform.namespace)
        if e["aggregateId"] == cid and e["type"] == "campaign.completed"
    ]
    assert completed["data"] == {"reason": "endDate reached", "code": "END_DATE"}
    past = _create(api, endDate="2020-01-01T00:00:00Z")
    error = _refused(api.post(f"/api/v1/campaigns/{past}/execute"), 409, "INVALID_STATE_TRANSITION")
    assert "endDate" in error["message"]


def _from_dispatcher(platform: Platform, kind: str, **fields: object) -> dict:
    """A command as the dispatcher sends it: NATS request/reply, no HTTP route."""

    async def send() -> dict:
        nc = await nats.connect(platform.nats_url)
        try:
            meta = {"actor": {"id": "dispatcher"}, "correlationId": "dispatcher-1"}
            reply = await signed.request(
                nc,
                subjects_for(platform.namespace).command(kind),
                json.dumps({"kind": kind, "meta": meta, **fields}).encode(),
                DISPATCHER,
            )
        finally:
            await nc.close()
        return json.loads(reply.data)

    return asyncio.run(send())


def test_a_failed_execution_is_paused_with_its_reason_until_resumed(
    platform: Platform, api: httpx.Client
) -> None:
    draft = _create(api)
    refused = _from_dispatcher(platform, "campaign.fail", campaignId=draft, reason="x", code="X")
    assert refused["ok"] is False
    assert refused["error"]["code"] == "INVALID_STATE_TRANSITION"

    cid = _create(api)
    execution_id = api.post(f"/api/v1/campaigns/{cid}/execute").json()["data"]["executionId"]
    failed = _from_dispatcher(
        platform,
        "campaign.fail",
        campaignId=cid,
        executionId=execution_id,
        reason="every sending account is unusable",
        code="NO_SENDER",
    )
    assert failed["ok"] is True, failed
    wait_until(lambda: _status(api, cid) == "paused", what="the failure in the read model")
    execution = api.get(f"/api/v1/campaigns/{cid}").json()["data"]["execution"]
    assert execution["reason"] == "every sending account is unusable"
    assert execution["pausedAt"]

    assert api.post(f"/api/v1/campaigns/{cid}/resume").status_code == 200
    detail = api.get(f"/api/v1/campaigns/{cid}").json()["data"]
    assert detail["status"] == "active"
    assert "reason" not in detail["execution"]
    guarded = _from_dispatcher(
        platform,
        "campaign.pause",
        campaignId=cid,
        reason="budget exhausted",
        code="BUDGET_EXHAUSTED",
    )
    assert guarded["ok"] is True, guarded
    wait_until(lambda: _status(api, cid) == "paused", what="the guard's pause in the read model")

    events = [
        (e["type"], e.get("data", {}))
        for e, _ in stream_messages(platform.nats_url, platform.namespace)
        if e["aggregateId"] == cid
    ]
    assert events[2:] == [
        (
            "campaign.failed",
            {
                "reason": "every sending account is unusable",
                "code": "NO_SENDER",
                "executionId": execution_id,
            },
        ),
        ("campaign.resumed", {}),
        ("campaign.paused", {"reason": "budget exhausted", "code": "BUDGET_EXHAUSTED"}),
    ]


def test_clone_copies_content_into_a_new_draft(platform: Platform, api: httpx.Client) -> None:
    source = _create(
        api,
        description="Original",
        targetAudience={"segments": ["seg1"], "filters": {"location": ["US"]}},
        messages=[{"content": "Hello {{firstName}}"}],
    )
    api.post(f"/api/v1/campaigns/{source}/execute")
    cloned = api.post(f"/api/v1/campaigns/{source}/clone")
    assert cloned.status_code == 201, cloned.text
    body = cloned.json()["data"]
    assert body["name"] == "Lifecycle (Copy)"
    assert body["status"] == "draft"
    assert body["message"] == "Campaign cloned successfully"
    copy = api.get(f"/api/v1/campaigns/{body['id']}").json()["data"]
    original = api.get(f"/api/v1/campaigns/{source}").json()["data"]
    assert copy["id"] != source
    assert copy["targetAudience"] == original["targetAudience"]
    assert copy["messages"] == original["messages"]
    assert copy["clonedFrom"] == source
    assert "execution" not in copy
    named = api.post(
        f"/api/v1/campaigns/{source}/clone", json={"name": "Autumn", "resetStatistics": False}
    )
    assert named.json()["data"]["name"] == "Autumn"
    kinds = {
        e["type"]
        for e, _ in stream_messages(platform.nats_url, platform.namespace)
        if e["aggregateId"] == body["id"]
    }
    assert kinds == {"campaign.cloned"}
    _refused(
        api.post("/api/v1/campaigns/00000000-0000-0000-0000-000000000000/clone"),
        404,
        "CAMPAIGN_NOT_FOUND",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"targetPercentage": 0},
        {"targetPercentage": 101},
        {"priority": "urgent"},
        {"scheduledAt": "2030-01-01T00:00:00"},
        {"testMode": "yes"},
        {"unknown": 1},
    ],
)
def test_invalid_execute_options_are_refused_and_change_nothing(
    api: httpx.Client, body: dict
) -> None:
    cid = _create(api)
    _refused(api.post(f"/api/v1/campaigns/{cid}/execute", json=body), 400, "VALIDATION_ERROR")
    assert _status(api, cid) == "draft"


def _segment(api: httpx.Client, name: str) -> str:
    answer = api.post(
        "/api/v1/segments",
        json={"name": name, "filter": {"field": "location", "op": "in", "value": ["US"]}},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def test_statistics_and_progress_of_a_campaign_not_yet_sent_in_the_spec_shape(
    api: httpx.Client,
) -> None:
    seg_a, seg_b = _segment(api, "Premium Users"), _segment(api, "New Users")
    cid = _create(api, targetAudience={"segments": [seg_a, seg_b]})
    stats = api.get(f"/api/v1/campaigns/{cid}/statistics")
    assert stats.status_code == 200, stats.text
    assert stats.json()["data"] == {
        "overview": {
            "messagesSent": 0,
            "delivered": 0,
            "read": 0,
            "clicked": 0,
            "converted": 0,
            "revenue": 0.0,
        },
        "performance": {
            "deliveryRate": 0.0,
            "readRate": 0.0,
            "clickRate": 0.0,
            "conversionRate": 0.0,
        },
        "timeline": [],
        "segments": [
            {
                "segmentId": seg_a,
                "name": "Premium Users",
                "performance": {"sent": 0, "conversionRate": 0.0},
            },
            {
                "segmentId": seg_b,
                "name": "New Users",
                "performance": {"sent": 0, "conversionRate": 0.0},
            },
        ],
    }
    only = api.get(
        f"/api/v1/campaigns/{cid}/statistics", params={"period": "24h", "metrics": "overview"}
    ).json()["data"]
    assert list(only) == ["overview"]
    _refused(
        api.get(f"/api/v1/campaigns/{cid}/statistics", params={"period": "2h"}),
        400,
        "VALIDATION_ERROR",
    )
    _refused(
        api.get(f"/api/v1/campaigns/{cid}/statistics", params={"metrics": "overview,money"}),
        400,
        "VALIDATION_ERROR",
    )
    progress = api.get(f"/api/v1/campaigns/{cid}/progress").json()["data"]
    assert progress == {
        "status": "not_started",
        "progress": {"percentage": 0.0, "processed": 0, "total": 0, "successful": 0, "failed": 0},
        "currentRate": 0.0,
        "errors": [],
    }
    assert api.post(f"/api/v1/campaigns/{cid}/execute").status_code == 200
    assert api.get(f"/api/v1/campaigns/{cid}/progress").json()["data"]["status"] == "running"
    missing = "00000000-0000-0000-0000-000000000000"
    _refused(api.get(f"/api/v1/campaigns/{missing}/statistics"), 404, "CAMPAIGN_NOT_FOUND")
    _refused(api.get(f"/api/v1/campaigns/{missing}/progress"), 404, "CAMPAIGN_NOT_FOUND")
