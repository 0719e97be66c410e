"""The campaign service's eventsourcing Application: the only API of the write side.

Commands are decided in batches: every command of a batch is applied to its aggregate, then
all their new events are saved in one transaction. The event store serializes writers with a
table lock, so one commit for many commands is what lets throughput grow with concurrency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import CampaignNotFound, ValidationFailed
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import (
    CampaignCommand,
    CloneCampaign,
    CommandResult,
    CompleteCampaign,
    CreateCampaign,
    DeleteCampaign,
    ExecuteCampaign,
    PauseCampaign,
    ResumeCampaign,
    StartScheduledExecution,
    UpdateCampaign,
)


class VersionConflict(Problem):
    code = ErrorCode.VERSION_CONFLICT


Outcome = CommandResult | Problem


@dataclass
class _Decision:
    campaign: Campaign
    version: int
    execution_id: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Campaigns(Application[uuid.UUID]):
    name = "campaigns"
    clock: Callable[[], datetime] = staticmethod(_utc_now)

    def get_campaign(self, campaign_id: str) -> Campaign:
        try:
            campaign = self.repository.get(uuid.UUID(campaign_id))
        except (ValueError, AggregateNotFoundError):
            raise CampaignNotFound(f"campaign {campaign_id} does not exist") from None
        if campaign.deleted:
            raise CampaignNotFound(f"campaign {campaign_id} was deleted")
        return campaign

    def handle(self, commands: list[CampaignCommand]) -> list[Outcome]:
        """Decide and save a batch of commands; one outcome per command, in order."""
        touched: dict[uuid.UUID, Campaign] = {}
        decided: list[_Decision | Problem] = []
        for command in commands:
            try:
                decision = self._decide(command, touched)
            except Problem as problem:
                decided.append(problem)
                continue
            touched[decision.campaign.id] = decision.campaign
            decided.append(decision)
        recordings = []
        if any(campaign.pending_events for campaign in touched.values()):
            try:
                recordings = self.save(*touched.values())
            except IntegrityError:
                # Another writer (a second replica, the scheduler) saved one of these
                # aggregates first. Alone, a command that loses the race is a conflict; in a
                # batch, retry each one alone so that only the real losers fail.
                if len(commands) == 1:
                    return [VersionConflict("the campaign was changed concurrently; retry")]
                return [outcome for command in commands for outcome in self.handle([command])]
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        return [self._outcome(item, positions) for item in decided]

    def _outcome(
        self, item: _Decision | Problem, positions: dict[tuple[uuid.UUID, int], int]
    ) -> Outcome:
        if isinstance(item, Problem):
            return item
        campaign = item.campaign
        position = positions.get((campaign.id, item.version))
        if position is None:
            # Nothing was recorded for this command (a replayed create, a no-op update):
            # any position at or after the campaign's last event will do for a reader.
            position = self.recorder.max_notification_id() or 0
        return CommandResult(
            campaign_id=str(campaign.id),
            version=item.version,
            position=position,
            status=campaign.status,
            name=campaign.content["name"],
            occurred_at=campaign.modified_on,
            execution_id=item.execution_id,
        )

    def _decide(self, command: CampaignCommand, touched: dict[uuid.UUID, Campaign]) -> _Decision:
        meta: dict[str, Any] = to_builtins(command.meta)
        if isinstance(command, CreateCampaign):
            existing = self._existing(command.campaign_id, touched)
            if existing is not None:
                return _Decision(existing, existing.version)
            created = Campaign.create(
                command.content,
                created_by=command.meta.actor.id,
                meta=meta,
                campaign_id=_uuid(command.campaign_id),
            )
            return _Decision(created, created.version)
        if isinstance(command, CloneCampaign):
            existing = self._existing(command.new_campaign_id, touched)
            if existing is not None:
                return _Decision(existing, existing.version)
            source = self._current(command.campaign_id, touched)
            copy = source.clone(
                command.options.name,
                command.options.reset_statistics,
                created_by=command.meta.actor.id,
                meta=meta,
                campaign_id=_uuid(command.new_campaign_id),
            )
            return _Decision(copy, copy.version)

        campaign = self._current(command.campaign_id, touched)
        campaign.check_version(getattr(command, "expected_version", None))
        execution_id = None
        now = self.clock()
        if isinstance(command, UpdateCampaign):
            if not to_builtins(command.changes):
                raise ValidationFailed("nothing to change: the body names no field")
            campaign.update(command.changes, meta=meta)
            if command.changes.status is not None:
                campaign.change_status(command.changes.status.value, now, meta=meta)
        elif isinstance(command, DeleteCampaign):
            campaign.delete(meta=meta)
        elif isinstance(command, ExecuteCampaign):
            execution_id = campaign.execute(command.options, now, meta=meta)
        elif isinstance(command, PauseCampaign):
            campaign.pause(meta=meta)
        elif isinstance(command, ResumeCampaign):
            campaign.resume(meta=meta)
        elif isinstance(command, CompleteCampaign):
            campaign.complete(command.reason, meta=meta)
        elif isinstance(command, StartScheduledExecution):
            campaign.start_scheduled(now, meta=meta)
        if campaign.execution is not None and execution_id is None:
            execution_id = campaign.execution.get("executionId")
        return _Decision(campaign, campaign.version, execution_id)

    def _existing(
        self, campaign_id: str | None, touched: dict[uuid.UUID, Campaign]
    ) -> Campaign | None:
        if campaign_id is None:
            return None
        try:
            return self._current(campaign_id, touched)
        except CampaignNotFound:
            return None

    def _current(self, campaign_id: str, touched: dict[uuid.UUID, Campaign]) -> Campaign:
        try:
            pending = touched.get(uuid.UUID(campaign_id))
        except ValueError:
            pending = None
        if pending is not None:
            if pending.deleted:
                raise CampaignNotFound(f"campaign {campaign_id} was deleted")
            return pending
        return self.get_campaign(campaign_id)


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value is not None else None
