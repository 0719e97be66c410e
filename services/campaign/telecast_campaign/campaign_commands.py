"""How each campaign command is decided: which aggregate, which method, what it answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from telecast_campaign.application import Decision, Workspace, decides
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


@decides(CreateCampaign)
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


@decides(CloneCampaign)
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


@decides(
    UpdateCampaign,
    DeleteCampaign,
    ExecuteCampaign,
    PauseCampaign,
    ResumeCampaign,
    CompleteCampaign,
    FailCampaign,
    StartScheduledExecution,
)
def change(workspace: Workspace, command: Any, meta: dict[str, Any]) -> Decision:
    campaign = workspace.get(Campaign, command.campaign_id, CampaignNotFound)
    campaign.check_version(getattr(command, "expected_version", None))
    now = workspace.now
    execution_id = None
    lookup = workspace_lookup(workspace)
    counts = _Counts(workspace)

    def audience(strict: bool) -> Audience:
        return audience_of(campaign.content, lookup, strict=strict)

    def messages() -> list[dict[str, Any]]:
        return resolve_messages(workspace, campaign.content)

    if isinstance(command, UpdateCampaign):
        if not to_builtins(command.changes):
            raise ValidationFailed("nothing to change: the body names no field")
        campaign.update(
            command.changes,
            meta=meta,
            templates=lambda template_id: find_template(workspace, template_id),
            counts=counts,
        )
        if command.changes.status is not msgspec.UNSET:
            campaign.change_status(
                command.changes.status.value,
                now,
                meta=meta,
                audience=audience,
                messages=messages,
                counts=counts,
            )
    elif isinstance(command, DeleteCampaign):
        campaign.delete(meta=meta)
    elif isinstance(command, ExecuteCampaign):
        execution_id = campaign.execute(
            command.options, now, meta=meta, audience=audience, messages=messages, counts=counts
        )
    elif isinstance(command, PauseCampaign):
        campaign.pause(meta=meta, reason=command.reason, code=command.code)
    elif isinstance(command, ResumeCampaign):
        campaign.resume(meta=meta)
    elif isinstance(command, CompleteCampaign):
        campaign.complete(command.reason, meta=meta, code=command.code)
    elif isinstance(command, FailCampaign):
        campaign.fail(command.reason, command.code, meta=meta, execution_id=command.execution_id)
    elif isinstance(command, StartScheduledExecution):
        campaign.start_scheduled(now, meta=meta, audience=audience, counts=counts)
    return _decision(campaign, execution_id)


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value is not None else None
