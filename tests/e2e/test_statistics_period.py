"""``period`` and ``metrics`` of ``GET …/statistics`` through HTTP: every figure is the
period's, and ``metrics`` names sections or single figures.

The dispatcher's delivery events are published here, as its ledger would publish them, with
the times they happened (two days, two hours and a few minutes ago): sending cannot go back
in time, and these tests are about what the read side makes of the events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import nats
import pytest
from support.inspect import wait_until

from telecast_libs.contracts.base import encode
from telecast_libs.contracts.deliveries import DeliveryEvent, InteractionEvent
from telecast_libs.subjects import subjects_for

NOW = datetime.now(UTC)
SEGMENT = str(uuid.uuid4())


def _delivery(campaign: str, execution: str, n: int, at: datetime, failed: bool) -> DeliveryEvent:
    return DeliveryEvent(
        id=str(uuid.uuid4()),
        type="delivery.failed" if failed else "delivery.sent",
        campaign_id=campaign,
        execution_id=execution,
        contact_id=str(uuid.UUID(int=n + 1)),
        telegram_id=5000 + n,
        chat_kind="private",
        message_id="msg1",
        step=0,
        code="USER_BLOCKED" if failed else None,
        message="User has blocked the bot" if failed else None,
        occurred_at=at,
        segment_ids=[SEGMENT],
        cost=0 if failed else 0.5,
    )


def _read(campaign: str, execution: str, n: int, at: datetime) -> InteractionEvent:
    return InteractionEvent(
        id=str(uuid.uuid4()),
        type="delivery.read",
        campaign_id=campaign,
        execution_id=execution,
        contact_id=str(uuid.UUID(int=n + 1)),
        message_id="msg1",
        first=True,
        occurred_at=at,
    )


async def _publish(nats_url: str, namespace: str, events: list) -> None:
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for event in events:
            await js.publish(
                subjects.event(event.type), encode(event), headers={"Nats-Msg-Id": event.id}
            )
    finally:
        await nc.close()


@pytest.fixture(scope="module")
def campaign(api: httpx.Client, nats_url: str, namespace: str) -> str:
    """A campaign with 10 messages two days ago (2 failed, 6 read), 6 two hours ago (1
    failed, 2 read), and 4 a few minutes ago (all delivered, 1 read)."""
    answer = api.post(
        "/api/v1/campaigns",
        json={"name": "Periods", "type": "message", "targetAudience": {"segments": [SEGMENT]}},
    )
    assert answer.status_code == 201, answer.text
    campaign_id = answer.json()["data"]["id"]
    execution = str(uuid.uuid4())
    waves = [
        (NOW - timedelta(days=2), 10, {0, 1}, range(2, 8)),
        (NOW - timedelta(hours=2), 6, {10}, range(11, 13)),
        (NOW - timedelta(minutes=3), 4, set(), range(16, 17)),
    ]
    events: list = []
    first = 0
    for at, count, failed, readers in waves:
        for n in range(first, first + count):
            events.append(_delivery(campaign_id, execution, n, at, n in failed))
        events += [_read(campaign_id, execution, n, at) for n in readers]
        first += count
    asyncio.run(_publish(nats_url, namespace, events))

    def all_counted() -> bool:
        data = api.get(f"/api/v1/campaigns/{campaign_id}/statistics").json()["data"]
        return data["overview"]["messagesSent"] == 20 and data["overview"]["read"] == 9

    wait_until(all_counted, timeout=30, what="every published event in the statistics")
    return campaign_id


def _statistics(api: httpx.Client, campaign: str, **params: str) -> dict:
    answer = api.get(f"/api/v1/campaigns/{campaign}/statistics", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_every_figure_is_the_periods(api: httpx.Client, campaign: str) -> None:
    whole = _statistics(api, campaign, period="all")
    assert whole["overview"] == {
        "messagesSent": 20,
        "delivered": 17,
        "read": 9,
        "clicked": 0,
        "converted": 0,
        "revenue": 0.0,
    }
    assert whole["performance"]["deliveryRate"] == 85.0
    assert whole["segments"][0]["performance"]["sent"] == 17
    # The last 24 hours: the waves of two hours and of minutes ago, not the one of two days.
    day = _statistics(api, campaign, period="24h")
    assert day["overview"] == {
        "messagesSent": 10,
        "delivered": 9,
        "read": 3,
        "clicked": 0,
        "converted": 0,
        "revenue": 0.0,
    }
    assert day["performance"] == {
        "deliveryRate": 90.0,
        "readRate": 33.3,
        "clickRate": 0.0,
        "conversionRate": 0.0,
    }
    assert day["segments"] == [
        {"segmentId": SEGMENT, "performance": {"sent": 9, "conversionRate": 0.0}}
    ]
    assert day["overview"]["messagesSent"] == sum(point["sent"] for point in day["timeline"])
    # The last hour (and the hour it started in): the last wave only.
    hour = _statistics(api, campaign, period="1h")
    assert (hour["overview"]["messagesSent"], hour["overview"]["read"]) == (4, 1)
    assert hour["performance"]["readRate"] == 25.0
    assert hour["segments"][0]["performance"]["sent"] == 4
    # 7 and 30 days hold the whole campaign.
    for period in ("7d", "30d"):
        assert _statistics(api, campaign, period=period)["overview"] == whole["overview"]


def test_metrics_name_single_figures_and_sections(api: httpx.Client, campaign: str) -> None:
    assert _statistics(api, campaign, metrics="messagesSent,deliveryRate") == {
        "overview": {"messagesSent": 20},
        "performance": {"deliveryRate": 85.0},
    }
    assert _statistics(api, campaign, period="24h", metrics="read,readRate,timeline") == {
        "overview": {"read": 3},
        "performance": {"readRate": 33.3},
        "timeline": _statistics(api, campaign, period="24h", metrics="timeline")["timeline"],
    }
    both = _statistics(api, campaign, metrics="performance,clickRate,segments")
    assert list(both) == ["performance", "segments"]
    assert len(both["performance"]) == 4
    assert list(_statistics(api, campaign, metrics="all")) == [
        "overview",
        "performance",
        "timeline",
        "segments",
    ]


@pytest.mark.parametrize(
    "metrics", ["messagesSent,money", "overview,", "Overview", " overview", "", "all,overview"]
)
def test_an_unknown_metric_is_refused_naming_the_valid_ones(
    api: httpx.Client, campaign: str, metrics: str
) -> None:
    answer = api.get(f"/api/v1/campaigns/{campaign}/statistics", params={"metrics": metrics})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "messagesSent, delivered, read" in error["message"]
    (detail,) = error["details"]
    assert detail["field"] == "metrics"
    assert detail["allowed"] == [
        "overview",
        "performance",
        "timeline",
        "segments",
        "messagesSent",
        "delivered",
        "read",
        "clicked",
        "converted",
        "revenue",
        "deliveryRate",
        "readRate",
        "clickRate",
        "conversionRate",
        "all",
    ]


def test_the_openapi_document_states_every_metric(api: httpx.Client) -> None:
    document = api.get("/schema/openapi.json").json()
    operation = document["paths"]["/api/v1/campaigns/{campaign_id}/statistics"]["get"]
    (metrics,) = [p for p in operation["parameters"] if p["name"] == "metrics"]
    pattern = metrics["schema"]["pattern"]
    for name in ("messagesSent", "conversionRate", "timeline", "all"):
        assert name in pattern and name in metrics["description"]
