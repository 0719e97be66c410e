"""Commands, queries, replies and events exchanged over NATS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import (
    CampaignChanges,
    CampaignContent,
    CloneOptions,
    ExecutionOptions,
)
from telecast_libs.contracts.errors import ErrorBody


class Actor(Wire):
    """Who caused a change: the operator behind the HTTP request."""

    id: str
    email: str | None = None
    role: str | None = None


class Request(Wire, tag_field="kind"):
    """Base of commands and queries: the ``kind`` field tells which one a message is."""


class CommandMeta(Wire):
    actor: Actor
    correlation_id: str
    causation_id: str | None = None


# Commands to the campaign service ---------------------------------------------------------


class CreateCampaign(Request, tag="create"):
    meta: CommandMeta
    content: CampaignContent
    # Chosen by the caller to make a retried create idempotent (the gateway derives it from
    # the Idempotency-Key); a second create with the same id answers the first one's result.
    campaign_id: str | None = None


class UpdateCampaign(Request, tag="update"):
    meta: CommandMeta
    campaign_id: str
    changes: CampaignChanges
    expected_version: int | None = None


class DeleteCampaign(Request, tag="delete"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


class ExecuteCampaign(Request, tag="execute"):
    meta: CommandMeta
    campaign_id: str
    options: ExecutionOptions
    expected_version: int | None = None


class PauseCampaign(Request, tag="pause"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


class ResumeCampaign(Request, tag="resume"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


class CloneCampaign(Request, tag="clone"):
    meta: CommandMeta
    campaign_id: str
    options: CloneOptions
    # As for CreateCampaign: the id of the copy, for an idempotent retry.
    new_campaign_id: str | None = None


class CompleteCampaign(Request, tag="complete"):
    """From the dispatcher (every recipient has an outcome) or the endDate scheduler."""

    meta: CommandMeta
    campaign_id: str
    reason: str


class StartScheduledExecution(Request, tag="start_scheduled"):
    """From the scheduler, when a scheduled execution is due."""

    meta: CommandMeta
    campaign_id: str


CampaignCommand = (
    CreateCampaign
    | UpdateCampaign
    | DeleteCampaign
    | ExecuteCampaign
    | PauseCampaign
    | ResumeCampaign
    | CloneCampaign
    | CompleteCampaign
    | StartScheduledExecution
)


class CommandResult(Wire):
    campaign_id: str
    version: int
    # Position of the command's last event in the event store's notification log; a read
    # model that has applied this position shows the command's effect (read-your-writes).
    position: int
    status: str | None = None
    name: str | None = None
    # When the command's last event happened, and the execution it started, if any.
    occurred_at: datetime | None = None
    execution_id: str | None = None


class CommandReply(Wire):
    ok: bool
    result: CommandResult | None = None
    error: ErrorBody | None = None


# Queries to the projection service --------------------------------------------------------


class ListCampaigns(Request, tag="list"):
    page: int = 1
    limit: int = 20
    status: str | None = None
    type: str | None = None
    sort: str = "-createdAt"
    search: str | None = None


class GetCampaign(Request, tag="get"):
    campaign_id: str


class GetStatistics(Request, tag="statistics"):
    campaign_id: str
    period: str = "all"
    # None: every section (overview, performance, timeline, segments).
    metrics: list[str] | None = None


class GetProgress(Request, tag="progress"):
    campaign_id: str


class AwaitPosition(Request, tag="await"):
    """Answer once the read model has applied ``position`` (or when ``timeout_ms`` passes)."""

    position: int
    timeout_ms: int = 2000


CampaignQuery = ListCampaigns | GetCampaign | GetStatistics | GetProgress | AwaitPosition


# Events -----------------------------------------------------------------------------------


class EventEnvelope(Wire, kw_only=True):
    """One stored event as published on JetStream.

    ``id`` is derived from (aggregate id, version), so a re-published event carries the same
    id and the same ``Nats-Msg-Id``; ``position`` is its place in the notification log.
    """

    id: str
    type: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    position: int
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: Actor | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
