"""How each campaign command is decided: which aggregate, which method, what it answers.
One function per command; the service's bootstrap maps each command type to its function."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from telecast_campaign.application import Decision, Workspace
from telecast_campaign.audience.selection import Scope
from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import SCHEDULED, Campaign
from telecast_campaign.domain.errors import CampaignNotFound, ValidationFailed
from telecast_campaign.domain.filters import parse
from telecast_campaign.segment_commands import audience_of, workspace_lookup
from telecast_campaign.template_commands import find_template, resolve_messages
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.messages import (
    CloneCampaign,
    CompleteCampaign,
    CreateCampaign,
    DeleteCampaign,
    ExecuteCampaign,
    FailCampaign,
    PauseCampaign,
    ResumeCampaign,
    StartScheduledExecution,
    UpdateCampaign,
)


class _Counts:
    """The domain's ``AudienceCounts`` for one batch: the audience looked up as the batch
    sees it, its contacts counted by the application's ``ContactCounter``."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def of_content(self, content: dict[str, Any]) -> dict[str, Any] | None:
        audience = audience_of(content, workspace_lookup(self.workspace), strict=False)
        return self._count(Scope(audience.filter()))

    def of_execution(
        self, audience: dict[str, Any], execution: dict[str, Any]
    ) -> dict[str, Any] | None:
        scope = Scope(
            filter=parse(audience["filter"]),
            started_at=datetime.fromisoformat(execution["startedAt"]),
            execution_id=execution["executionId"],
            percentage=execution.get("targetPercentage", 100),
        )
        return self._count(scope)

    def _count(self, scope: Scope) -> dict[str, Any] | None:
        counter = self.workspace.app.contact_counter
        if counter is None:
            return None
        key = (repr(scope.filter), scope.started_at, scope.execution_id, scope.percentage)
        if key not in self.workspace.counted:
            self.workspace.counted[key] = counter.count(scope)
        total = self.workspace.counted[key]
        if total is None:
            return None
        counted_at = self.workspace.now.isoformat().replace("+00:00", "Z")
        return {"totalCount": total, "countedAt": counted_at}


def _decision(campaign: Campaign, execution_id: str | None = None) -> Decision:
    scheduled_at = None
    if campaign.execution is not None:
        execution_id = execution_id or campaign.execution.get("executionId")
        if campaign.status == SCHEDULED:
            scheduled_at = datetime.fromisoformat(campaign.execution["scheduledAt"])
    return Decision(
        campaign,
        campaign.version,
        name=campaign.content["name"],
        status=campaign.status,
        execution_id=execution_id,
        scheduled_at=scheduled_at,
    )


def create(workspace: Workspace, command: CreateCampaign, meta: dict[str, Any]) -> Decision:
    existing = workspace.find(Campaign, command.campaign_id)
    if existing is not None:
        return _decision(existing)
    campaign = Campaign.create(
        command.content,
        created_by=command.meta.actor.id,
        meta=meta,
        campaign_id=_uuid(command.campaign_id),
        templates=lambda template_id: find_template(workspace, template_id),
        counts=_Counts(workspace),
    )
    return _decision(campaign)


def clone(workspace: Workspace, command: CloneCampaign, meta: dict[str, Any]) -> Decision:
    existing = workspace.find(Campaign, command.new_campaign_id)
    if existing is not None:
        return _decision(existing)
    source = workspace.get(Campaign, command.campaign_id, CampaignNotFound)
    copy = source.clone(
        command.options.name,
        command.options.reset_statistics,
        created_by=command.meta.actor.id,
        meta=meta,
        campaign_id=_uuid(command.new_campaign_id),
        counts=_Counts(workspace),
        baseline=to_builtins(command.baseline) if command.baseline is not None else None,
    )
    return _decision(copy)


def update(workspace: Workspace, command: UpdateCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    if not to_builtins(command.changes):
        raise ValidationFailed("nothing to change: the body names no field")
    counts = _Counts(workspace)
    campaign.update(
        command.changes,
        meta=meta,
        templates=lambda template_id: find_template(workspace, template_id),
        counts=counts,
    )
    if command.changes.status is not msgspec.UNSET:
        campaign.change_status(
            command.changes.status.value,
            workspace.now,
            meta=meta,
            audience=_audience(workspace, campaign),
            messages=lambda: resolve_messages(workspace, campaign.content),
            counts=counts,
        )
    return _decision(campaign)


def delete(workspace: Workspace, command: DeleteCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.delete(meta=meta)
    return _decision(campaign)


def execute(workspace: Workspace, command: ExecuteCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    execution_id = campaign.execute(
        command.options,
        workspace.now,
        meta=meta,
        audience=_audience(workspace, campaign),
        messages=lambda: resolve_messages(workspace, campaign.content),
        counts=_Counts(workspace),
    )
    return _decision(campaign, execution_id)


def pause(workspace: Workspace, command: PauseCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.pause(meta=meta, reason=command.reason, code=command.code)
    return _decision(campaign)


def resume(workspace: Workspace, command: ResumeCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.resume(meta=meta)
    return _decision(campaign)


def complete(workspace: Workspace, command: CompleteCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.complete(command.reason, meta=meta, code=command.code)
    return _decision(campaign)


def fail(workspace: Workspace, command: FailCampaign, meta: dict[str, Any]) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.fail(command.reason, command.code, meta=meta, execution_id=command.execution_id)
    return _decision(campaign)


def start_scheduled(
    workspace: Workspace, command: StartScheduledExecution, meta: dict[str, Any]
) -> Decision:
    campaign = _campaign(workspace, command)
    campaign.start_scheduled(
        workspace.now, meta=meta, audience=_audience(workspace, campaign), counts=_Counts(workspace)
    )
    return _decision(campaign)


def _campaign(workspace: Workspace, command: Any) -> Campaign:
    """The campaign a command changes, at the version the command expects (if it says)."""
    campaign = workspace.get(Campaign, command.campaign_id, CampaignNotFound)
    campaign.check_version(getattr(command, "expected_version", None))
    return campaign


def _audience(workspace: Workspace, campaign: Campaign) -> Callable[[bool], Audience]:
    """The campaign's audience, its segments looked up as the batch sees them."""
    lookup = workspace_lookup(workspace)
    return lambda strict: audience_of(campaign.content, lookup, strict=strict)


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value is not None else None
