"""The dispatcher's lifecycle commands (pause with a reason, fail, complete with a code)
decided by the campaign Application against a real PostgreSQL event store, as they arrive
over NATS (JSON decoded into the service's Command union)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from telecast_campaign.application import Campaigns
from telecast_campaign.bootstrap import build_application
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.events import to_envelope
from telecast_libs.contracts.base import decode, to_builtins
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.events import DomainEvent
from telecast_libs.contracts.messages import Command, CommandResult

META = {"actor": {"id": "dispatcher"}, "correlationId": "c-1"}


def command(kind: str, **fields: Any) -> Any:
    return decode(json.dumps({"kind": kind, "meta": META, **fields}), Command)


def handle(app: Campaigns, kind: str, **fields: Any) -> CommandResult | Problem:
    (outcome,) = app.handle([command(kind, **fields)])
    return outcome


def active_campaign(app: Campaigns) -> tuple[str, str]:
    """A started campaign's id and its execution's id."""
    created = handle(app, "campaign.create", content={"name": "Guarded", "type": "message"})
    assert isinstance(created, CommandResult)
    started = handle(app, "campaign.execute", campaignId=created.aggregate_id, options={})
    assert isinstance(started, CommandResult) and started.execution_id is not None
    return created.aggregate_id, started.execution_id


def published(app: Campaigns, campaign_id: str) -> list[DomainEvent]:
    """The campaign's events as the relay publishes them."""
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    return [
        to_envelope(app.mapper.to_domain_event(n), n.id)
        for n in notifications
        if str(n.originator_id) == campaign_id
    ]


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Campaigns]:
    application = build_application(database_url)
    yield application
    application.close()


def test_a_guard_pause_is_published_with_its_reason_and_code(app: Campaigns) -> None:
    cid, _ = active_campaign(app)
    paused = handle(
        app,
        "campaign.pause",
        campaignId=cid,
        reason="error rate 62% over the 50% threshold",
        code="ERROR_RATE",
    )
    assert isinstance(paused, CommandResult) and paused.status == "paused"
    assert handle(app, "campaign.resume", campaignId=cid).status == "active"
    assert handle(app, "campaign.pause", campaignId=cid).status == "paused"
    events = published(app, cid)
    assert [(e.type, to_builtins(e.data)) for e in events[2:]] == [
        (
            "campaign.paused",
            {"reason": "error rate 62% over the 50% threshold", "code": "ERROR_RATE"},
        ),
        ("campaign.resumed", {}),
        # An operator's pause says nothing more than it did before reasons existed.
        ("campaign.paused", {}),
    ]


def test_fail_pauses_the_campaign_and_resume_continues_it(app: Campaigns) -> None:
    cid, execution_id = active_campaign(app)
    failed = handle(
        app,
        "campaign.fail",
        campaignId=cid,
        reason="every sending account is unusable",
        code="NO_SENDER",
        executionId=execution_id,
    )
    assert isinstance(failed, CommandResult)
    assert (failed.status, failed.execution_id) == ("paused", execution_id)
    # Failing again while paused (a second replica's report) is recorded too.
    again = handle(app, "campaign.fail", campaignId=cid, reason="still", code="NO_SENDER")
    assert isinstance(again, CommandResult) and again.status == "paused"
    resumed = handle(app, "campaign.resume", campaignId=cid)
    assert isinstance(resumed, CommandResult) and resumed.status == "active"
    assert app.repository.get(uuid.UUID(cid)).status == "active"
    events = published(app, cid)
    assert [e.type for e in events] == [
        "campaign.created",
        "campaign.started",
        "campaign.failed",
        "campaign.failed",
        "campaign.resumed",
    ]
    assert to_builtins(events[2].data) == {
        "reason": "every sending account is unusable",
        "code": "NO_SENDER",
        "executionId": execution_id,
    }


def test_fail_is_refused_outside_an_execution_and_for_another_execution(
    app: Campaigns,
) -> None:
    created = handle(app, "campaign.create", content={"name": "Draft", "type": "message"})
    refused = handle(
        app, "campaign.fail", campaignId=created.aggregate_id, reason="x", code="NO_SENDER"
    )
    assert isinstance(refused, Problem) and refused.code == "INVALID_STATE_TRANSITION"
    cid, _ = active_campaign(app)
    stale = handle(
        app,
        "campaign.fail",
        campaignId=cid,
        reason="x",
        code="NO_SENDER",
        executionId=str(uuid.uuid4()),
    )
    assert isinstance(stale, Problem) and stale.code == "INVALID_STATE_TRANSITION"
    missing = handle(app, "campaign.fail", campaignId=str(uuid.uuid4()), reason="x", code="X")
    assert isinstance(missing, Problem) and missing.code == "CAMPAIGN_NOT_FOUND"


def test_a_completion_is_published_with_its_code(app: Campaigns) -> None:
    cid, _ = active_campaign(app)
    done = handle(
        app,
        "campaign.complete",
        campaignId=cid,
        reason="every recipient has an outcome",
        code="ALL_RECIPIENTS_DONE",
    )
    assert isinstance(done, CommandResult) and done.status == "completed"
    assert to_builtins(published(app, cid)[-1].data) == {
        "reason": "every recipient has an outcome",
        "code": "ALL_RECIPIENTS_DONE",
    }


def test_events_stored_before_reasons_and_codes_still_load_and_publish(app: Campaigns) -> None:
    cid, _ = active_campaign(app)
    handle(app, "campaign.pause", campaignId=cid, reason="r", code="ERROR_RATE")
    handle(app, "campaign.complete", campaignId=cid, reason="endDate reached", code="END_DATE")
    notifications = [
        n
        for n in app.recorder.select_notifications(start=1, limit=1_000_000)
        if str(n.originator_id) == cid
    ]
    # The same events as an older version stored them: without the new attributes.
    old = []
    for stored in notifications[2:]:
        state = app.mapper.transcoder.decode(stored.state)
        state.pop("code")
        if stored.topic.endswith("Paused"):
            state.pop("reason")
        old.append(
            StoredEvent(
                originator_id=stored.originator_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=app.mapper.transcoder.encode(state),
            )
        )
    paused, completed = (app.mapper.to_domain_event(s) for s in old)
    assert to_builtins(to_envelope(paused, 3).data) == {}
    assert to_builtins(to_envelope(completed, 4).data) == {"reason": "endDate reached"}
    campaign = app.repository.get(uuid.UUID(cid), version=2)
    paused.mutate(campaign)
    assert campaign.status == "paused"
    completed.mutate(campaign)
    assert isinstance(campaign, Campaign) and campaign.status == "completed"
