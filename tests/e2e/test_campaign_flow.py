"""A campaign through the whole platform: HTTP → campaign service → event store → relay →
JetStream → projection → HTTP, against real PostgreSQL and NATS."""

from __future__ import annotations

import json
import uuid

import httpx
from support.inspect import (
    checkpoint,
    read_model_rows,
    stored_events,
    stream_last_seq,
    stream_messages,
    wait_until,
)

from telecast_devenv.platform import Platform

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
            "templateId": "tmpl456",
            "personalization": {"enabled": True, "fields": ["firstName", "lastPurchase"]},
            "variations": [{"content": "Hot deals, {{firstName}}!", "weight": 50}],
        }
    ],
    "budget": 10000,
    "startDate": "2024-11-24T00:00:00Z",
    "endDate": "2024-11-30T23:59:59Z",
}


def test_login_create_list_get_with_exactly_one_event_everywhere(
    platform: Platform, api: httpx.Client
) -> None:
    correlation_id = uuid.uuid4().hex
    tag = correlation_id[:10]
    body = {**BLACK_FRIDAY, "name": f"Black Friday Campaign {tag}"}
    created = api.post("/api/v1/campaigns", json=body, headers={"X-Correlation-Id": correlation_id})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True
    campaign_id = body["data"]["id"]
    assert body["data"] == {
        "id": campaign_id,
        "name": f"Black Friday Campaign {tag}",
        "status": "draft",
        "version": 1,
        "message": "Campaign created successfully",
    }
    assert created.headers["ETag"] == '"1"'
    assert created.headers["X-Correlation-Id"] == correlation_id

    # Read-your-writes: the very next requests see the campaign, with no retry.
    listed = api.get("/api/v1/campaigns", params={"search": f"black friday {tag}"})
    assert listed.status_code == 200
    page = listed.json()["data"]
    assert [c["id"] for c in page["campaigns"]] == [campaign_id]
    assert page["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    item = page["campaigns"][0]
    assert item["status"] == "draft"
    # The audience's size as counted when it was saved (no contact matches here).
    assert item["targetAudience"]["segments"] == ["seg789"]
    assert item["targetAudience"]["totalCount"] == 0
    assert "countedAt" in item["targetAudience"]
    assert item["statistics"]["messagesSent"] == 0
    assert item["createdBy"]  # the operator's id, from the token

    got = api.get(f"/api/v1/campaigns/{campaign_id}")
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    detail = got.json()["data"]
    assert detail["goals"] == BLACK_FRIDAY["goals"]
    # totalCount is computed from the contacts (none match here), never typed in.
    assert detail["targetAudience"] == {**BLACK_FRIDAY["targetAudience"], "totalCount": 0}
    assert detail["messages"][0]["templateId"] == "tmpl456"
    assert detail["messages"][0]["id"] == "msg1"
    assert detail["messages"][0]["variations"][0] == {
        "id": "var1",
        "content": "Hot deals, {{firstName}}!",
        "weight": 50,
    }
    assert detail["startDate"] == "2024-11-24T00:00:00Z"
    assert detail["budget"] == 10000

    # Exactly once in the event store, on the stream and in the read model.
    topics = [
        topic.split(":")[-1] for _, topic in stored_events(platform.database_url, campaign_id)
    ]
    assert topics == ["Campaign.Created"]
    on_stream = [
        (envelope, headers)
        for envelope, headers in stream_messages(platform.nats_url, platform.namespace)
        if envelope["aggregateId"] == campaign_id
    ]
    assert len(on_stream) == 1
    envelope, headers = on_stream[0]
    assert envelope["type"] == "campaign.created"
    assert envelope["aggregateVersion"] == 1
    assert envelope["correlationId"] == correlation_id
    assert envelope["actor"]["email"] == "admin@telecast.local"
    assert headers["Nats-Msg-Id"] == envelope["id"]
    assert headers["Correlation-Id"] == correlation_id
    rows = read_model_rows(platform.database_url, campaign_id)
    assert len(rows) == 1 and rows[0]["version"] == 1
    wait_until(
        lambda: (
            checkpoint(platform.database_url)[0]
            == stream_last_seq(platform.nats_url, platform.namespace)
        ),
        what="the projection to reach the end of the stream",
    )

    # The correlation id is in the campaign service's log lines for this command.
    campaign_log = platform["campaign"].log_path.read_text().splitlines()
    lines = [json.loads(line) for line in campaign_log if line.startswith("{")]
    assert any(
        line.get("correlation_id") == correlation_id and line["event"] == "command.done"
        for line in lines
    )


def test_update_with_if_match_and_delete(platform: Platform, api: httpx.Client) -> None:
    created = api.post("/api/v1/campaigns", json={"name": "Spring", "type": "engagement"})
    campaign_id = created.json()["data"]["id"]

    updated = api.put(
        f"/api/v1/campaigns/{campaign_id}",
        json={"description": "Blossoms", "budget": 250},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == '"2"'
    detail = api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]
    assert detail["description"] == "Blossoms"
    assert detail["budget"] == 250
    assert detail["name"] == "Spring"

    stale = api.put(
        f"/api/v1/campaigns/{campaign_id}", json={"name": "Lost"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]["name"] == "Spring"

    deleted = api.delete(f"/api/v1/campaigns/{campaign_id}", headers={"If-Match": '"2"'})
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "data": {"message": "Campaign deleted successfully"}}
    gone = api.get(f"/api/v1/campaigns/{campaign_id}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"
    listed = api.get("/api/v1/campaigns", params={"search": "spring"}).json()["data"]
    assert listed["campaigns"] == []
    # Deleting is an event too: the history stays.
    topics = [t.split(":")[-1] for _, t in stored_events(platform.database_url, campaign_id)]
    assert topics == ["Campaign.Created", "Campaign.Updated", "Campaign.Deleted"]
    again = api.delete(f"/api/v1/campaigns/{campaign_id}")
    assert again.status_code == 404


def test_list_filters_sorts_and_paginates(api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    for index, kind in enumerate(["message", "invitation", "message"]):
        answer = api.post(
            "/api/v1/campaigns",
            json={"name": f"{tag} campaign {index}", "type": kind, "budget": index * 10},
        )
        assert answer.status_code == 201
    messages = api.get(
        "/api/v1/campaigns", params={"search": tag, "type": "message", "sort": "budget"}
    ).json()["data"]
    assert [c["name"] for c in messages["campaigns"]] == [f"{tag} campaign 0", f"{tag} campaign 2"]
    newest_first = api.get(
        "/api/v1/campaigns", params={"search": tag, "limit": 2, "page": 2}
    ).json()["data"]
    assert [c["name"] for c in newest_first["campaigns"]] == [f"{tag} campaign 0"]
    assert newest_first["pagination"] == {"page": 2, "limit": 2, "total": 3, "pages": 2}
    drafts = api.get("/api/v1/campaigns", params={"search": tag, "status": "active"}).json()
    assert drafts["data"]["pagination"]["total"] == 0


def test_health_ready_metrics_and_openapi(platform: Platform) -> None:
    base = platform.base_url
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/ready").json()
    assert ready == {"ready": True, "checks": {"postgres": "ok", "nats": "ok"}}
    # Metrics on the operations port only: the API's port faces the public.
    ops = f"http://127.0.0.1:{platform.gateway_metrics_port}"
    assert "telecast_gateway_requests_total" in httpx.get(f"{ops}/metrics").text
    assert httpx.get(f"{base}/metrics").status_code in (401, 404)
    schema = httpx.get(f"{base}/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    for path in ("/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}", "/api/v1/auth/login"):
        assert path in schema["paths"], path
    for name in ("campaign", "projection"):
        service = platform[name]
        metrics = httpx.get(f"http://127.0.0.1:{service.port}/metrics").text
        assert "telecast_" in metrics
