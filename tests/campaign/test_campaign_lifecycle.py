"""The campaign lifecycle state machine, without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import (
    EditNotAllowed,
    InvalidStateTransition,
    ScheduleOutsideDates,
)
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
    "fail": lambda c: c.fail("every sending account is unusable", "NO_SENDER", META),
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
    ("active", "fail"): ("paused", "Failed"),
    ("paused", "resume"): ("active", "Resumed"),
    ("paused", "fail"): ("paused", "Failed"),
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


def dated(start: str | None = None, end: str | None = None) -> Campaign:
    fields = {"name": "Dated", "type": "message", "startDate": start, "endDate": end}
    content = msgspec.convert({k: v for k, v in fields.items() if v is not None}, CampaignContent)
    campaign = Campaign.create(content, created_by="op-1", meta=META)
    campaign.collect_events()
    return campaign


def test_executing_before_the_start_date_schedules_at_the_start_date() -> None:
    campaign = dated(start="2026-06-03T09:00:00Z")
    campaign.execute(options(), NOW, META, everyone)
    (scheduled,) = campaign.collect_events()
    assert campaign.status == "scheduled"
    assert scheduled.execution["scheduledAt"] == "2026-06-03T09:00:00Z"


def test_executing_once_the_start_date_has_passed_starts_at_once() -> None:
    campaign = dated(start="2026-05-01T00:00:00Z", end="2026-07-01T00:00:00Z")
    campaign.execute(options(), NOW, META, everyone)
    assert campaign.status == "active"


def test_a_scheduled_time_within_the_dates_is_kept() -> None:
    campaign = dated(start="2026-06-03T09:00:00Z", end="2026-06-10T00:00:00Z")
    campaign.execute(options(scheduledAt="2026-06-04T10:00:00Z"), NOW, META, everyone)
    (scheduled,) = campaign.collect_events()
    assert scheduled.execution["scheduledAt"] == "2026-06-04T10:00:00Z"


@pytest.mark.parametrize(
    ("scheduled_at", "says"),
    [
        ("2026-06-03T08:59:59Z", "before the campaign's startDate (2026-06-03T09:00:00Z)"),
        # In the past, so it would start now: still before startDate.
        ("2026-05-01T00:00:00Z", "before the campaign's startDate"),
        ("2026-06-10T00:00:00Z", "not before the campaign's endDate (2026-06-10T00:00:00Z)"),
        ("2026-07-01T00:00:00Z", "not before the campaign's endDate"),
    ],
)
def test_a_scheduled_time_outside_the_dates_is_refused(scheduled_at: str, says: str) -> None:
    campaign = dated(start="2026-06-03T09:00:00Z", end="2026-06-10T00:00:00Z")
    with pytest.raises(ScheduleOutsideDates) as refused:
        campaign.execute(options(scheduledAt=scheduled_at), NOW, META, everyone)
    assert refused.value.code == "SCHEDULE_OUTSIDE_DATES"
    assert says in refused.value.message
    assert refused.value.details["field"] == "scheduledAt"
    assert campaign.status == "draft" and not campaign.collect_events()


def test_a_status_change_to_active_before_the_start_date_schedules_it() -> None:
    campaign = dated(start="2026-06-03T09:00:00Z")
    campaign.change_status("active", NOW, META, audience=everyone)
    assert campaign.status == "scheduled"
    assert campaign.execution is not None
    assert campaign.execution["scheduledAt"] == "2026-06-03T09:00:00Z"


def test_a_pause_records_why_when_the_dispatcher_gives_a_reason() -> None:
    campaign = in_state("active")
    campaign.pause(META, reason="error rate 62% over the 50% threshold", code="ERROR_RATE")
    (paused,) = campaign.collect_events()
    assert (paused.reason, paused.code) == ("error rate 62% over the 50% threshold", "ERROR_RATE")
    by_operator = in_state("active")
    by_operator.pause(META)
    assert (by_operator.collect_events()[0].reason, by_operator.status) == (None, "paused")


def test_a_completion_records_its_code() -> None:
    campaign = in_state("active")
    campaign.complete("every recipient has an outcome", META, code="ALL_RECIPIENTS_DONE")
    (completed,) = campaign.collect_events()
    assert (completed.reason, completed.code) == (
        "every recipient has an outcome",
        "ALL_RECIPIENTS_DONE",
    )


def test_a_failed_execution_is_paused_with_its_reason_and_can_be_resumed() -> None:
    campaign = in_state("active")
    assert campaign.execution is not None
    execution_id = campaign.execution["executionId"]
    campaign.fail("every sending account is unusable", "NO_SENDER", META, execution_id)
    (failed,) = campaign.collect_events()
    assert campaign.status == "paused"
    assert (failed.reason, failed.code, failed.execution_id) == (
        "every sending account is unusable",
        "NO_SENDER",
        execution_id,
    )
    campaign.resume(META)
    assert campaign.status == "active"
    assert [type(e).__name__ for e in campaign.collect_events()] == ["Resumed"]


def test_a_failure_of_another_execution_is_refused() -> None:
    campaign = in_state("active")
    with pytest.raises(InvalidStateTransition) as refused:
        campaign.fail("stale", "NO_SENDER", META, execution_id="not-this-one")
    assert refused.value.details["executionId"] == campaign.execution["executionId"]
    assert campaign.collect_events() == []
    assert campaign.status == "active"


def test_a_failure_before_any_execution_is_refused() -> None:
    with pytest.raises(InvalidStateTransition) as refused:
        draft().fail("too early", "NO_SENDER", META)
    assert refused.value.details == {"status": "draft", "allowedFrom": ["active", "paused"]}
