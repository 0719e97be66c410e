"""The Campaign aggregate: its events, its lifecycle, and which change is allowed when.

Lifecycle (``INVALID_STATE_TRANSITION`` for anything else)::

    draft ──execute──▶ active ──pause──▶ paused ──resume──▶ active ──complete──▶ completed
      └─execute(scheduledAt or startDate in the future)─▶ scheduled ──(due)──▶ active
    active, paused ──fail (the dispatcher cannot go on)──▶ paused
    scheduled, paused ──complete (endDate reached)──▶ completed
    draft, scheduled, active, paused ──cancel──▶ cancelled
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from telecast_campaign.domain.audience import AudienceCounts, AudienceOf, NoCounts
from telecast_campaign.domain.errors import (
    ChangeConflicts,
    EditNotAllowed,
    InvalidStateTransition,
    ScheduleOutsideDates,
    StaleVersion,
    ValidationFailed,
)
from telecast_campaign.domain.invitation import require_invitation
from telecast_campaign.domain.merge_patch import own_problem, patched
from telecast_campaign.domain.message_content import (
    MessagesOf,
    TemplateOf,
    check_template_fields,
)
from telecast_campaign.domain.rules import check_content, stored_form
from telecast_libs.contracts.base import decode, encode, to_builtins
from telecast_libs.contracts.campaigns import (
    CampaignChanges,
    CampaignContent,
    CampaignStatus,
    ExecutionOptions,
)

DRAFT = CampaignStatus.DRAFT.value
SCHEDULED = CampaignStatus.SCHEDULED.value
ACTIVE = CampaignStatus.ACTIVE.value
PAUSED = CampaignStatus.PAUSED.value
COMPLETED = CampaignStatus.COMPLETED.value
CANCELLED = CampaignStatus.CANCELLED.value

# Content that shapes who receives what: frozen once the campaign leaves draft.
_AUDIENCE_AND_MESSAGES = frozenset({"targetAudience", "messages", "type", "invitation"})
_FINAL = frozenset({COMPLETED, CANCELLED})
_DELETABLE = frozenset({DRAFT, CANCELLED})
# A scheduled start this much after its time is recorded as late.
_LATE_AFTER_SECONDS = 1.0


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


_NO_COUNTS = NoCounts()


def _no_templates(template_id: str) -> None:
    """For callers that have no templates to look up (they are checked at execute)."""
    return None


class Campaign(Aggregate):
    """A marketing campaign. Its public methods are the commands: each checks its rule and
    records one event (a private method decorated with ``@event``).

    ``meta`` (actor, correlation and causation ids) travels inside every event, so the
    stored stream says who did what, and why, without a side table.
    """

    # Creation ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        content: CampaignContent,
        created_by: str,
        meta: dict[str, Any],
        campaign_id: uuid.UUID | None = None,
        templates: TemplateOf = _no_templates,
        counts: AudienceCounts = _NO_COUNTS,
    ) -> Campaign:
        check_content(content)
        stored = stored_form(content)
        check_template_fields(stored, templates)
        return cls._create(
            cls.Created,
            id=campaign_id or uuid.uuid4(),
            content=stored,
            created_by=created_by,
            cloned_from=None,
            meta=meta,
            audience_count=counts.of_content(stored),
        )

    def clone(
        self,
        name: str | None,
        reset_statistics: bool,
        created_by: str,
        meta: dict[str, Any],
        campaign_id: uuid.UUID | None = None,
        counts: AudienceCounts = _NO_COUNTS,
        baseline: dict[str, Any] | None = None,
    ) -> Campaign:
        """A new draft with this campaign's content and audience. With ``reset_statistics``
        false, the copy carries ``baseline``: this campaign's statistics as they were when
        it was copied (the caller reads them from the read model), shown apart from the
        copy's own figures, which start from zero like any campaign's."""
        content = {**self.content, "name": name or f"{self.content['name']} (Copy)"}
        stored = stored_form(decode(encode(content), CampaignContent))
        cloned_from: dict[str, Any] = {
            "campaignId": str(self.id),
            "resetStatistics": reset_statistics,
        }
        if not reset_statistics and baseline is not None:
            cloned_from["baseline"] = baseline
        return Campaign._create(
            Campaign.Created,
            id=campaign_id or uuid.uuid4(),
            content=stored,
            created_by=created_by,
            cloned_from=cloned_from,
            meta=meta,
            audience_count=counts.of_content(stored),
        )

    @event("Created")
    def __init__(
        self,
        content: dict[str, Any],
        created_by: str,
        cloned_from: dict[str, Any] | None,
        meta: dict[str, Any],
        # {"totalCount", "countedAt"}: the audience's size when the event was recorded (None
        # in events recorded before counts were carried, or when it could not be counted).
        audience_count: dict[str, Any] | None = None,
    ) -> None:
        self.content = content
        self.created_by = created_by
        self.status = DRAFT
        self.execution: dict[str, Any] | None = None
        # Who the started execution is for, as resolved when it started (Audience.record).
        self.audience: dict[str, Any] | None = None
        # What the execution sends, as resolved when it was executed (message_content).
        self.messages: list[dict[str, Any]] | None = None
        self.deleted = False

    # Content ----------------------------------------------------------------------------

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"campaign is at version {self.version}, not {expected}",
                details={"currentVersion": self.version},
            )

    def update(
        self,
        changes: CampaignChanges,
        meta: dict[str, Any],
        templates: TemplateOf = _no_templates,
        counts: AudienceCounts = _NO_COUNTS,
    ) -> None:
        """Apply ``changes`` as a JSON Merge Patch (RFC 7396): absent keeps, null removes,
        objects merge, lists replace. The event records the new value of each top-level
        field the patch names (None for one it removed)."""
        patch = to_builtins(changes)
        patch.pop("status", None)  # a status change is a lifecycle command, not an edit
        if not patch:
            return
        if self.status in _FINAL:
            raise EditNotAllowed(
                f"a {self.status} campaign cannot be edited", details={"status": self.status}
            )
        if self.status != DRAFT and _AUDIENCE_AND_MESSAGES & patch.keys():
            fields = sorted(_AUDIENCE_AND_MESSAGES & patch.keys())
            raise EditNotAllowed(
                f"{', '.join(fields)} can only change while the campaign is a draft",
                details={"status": self.status, "fields": fields},
            )
        try:
            merged = patched(self.content, patch)
            check_content(merged)
        except ValidationFailed as problem:
            # The body's own fault (400), or only with what is stored (409).
            raise own_problem(patch, check_content) or ChangeConflicts(
                f"{problem.message}, once this change is applied to the campaign as stored",
                details=problem.details,
            ) from None
        new_content = stored_form(merged)
        check_template_fields(new_content, templates)
        self._updated(
            changes={k: new_content.get(k) for k in patch},
            meta=meta,
            # Only a draft's edits can change who it is for (the audience is frozen after).
            audience_count=counts.of_content(new_content) if self.status == DRAFT else None,
        )

    @event("Updated")
    def _updated(
        self,
        changes: dict[str, Any],
        meta: dict[str, Any],
        audience_count: dict[str, Any] | None = None,
    ) -> None:
        # None: the field was removed.
        merged = {**self.content, **changes}
        self.content = {k: v for k, v in merged.items() if v is not None}

    def delete(self, meta: dict[str, Any]) -> None:
        if self.status not in _DELETABLE:
            raise EditNotAllowed(
                f"only draft or cancelled campaigns can be deleted; this one is {self.status}",
                details={"status": self.status},
            )
        self._deleted(meta=meta)

    @event("Deleted")
    def _deleted(self, meta: dict[str, Any]) -> None:
        self.deleted = True

    # Lifecycle --------------------------------------------------------------------------

    def _require(self, action: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise InvalidStateTransition(
                f"cannot {action} a campaign that is {self.status}",
                details={"status": self.status, "allowedFrom": list(allowed)},
            )

    def execute(
        self,
        options: ExecutionOptions,
        now: datetime,
        meta: dict[str, Any],
        audience: AudienceOf,
        messages: MessagesOf | None = None,
        counts: AudienceCounts = _NO_COUNTS,
    ) -> str:
        """Start now, or schedule for when the execution is due (``start_time``).

        ``audience`` looks the campaign's segments up as they are now: every segment must
        exist (SEGMENT_NOT_FOUND otherwise). A start records the audience, so that editing
        a segment later does not change who the execution is for; a scheduled execution
        records the audience of the moment it starts. An invitation campaign must say which
        chat it invites to (VALIDATION_ERROR otherwise)."""
        self._require("execute", DRAFT)
        end = self.content.get("endDate")
        if end is not None and datetime.fromisoformat(end) <= now:
            raise InvalidStateTransition(
                f"cannot execute a campaign whose endDate ({end}) has passed",
                details={"status": self.status, "endDate": end},
            )
        due = self.start_time(options.scheduled_at)
        require_invitation(self.content)
        resolved = audience(True)
        # Templates are resolved (TEMPLATE_NOT_FOUND if one is missing) and recorded now, also
        # for a scheduled start: what was executed is what is sent.
        recorded = messages() if messages is not None else None
        execution = {
            "executionId": str(uuid.uuid4()),
            "testMode": options.test_mode,
            "targetPercentage": options.target_percentage,
            "priority": options.priority.value,
        }
        if due is not None and due > now:
            execution["scheduledAt"] = _iso(due)
            self._scheduled(execution=execution, meta=meta, messages=recorded)
        else:
            started = resolved.record(options.test_mode)
            self._started(
                execution=execution,
                started_at=_iso(now),
                late=False,
                meta=meta,
                audience=started,
                messages=recorded,
                audience_count=counts.of_execution(started, {**execution, "startedAt": _iso(now)}),
            )
        return execution["executionId"]

    def start_time(self, scheduled_at: datetime | None) -> datetime | None:
        """When an execution asked for at ``scheduled_at`` (None: now) is due, within the
        campaign's dates: not before ``startDate`` (an execution without ``scheduledAt``
        waits for it), and before ``endDate``. None: at once. A ``scheduledAt`` outside the
        dates is refused (SCHEDULE_OUTSIDE_DATES) rather than moved: the operator chose it."""
        start = self.content.get("startDate")
        end = self.content.get("endDate")
        if scheduled_at is None:
            return datetime.fromisoformat(start) if start is not None else None
        if start is not None and scheduled_at < datetime.fromisoformat(start):
            raise ScheduleOutsideDates(
                f"scheduledAt ({_iso(scheduled_at)}) is before the campaign's startDate "
                f"({start}); schedule it at or after startDate, or change startDate",
                details={"field": "scheduledAt", "startDate": start, "endDate": end},
            )
        if end is not None and scheduled_at >= datetime.fromisoformat(end):
            raise ScheduleOutsideDates(
                f"scheduledAt ({_iso(scheduled_at)}) is not before the campaign's endDate "
                f"({end}); schedule it before endDate, or change endDate",
                details={"field": "scheduledAt", "startDate": start, "endDate": end},
            )
        return scheduled_at

    @event("ExecutionScheduled")
    def _scheduled(
        self,
        execution: dict[str, Any],
        meta: dict[str, Any],
        messages: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = SCHEDULED
        self.execution = execution
        self.messages = messages

    def start_scheduled(
        self,
        now: datetime,
        meta: dict[str, Any],
        audience: AudienceOf,
        counts: AudienceCounts = _NO_COUNTS,
    ) -> None:
        """The scheduled time has come (or passed, while the service was down). A segment
        deleted since the campaign was scheduled is left out rather than holding the start
        back; the recorded audience names it."""
        self._require("start", SCHEDULED)
        assert self.execution is not None
        due = datetime.fromisoformat(self.execution["scheduledAt"])
        late = (now - due).total_seconds() > _LATE_AFTER_SECONDS
        started = audience(False).record(self.execution["testMode"])
        self._started(
            execution=self.execution,
            started_at=_iso(now),
            late=late,
            meta=meta,
            audience=started,
            messages=self.messages,
            audience_count=counts.of_execution(started, {**self.execution, "startedAt": _iso(now)}),
        )

    @event("ExecutionStarted")
    def _started(
        self,
        execution: dict[str, Any],
        started_at: str,
        late: bool,
        meta: dict[str, Any],
        # None in events recorded before audiences existed.
        audience: dict[str, Any] | None = None,
        # None in events recorded before messages were resolved at execute.
        messages: list[dict[str, Any]] | None = None,
        # The started audience's size (see Created); None in older events.
        audience_count: dict[str, Any] | None = None,
    ) -> None:
        self.status = ACTIVE
        self.execution = {**execution, "startedAt": started_at, "late": late}
        self.audience = audience
        self.messages = messages

    def pause(
        self, meta: dict[str, Any], reason: str | None = None, code: str | None = None
    ) -> None:
        """``reason`` and ``code`` say why when the dispatcher's guards pause (an error rate,
        an exhausted budget); an operator's pause gives neither."""
        self._require("pause", ACTIVE)
        self._paused(meta=meta, reason=reason, code=code)

    @event("Paused")
    def _paused(
        self,
        meta: dict[str, Any],
        # None in events recorded before pauses had reasons, and for operators' pauses.
        reason: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status = PAUSED

    def fail(
        self, reason: str, code: str, meta: dict[str, Any], execution_id: str | None = None
    ) -> None:
        """The dispatcher stopped the execution on an error it cannot get past (every
        sending account unusable, say). The spec has no "failed" status: the campaign is
        paused, so that an operator can fix the cause and resume. ``execution_id``, when
        given, must name this campaign's execution (a stale report changes nothing)."""
        self._require("fail", ACTIVE, PAUSED)
        assert self.execution is not None
        current = self.execution["executionId"]
        if execution_id is not None and execution_id != current:
            raise InvalidStateTransition(
                f"cannot fail execution {execution_id}: this campaign's execution is {current}",
                details={"status": self.status, "executionId": current},
            )
        self._failed(reason=reason, code=code, execution_id=current, meta=meta)

    @event("Failed")
    def _failed(self, reason: str, code: str, execution_id: str, meta: dict[str, Any]) -> None:
        self.status = PAUSED

    def resume(self, meta: dict[str, Any]) -> None:
        self._require("resume", PAUSED)
        self._resumed(meta=meta)

    @event("Resumed")
    def _resumed(self, meta: dict[str, Any]) -> None:
        self.status = ACTIVE

    def complete(self, reason: str, meta: dict[str, Any], code: str | None = None) -> None:
        # A scheduled campaign whose endDate comes before its start completes unsent.
        self._require("complete", SCHEDULED, ACTIVE, PAUSED)
        self._completed(reason=reason, meta=meta, code=code)

    @event("Completed")
    def _completed(
        self,
        reason: str,
        meta: dict[str, Any],
        # None in events recorded before completions had codes, and for operators'.
        code: str | None = None,
    ) -> None:
        self.status = COMPLETED

    def cancel(self, reason: str, meta: dict[str, Any]) -> None:
        self._require("cancel", DRAFT, SCHEDULED, ACTIVE, PAUSED)
        self._cancelled(reason=reason, meta=meta)

    @event("Cancelled")
    def _cancelled(self, reason: str, meta: dict[str, Any]) -> None:
        self.status = CANCELLED

    def change_status(
        self,
        target: str,
        now: datetime,
        meta: dict[str, Any],
        audience: AudienceOf | None = None,
        messages: MessagesOf | None = None,
        counts: AudienceCounts = _NO_COUNTS,
    ) -> None:
        """A ``status`` in an update: the same rules as the action commands. ``audience`` is
        needed when the change starts an execution (to ``active`` from draft or scheduled),
        ``messages`` when it executes a draft."""
        if target == self.status:
            return
        if target == ACTIVE and self.status in (DRAFT, SCHEDULED):
            if audience is None:
                raise ValueError("starting an execution needs the campaign's audience")
            if self.status == DRAFT:
                self.execute(ExecutionOptions(), now, meta, audience, messages, counts)
            else:
                self.start_scheduled(now, meta, audience, counts)
        elif target == ACTIVE:
            self.resume(meta)
        elif target == PAUSED:
            self.pause(meta)
        elif target == COMPLETED:
            self.complete("completed by an operator", meta)
        elif target == CANCELLED:
            self.cancel("cancelled by an operator", meta)
        else:
            raise InvalidStateTransition(
                f"a campaign cannot be set back to {target}; it is {self.status}",
                details={"status": self.status},
            )
