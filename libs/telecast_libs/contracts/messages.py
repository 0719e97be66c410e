"""Commands, queries, replies and events exchanged over NATS."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import (
    CampaignChanges,
    CampaignContent,
    CloneOptions,
    ExecutionOptions,
)
from telecast_libs.contracts.errors import ErrorBody
from telecast_libs.contracts.views import StatisticsBaseline


class Actor(Wire):
    """Who caused a change: the operator behind the HTTP request."""

    id: str
    email: str | None = None
    role: str | None = None


class Request(Wire, tag_field="kind"):
    """Base of commands and queries: ``kind`` ("<area>.<name>") tells which one a message is
    and names its subject (``Subjects.command(kind)`` / ``Subjects.query(kind)``)."""


class CommandMeta(Wire):
    actor: Actor
    correlation_id: str
    causation_id: str | None = None


# Commands to the campaign service ---------------------------------------------------------


class CreateCampaign(Request, tag="campaign.create"):
    meta: CommandMeta
    content: CampaignContent
    # Chosen by the caller to make a retried create idempotent (the gateway derives it from
    # the Idempotency-Key); a second create with the same id answers the first one's result.
    campaign_id: str | None = None


class UpdateCampaign(Request, tag="campaign.update"):
    meta: CommandMeta
    campaign_id: str
    changes: CampaignChanges
    expected_version: int | None = None


class DeleteCampaign(Request, tag="campaign.delete"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


class ExecuteCampaign(Request, tag="campaign.execute"):
    meta: CommandMeta
    campaign_id: str
    options: ExecutionOptions
    expected_version: int | None = None


class PauseCampaign(Request, tag="campaign.pause"):
    """From the gateway (an operator: no reason) or the dispatcher's guards."""

    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None
    # Why, for people ("error rate 62% over the 50% threshold") and for programs
    # ("ERROR_RATE", "BUDGET_EXHAUSTED").
    reason: str | None = None
    code: str | None = None


class ResumeCampaign(Request, tag="campaign.resume"):
    meta: CommandMeta
    campaign_id: str
    expected_version: int | None = None


class CloneCampaign(Request, tag="campaign.clone"):
    meta: CommandMeta
    campaign_id: str
    options: CloneOptions
    # As for CreateCampaign: the id of the copy, for an idempotent retry.
    new_campaign_id: str | None = None
    # With resetStatistics false: the source's statistics as the read model shows them now
    # (the gateway reads them), for the copy to carry.
    baseline: StatisticsBaseline | None = None


class CompleteCampaign(Request, tag="campaign.complete"):
    """From the dispatcher (every recipient has an outcome) or the endDate scheduler."""

    meta: CommandMeta
    campaign_id: str
    reason: str
    # For programs: "ALL_RECIPIENTS_DONE", "BUDGET_EXHAUSTED", "END_DATE".
    code: str | None = None


class FailCampaign(Request, tag="campaign.fail"):
    """From the dispatcher: the execution stopped on an error it cannot get past (every
    sending account unusable, say). The campaign is paused until an operator resumes it."""

    meta: CommandMeta
    campaign_id: str
    reason: str
    code: str
    # The execution the dispatcher was running; a report about another one is refused.
    execution_id: str | None = None


class StartScheduledExecution(Request, tag="campaign.start_scheduled"):
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
    | FailCampaign
    | StartScheduledExecution
)


class CommandResult(Wire):
    # The aggregate the command created or changed (a campaign, segment or template).
    aggregate_id: str
    version: int
    # Position of the command's last event in the event store's notification log; a read
    # model that has applied this position shows the command's effect (read-your-writes).
    position: int
    status: str | None = None
    name: str | None = None
    # When the command's last event happened, and the execution it started, if any.
    occurred_at: datetime | None = None
    execution_id: str | None = None
    # When the execution starts, if it is scheduled.
    scheduled_at: datetime | None = None


class CommandReply(Wire):
    ok: bool
    result: CommandResult | None = None
    error: ErrorBody | None = None


# Queries to the projection service --------------------------------------------------------


class ListCampaigns(Request, tag="campaign.list"):
    page: int = 1
    limit: int = 20
    status: str | None = None
    type: str | None = None
    sort: str = "-createdAt"
    search: str | None = None


class GetCampaign(Request, tag="campaign.get"):
    campaign_id: str


class GetStatistics(Request, tag="campaign.statistics"):
    campaign_id: str
    period: str = "all"
    # None: every section (overview, performance, timeline, segments).
    metrics: list[str] | None = None


class GetProgress(Request, tag="campaign.progress"):
    campaign_id: str


class EstimateExecution(Request, tag="campaign.estimate"):
    """When the campaign's execution (just started or scheduled) completes: ``recipients``
    as the campaign service counted them, sent at ``rate`` messages per second (the
    dispatcher's capacity) after the work queued ahead of it."""

    campaign_id: str
    recipients: int
    rate: float


class AwaitPosition(Request, tag="readmodel.await"):
    """Answer once the read model has applied ``position`` (or when ``timeout_ms`` passes)."""

    position: int
    timeout_ms: int = 2000


CampaignQuery = (
    ListCampaigns | GetCampaign | GetStatistics | GetProgress | EstimateExecution | AwaitPosition
)

# Everything the campaign service's command endpoint accepts (audience and content commands
# join this union), and everything the projection answers.
# Imported here, not at the top: these modules derive their requests from Request above.
from telecast_libs.contracts.segments import SegmentCommand, SegmentQuery  # noqa: E402
from telecast_libs.contracts.templates import TemplateCommand, TemplateQuery  # noqa: E402

Command = CampaignCommand | SegmentCommand | TemplateCommand
ReadModelQuery = CampaignQuery | SegmentQuery | TemplateQuery


# Events -----------------------------------------------------------------------------------


def kinds(union: Any) -> list[str]:
    """The ``kind`` tags of a union of requests (to know which subjects to serve)."""
    return [member.__struct_config__.tag for member in get_args(union)]
