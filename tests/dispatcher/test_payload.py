"""What a webhook body says, and what the dispatcher remembers of a campaign to say it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from telecast_dispatcher.webhooks.payload import body_of_test_event, event_body, evolve
from telecast_libs.contracts.events import DomainEvent, event_from

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EXECUTION = {"executionId": "x1", "testMode": False, "targetPercentage": 100, "priority": "normal"}


def event(version: int, type_: str, data: dict | None = None) -> DomainEvent:
    return event_from(
        type_,
        id=f"e{version}",
        aggregate_id="c1",
        aggregate_version=version,
        occurred_at=AT,
        position=version,
        data=data or {},
    )


def test_facts_follow_the_lifecycle() -> None:
    stream = [
        event(1, "campaign.created", {"campaign": {"name": "Summer", "type": "message"}}),
        event(2, "campaign.updated", {"changes": {"name": "Summer sale"}}),
        event(3, "campaign.started", {"execution": EXECUTION}),
        event(4, "campaign.paused"),
        event(5, "campaign.resumed"),
        event(6, "campaign.completed", {"reason": "done"}),
    ]
    facts = None
    statuses = []
    for item in stream:
        facts = evolve(facts, item)
        statuses.append(facts["status"])
    assert statuses == ["draft", "draft", "active", "paused", "active", "completed"]
    assert facts == {
        "id": "c1",
        "version": 6,
        "name": "Summer sale",
        "type": "message",
        "status": "completed",
    }
    # A repeated or older event changes nothing.
    assert evolve(facts, stream[1]) == facts


def test_the_body_carries_id_type_time_campaign_and_the_event_data() -> None:
    created = event(1, "campaign.created", {"campaign": {"name": "Summer", "type": "message"}})
    body = json.loads(event_body(created, evolve(None, created)))
    assert body == {
        "id": "e1",
        "type": "campaign.created",
        "occurredAt": "2026-01-01T12:00:00Z",
        "campaign": {
            "id": "c1",
            "version": 1,
            "name": "Summer",
            "type": "message",
            "status": "draft",
        },
        "data": {"campaign": {"name": "Summer", "type": "message"}},
    }


def test_a_test_event_names_the_webhook() -> None:
    body = json.loads(body_of_test_event("t1", "w1", AT))
    assert body["type"] == "webhook.test"
    assert body["data"]["webhookId"] == "w1"
    assert "campaign" not in body


def test_a_failed_execution_leaves_the_campaign_paused_and_says_why() -> None:
    stream = [
        event(1, "campaign.created", {"campaign": {"name": "Summer", "type": "message"}}),
        event(2, "campaign.started", {"execution": EXECUTION}),
        event(
            3,
            "campaign.failed",
            {
                "reason": "every sending account is unusable",
                "code": "NO_SENDER",
                "executionId": "x1",
            },
        ),
    ]
    facts = None
    for item in stream:
        facts = evolve(facts, item)
    body = json.loads(event_body(stream[-1], facts))
    assert body["type"] == "campaign.failed"
    assert body["campaign"]["status"] == "paused"
    assert body["data"] == {
        "reason": "every sending account is unusable",
        "code": "NO_SENDER",
        "executionId": "x1",
    }
    assert evolve(facts, event(4, "campaign.resumed"))["status"] == "active"


def test_pause_and_completion_bodies_carry_reason_and_code_when_given() -> None:
    guarded = event(4, "campaign.paused", {"reason": "budget exhausted", "code": "BUDGET"})
    by_operator = event(4, "campaign.paused")
    done = event(5, "campaign.completed", {"reason": "endDate reached", "code": "END_DATE"})
    facts = {"id": "c1", "version": 3, "status": "active"}
    assert json.loads(event_body(guarded, evolve(facts, guarded)))["data"] == {
        "reason": "budget exhausted",
        "code": "BUDGET",
    }
    # An event without data (an operator's pause) leaves ``data`` out of the body.
    assert "data" not in json.loads(event_body(by_operator, evolve(facts, by_operator)))
    assert json.loads(event_body(done, evolve(facts, done)))["data"] == {
        "reason": "endDate reached",
        "code": "END_DATE",
    }
