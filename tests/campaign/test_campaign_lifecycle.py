"""The campaign lifecycle state machine, without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import EditNotAllowed, InvalidStateTransition
from telecast_libs.contracts.campaigns import CampaignContent, ExecutionOptions

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def everyone(strict: bool) -> Audience:
    """A campaign's audience when it names no segment and no filter."""
    return Audience(None)


def draft() -> Campaign:
    content = msgspec.convert({"name": "Summer Sale", "type": "message"}, CampaignContent)
    campaign = Campaign.create(content, created_by="op-1", meta=META)
    campaign.collect_events()
    return campaign


def options(**fields: object) -> ExecutionOptions:
    return msgspec.convert(fields, ExecutionOptions)


def in_state(status: str) -> Campaign:
    campaign = draft()
    if status == "scheduled":
        campaign.execute(options(scheduledAt="2026-06-02T00:00:00Z"), NOW, META, everyone)
    elif status in ("active", "paused", "completed"):
        campaign.execute(options(), NOW, META, everyone)
        if status == "paused":
            campaign.pause(META)
        if status == "completed":
            campaign.complete("done", META)
    elif status == "cancelled":
        campaign.cancel("no", META)
    campaign.collect_events()
    assert campaign.status == status
    return campaign


ACTIONS = {
    "execute": lambda c: c.execute(options(), NOW, META, everyone),
    "pause": lambda c: c.pause(META),
    "resume": lambda c: c.resume(META),
    "complete": lambda c: c.complete("done", META),
    "cancel": lambda c: c.cancel("stop", META),
    "start_scheduled": lambda c: c.start_scheduled(NOW, META, everyone),
}
ALLOWED = {
    ("draft", "execute"): ("active", "ExecutionStarted"),
    ("draft", "cancel"): ("cancelled", "Cancelled"),
    ("scheduled", "start_scheduled"): ("active", "ExecutionStarted"),
    ("scheduled", "cancel"): ("cancelled", "Cancelled"),
    ("scheduled", "complete"): ("completed", "Completed"),
    ("active", "pause"): ("paused", "Paused"),
    ("active", "complete"): ("completed", "Completed"),
    ("active", "cancel"): ("cancelled", "Cancelled"),
    ("paused", "resume"): ("active", "Resumed"),
    ("paused", "complete"): ("completed", "Completed"),
    ("paused", "cancel"): ("cancelled", "Cancelled"),
}
STATES = ["draft", "scheduled", "active", "paused", "completed", "cancelled"]


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_transition_is_allowed_or_refused_naming_the_state(status: str, action: str) -> None:
    campaign = in_state(status)
    version = campaign.version
    if (status, action) in ALLOWED:
        ACTIONS[action](campaign)
        target, event_name = ALLOWED[(status, action)]
        assert campaign.status == target
        assert [type(e).__name__ for e in campaign.collect_events()] == [event_name]
    else:
        with pytest.raises(InvalidStateTransition) as refused:
            ACTIONS[action](campaign)
        assert refused.value.details["status"] == status
        assert status in refused.value.message
        assert campaign.version == version
        assert campaign.collect_events() == []


def test_execute_records_the_options_and_an_execution_id() -> None:
    campaign = draft()
    execution_id = campaign.execute(
        options(testMode=True, targetPercentage=25, priority="high"), NOW, META, everyone
    )
    (started,) = campaign.collect_events()
    assert started.execution == {
        "executionId": execution_id,
        "testMode": True,
        "targetPercentage": 25,
        "priority": "high",
    }
    assert started.started_at == "2026-06-01T12:00:00Z"
    assert started.late is False


def test_execute_with_a_past_scheduled_time_starts_at_once() -> None:
    campaign = draft()
    campaign.execute(options(scheduledAt="2026-05-01T00:00:00Z"), NOW, META, everyone)
    assert campaign.status == "active"


def test_a_scheduled_start_after_downtime_is_recorded_as_late() -> None:
    campaign = in_state("scheduled")
    campaign.start_scheduled(NOW + timedelta(hours=13), META, everyone)
    (started,) = campaign.collect_events()
    assert started.late is True
    assert started.execution["scheduledAt"] == "2026-06-02T00:00:00Z"
    on_time = in_state("scheduled")
    on_time.start_scheduled(datetime(2026, 6, 2, 0, 0, 0, 500000, tzinfo=UTC), META, everyone)
    assert on_time.collect_events()[0].late is False


@pytest.mark.parametrize(
    ("status", "target", "event_name"),
    [
        ("draft", "active", "ExecutionStarted"),
        ("active", "paused", "Paused"),
        ("paused", "active", "Resumed"),
        ("active", "completed", "Completed"),
        ("paused", "cancelled", "Cancelled"),
        ("scheduled", "active", "ExecutionStarted"),
    ],
)
def test_a_status_change_follows_the_action_rules(
    status: str, target: str, event_name: str
) -> None:
    campaign = in_state(status)
    campaign.change_status(target, NOW, META, everyone)
    assert campaign.status == target
    assert [type(e).__name__ for e in campaign.collect_events()] == [event_name]


@pytest.mark.parametrize(
    ("status", "target"),
    [("active", "draft"), ("draft", "paused"), ("completed", "active"), ("draft", "scheduled")],
)
def test_a_status_change_that_no_action_allows_is_refused(status: str, target: str) -> None:
    with pytest.raises(InvalidStateTransition):
        in_state(status).change_status(target, NOW, META)


def test_setting_the_current_status_changes_nothing() -> None:
    campaign = in_state("paused")
    campaign.change_status("paused", NOW, META)
    assert campaign.collect_events() == []


def test_clone_copies_content_into_a_new_draft() -> None:
    source = in_state("completed")
    copy = source.clone(None, reset_statistics=True, created_by="op-2", meta=META)
    (created,) = copy.collect_events()
    assert copy.id != source.id
    assert copy.status == "draft"
    assert copy.content == {**source.content, "name": "Summer Sale (Copy)"}
    assert created.cloned_from == {"campaignId": str(source.id), "resetStatistics": True}
    named = source.clone("Autumn Sale", reset_statistics=False, created_by="op-2", meta=META)
    assert named.content["name"] == "Autumn Sale"


def test_deleting_a_running_campaign_is_refused_but_a_cancelled_one_can_go() -> None:
    with pytest.raises(EditNotAllowed):
        in_state("active").delete(META)
    cancelled = in_state("cancelled")
    cancelled.delete(META)
    assert cancelled.deleted


def test_a_campaign_past_its_end_date_cannot_be_executed() -> None:
    content = msgspec.convert(
        {"name": "Old", "type": "message", "endDate": "2026-05-01T00:00:00Z"}, CampaignContent
    )
    campaign = Campaign.create(content, created_by="op-1", meta=META)
    with pytest.raises(InvalidStateTransition) as refused:
        campaign.execute(options(), NOW, META, everyone)
    assert "endDate" in refused.value.message
