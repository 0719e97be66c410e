"""Commands, queries, replies and events exchanged over NATS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent
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


class UpdateCampaign(Request, tag="update"):
    meta: CommandMeta
    campaign_id: str
    changes: CampaignChanges
    expected_version: int | None = None


class DeleteCampaign(Request, tag="delete"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


CampaignCommand = CreateCampaign | UpdateCampaign | DeleteCampaign


class CommandResult(Wire):
    campaign_id: str
    version: int
    # Position of the command's last event in the event store's notification log; a read
    # model that has applied this position shows the command's effect (read-your-writes).
    position: int
    status: str | None = None
    name: str | None = None


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


class AwaitPosition(Request, tag="await"):
    """Answer once the read model has applied ``position`` (or when ``timeout_ms`` passes)."""

    position: int
    timeout_ms: int = 2000


CampaignQuery = ListCampaigns | GetCampaign | AwaitPosition


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
