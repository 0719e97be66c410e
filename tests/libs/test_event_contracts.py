"""The campaign stream's typed events: what a reader does with an event of a newer producer,
with one that lacks what it must carry, and that encoding one gives back what was published
(webhooks forward ``data`` as it is)."""

from __future__ import annotations

import json

import msgspec
import pytest

from telecast_libs.contracts.base import encode, to_builtins
from telecast_libs.contracts.events import (
    SENDING_STATE_AFTER,
    CampaignEvent,
    CampaignFailed,
    CampaignStarted,
    decode_event,
)

ENVELOPE = {
    "id": "e1",
    "aggregateId": "c1",
    "aggregateVersion": 2,
    "occurredAt": "2026-01-01T00:00:00Z",
    "position": 7,
}
STARTED = {
    "type": "campaign.started",
    **ENVELOPE,
    "data": {
        "execution": {
            "executionId": "x1",
            "testMode": False,
            "targetPercentage": 100,
            "priority": "normal",
            "startedAt": "2026-01-01T00:00:00Z",
            "late": False,
        },
        "audience": {"filter": {"and": []}, "segments": []},
        "messages": [],
        "audienceCount": {"totalCount": 3, "countedAt": "2026-01-01T00:00:00Z"},
    },
}


def test_an_event_decodes_to_its_type_and_encodes_back_to_what_was_published() -> None:
    event = decode_event(json.dumps(STARTED))
    assert isinstance(event, CampaignStarted)
    assert event.data.execution.execution_id == "x1"
    assert event.status_after == "active"
    # Defaults (testMode false, a 100 % target) are kept: a webhook receiver sees them.
    assert to_builtins(event.data) == STARTED["data"]
    assert json.loads(encode(event)) == STARTED


def test_a_field_a_newer_producer_added_is_ignored() -> None:
    newer = {**STARTED, "data": {**STARTED["data"], "journeyStep": 3}, "tenant": "t1"}
    assert isinstance(decode_event(json.dumps(newer)), CampaignStarted)


def test_a_type_a_newer_producer_added_is_skipped_not_a_failure() -> None:
    assert decode_event(json.dumps({"type": "journey.entered", **ENVELOPE, "data": {}})) is None


def test_a_known_type_without_what_it_must_carry_is_refused() -> None:
    failed = {"type": "campaign.failed", **ENVELOPE, "data": {"reason": "no account"}}
    with pytest.raises(msgspec.ValidationError, match="code"):
        decode_event(json.dumps(failed))


def test_the_status_after_each_lifecycle_event_is_stated_once() -> None:
    statuses = {
        member.__struct_config__.tag: member.status_after
        for member in CampaignEvent.__args__  # type: ignore[attr-defined]
    }
    assert statuses == {
        "campaign.created": "draft",
        "campaign.cloned": "draft",
        "campaign.updated": None,
        "campaign.deleted": None,
        "campaign.scheduled": "scheduled",
        "campaign.started": "active",
        "campaign.paused": "paused",
        "campaign.failed": "paused",
        "campaign.resumed": "active",
        "campaign.completed": "completed",
        "campaign.cancelled": "cancelled",
    }
    # What the dispatcher does with a sending execution agrees, and a deleted campaign's
    # execution is cancelled.
    for kind, state in SENDING_STATE_AFTER.items():
        assert state == (statuses[kind] or "cancelled")
    assert CampaignFailed.status_after == "paused"
