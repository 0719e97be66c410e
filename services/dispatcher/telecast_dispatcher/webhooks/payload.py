"""What a webhook says: the JSON body receivers get, and the few facts the dispatcher keeps
about each campaign (name, type, status, version) so that every payload can say them.

The body is built once, when the event enters the outbox, and stored: every attempt sends
the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telecast_libs.contracts.base import encode
from telecast_libs.contracts.messages import EventEnvelope
from telecast_libs.contracts.webhooks import TEST_EVENT_TYPE, WebhookPayload

# The status a campaign is in after each lifecycle event. A failed execution leaves the
# campaign paused (the spec's statuses have no "failed"): an operator may resume it.
_STATUS_AFTER = {
    "campaign.created": "draft",
    "campaign.cloned": "draft",
    "campaign.scheduled": "scheduled",
    "campaign.started": "active",
    "campaign.paused": "paused",
    "campaign.failed": "paused",
    "campaign.resumed": "active",
    "campaign.completed": "completed",
    "campaign.cancelled": "cancelled",
}


def evolve(facts: dict[str, Any] | None, event: EventEnvelope) -> dict[str, Any]:
    """The campaign's facts after ``event`` (an older or repeated event changes nothing)."""
    current = dict(facts or {"id": event.aggregate_id})
    if current.get("version", 0) >= event.aggregate_version:
        return current
    current["version"] = event.aggregate_version
    if event.type in ("campaign.created", "campaign.cloned"):
        content = event.data.get("campaign") or {}
        current.update({k: content[k] for k in ("name", "type") if k in content})
    elif event.type == "campaign.updated":
        changes = event.data.get("changes") or {}
        current.update({k: changes[k] for k in ("name", "type") if k in changes})
    elif event.type == "campaign.deleted":
        current["deleted"] = True
    if event.type in _STATUS_AFTER:
        current["status"] = _STATUS_AFTER[event.type]
    return current


def event_body(event: EventEnvelope, facts: dict[str, Any]) -> bytes:
    return encode(
        WebhookPayload(
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            campaign=facts,
            data=event.data,
        )
    )


def body_of_test_event(event_id: str, webhook_id: str, now: datetime) -> bytes:
    return encode(
        WebhookPayload(
            id=event_id,
            type=TEST_EVENT_TYPE,
            occurred_at=now,
            data={
                "webhookId": webhook_id,
                "message": "A test event from telecast: your endpoint receives webhooks.",
            },
        )
    )
