"""What a webhook says: the JSON body receivers get, and the few facts the dispatcher keeps
about each campaign (name, type, status, version) so that every payload can say them.

The body is built once, when the event enters the outbox, and stored: every attempt sends
the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telecast_libs.contracts.base import encode, to_builtins
from telecast_libs.contracts.events import (
    CampaignCloned,
    CampaignCreated,
    CampaignDeleted,
    CampaignEvent,
    CampaignUpdated,
)
from telecast_libs.contracts.webhooks import TEST_EVENT_TYPE, WebhookPayload


def evolve(facts: dict[str, Any] | None, event: CampaignEvent) -> dict[str, Any]:
    """The campaign's facts after ``event`` (an older or repeated event changes nothing)."""
    current = dict(facts or {"id": event.aggregate_id})
    if current.get("version", 0) >= event.aggregate_version:
        return current
    current["version"] = event.aggregate_version
    match event:
        case CampaignCreated() | CampaignCloned():
            content = event.data.campaign
            current.update({k: content[k] for k in ("name", "type") if k in content})
        case CampaignUpdated():
            changes = event.data.changes
            current.update({k: changes[k] for k in ("name", "type") if k in changes})
        case CampaignDeleted():
            current["deleted"] = True
    if event.status_after is not None:
        current["status"] = event.status_after
    return current


def event_body(event: CampaignEvent, facts: dict[str, Any]) -> bytes:
    return encode(
        WebhookPayload(
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            campaign=facts,
            data=to_builtins(event.data),
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
