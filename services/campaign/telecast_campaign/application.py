"""The campaign service's eventsourcing Application: the only API of the write side.

Commands are decided in batches: every command of a batch is applied to its aggregate, then
all their new events are saved in one transaction. The event store serializes writers with a
table lock, so one commit for many commands is what lets throughput grow with concurrency.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import CampaignNotFound
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import (
    CampaignCommand,
    CommandResult,
    CreateCampaign,
    DeleteCampaign,
    UpdateCampaign,
)


class VersionConflict(Problem):
    code = ErrorCode.VERSION_CONFLICT


Outcome = CommandResult | Problem


class Campaigns(Application[uuid.UUID]):
    name = "campaigns"

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
        decided: list[tuple[uuid.UUID, int] | Problem] = []
        for command in commands:
            try:
                campaign = self._decide(command, touched)
            except Problem as problem:
                decided.append(problem)
                continue
            touched[campaign.id] = campaign
            decided.append((campaign.id, campaign.version))
        if not touched:
            return [d for d in decided if isinstance(d, Problem)]
        try:
            recordings = self.save(*touched.values())
        except IntegrityError:
            # Another writer (a second replica) saved one of these aggregates first. Alone,
            # a command that loses the race is a conflict; in a batch, retry each one alone
            # so that only the real losers fail.
            if len(commands) == 1:
                return [VersionConflict("the campaign was changed concurrently; retry")]
            return [outcome for command in commands for outcome in self.handle([command])]
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        outcomes: list[Outcome] = []
        for item in decided:
            if isinstance(item, Problem):
                outcomes.append(item)
                continue
            campaign_id, version = item
            campaign = touched[campaign_id]
            outcomes.append(
                CommandResult(
                    campaign_id=str(campaign_id),
                    version=version,
                    position=positions[(campaign_id, version)],
                    status=campaign.status,
                    name=campaign.content["name"],
                )
            )
        return outcomes

    def _decide(self, command: CampaignCommand, touched: dict[uuid.UUID, Campaign]) -> Campaign:
        meta: dict[str, Any] = to_builtins(command.meta)
        if isinstance(command, CreateCampaign):
            return Campaign.create(command.content, created_by=command.meta.actor.id, meta=meta)
        campaign = self._current(command.campaign_id, touched)
        campaign.check_version(command.expected_version)
        if isinstance(command, UpdateCampaign):
            campaign.update(command.changes, meta=meta)
        elif isinstance(command, DeleteCampaign):
            campaign.delete(meta=meta)
        return campaign

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
