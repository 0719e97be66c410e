"""``/api/v1/campaigns``: list, get, create, update, delete, the lifecycle actions
(execute, pause, resume, clone), statistics and progress.

Writes become commands to the campaign service; reads are answered by the projection. A
write waits (briefly) until the read model shows it, so a client reads its own writes. What
the OpenAPI description shows beyond the types (examples, error answers) is in
``campaign_openapi``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ok
from telecast_gateway.idempotency import creation_id
from telecast_gateway.routes import campaign_openapi as doc
from telecast_gateway.routes.audience import audience_total
from telecast_gateway.routes.campaign_openapi import ETAG, documented, errors
from telecast_gateway.routes.estimate import estimated_completion
from telecast_gateway.routes.writes import (
    IdempotencyKey,
    IfMatch,
    command_meta,
    etag,
    expected_version,
)
from telecast_gateway.schemas import (
    CampaignAccepted,
    Deleted,
    ExecutionAccepted,
    Paused,
    Resumed,
)
from telecast_gateway.security import can_write_campaigns
from telecast_libs.contracts.campaigns import (
    CampaignChanges,
    CampaignContent,
    CampaignStatus,
    CampaignType,
    CloneOptions,
    ExecutionOptions,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import (
    CloneCampaign,
    CommandResult,
    CreateCampaign,
    DeleteCampaign,
    ExecuteCampaign,
    GetCampaign,
    GetProgress,
    GetStatistics,
    ListCampaigns,
    PauseCampaign,
    ResumeCampaign,
    UpdateCampaign,
)
from telecast_libs.contracts.views import (
    OVERVIEW_METRICS,
    PERFORMANCE_METRICS,
    STATISTICS_METRICS,
    STATISTICS_SECTIONS,
    CampaignDetail,
    CampaignPage,
    CampaignProgress,
    CampaignStatisticsReport,
    StatisticsBaseline,
)

# The error codes each kind of handler can answer (see campaign_openapi.ERRORS).
_READ = (ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.SERVICE_UNAVAILABLE)
_ONE = (*_READ, ErrorCode.CAMPAIGN_NOT_FOUND)
_WRITE = (*_READ, ErrorCode.FORBIDDEN, "PAYLOAD_TOO_LARGE")
# A POST with an Idempotency-Key: reused with another request, or its first still running.
_KEYED = ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE")
_LIFECYCLE = (
    *_WRITE,
    *_KEYED,
    ErrorCode.CAMPAIGN_NOT_FOUND,
    ErrorCode.INVALID_STATE_TRANSITION,
    ErrorCode.VERSION_CONFLICT,
    ErrorCode.PRECONDITION_FAILED,
)


CampaignId = Annotated[str, Parameter(description="The campaign's id", max_length=100)]
Period = Literal["1h", "24h", "7d", "30d", "all"]
# What the projection can order a page by (campaign_view._SORTABLE); `-` for descending.
Sort = Literal[
    "createdAt",
    "-createdAt",
    "updatedAt",
    "-updatedAt",
    "name",
    "-name",
    "status",
    "-status",
    "type",
    "-type",
    "budget",
    "-budget",
    "startDate",
    "-startDate",
    "endDate",
    "-endDate",
]


_METRIC_NAME = "|".join(STATISTICS_METRICS)
# What the OpenAPI document states of ``metrics``; checked by ``_metrics``, whose refusal
# names every valid metric (a pattern failure would only quote the expression).
_METRICS_PATTERN = f"^(all|({_METRIC_NAME})(,({_METRIC_NAME}))*)$"


def _metrics(metrics: str | None) -> list[str] | None:
    """The names ``metrics`` lists (None: everything); an unknown one is refused, naming
    every valid one."""
    if metrics is None or metrics == "all":
        return None
    wanted = metrics.split(",")
    unknown = [m for m in wanted if m not in STATISTICS_METRICS]
    if unknown:
        raise Problem(
            f"metrics: unknown {', '.join(repr(m) for m in unknown)}; "
            f"choose from {', '.join(STATISTICS_METRICS)} or all",
            details=[
                {
                    "field": "metrics",
                    "source": "query",
                    "unknown": unknown,
                    "allowed": [*STATISTICS_METRICS, "all"],
                }
            ],
            code=ErrorCode.VALIDATION_ERROR,
        )
    return list(dict.fromkeys(wanted))


async def _baseline(bus: Bus, campaign_id: str) -> StatisticsBaseline:
    """The campaign's statistics as the read model shows them now, for a copy to carry
    (``resetStatistics: false``): its own figures, not a baseline it carries itself."""
    detail = await bus.query(GetCampaign(campaign_id=campaign_id), CampaignDetail)
    report = await bus.query(
        GetStatistics(campaign_id=campaign_id, metrics=["overview", "performance"]),
        CampaignStatisticsReport,
    )
    assert report.overview is not None and report.performance is not None
    return StatisticsBaseline(
        campaign_id=campaign_id,
        counted_at=datetime.now(UTC).replace(microsecond=0),
        overview=report.overview,
        performance=report.performance,
        statistics=msgspec.structs.replace(detail.statistics, baseline=None),
    )


def _accepted(result: CommandResult, message: str, status: int) -> Response:
    body = CampaignAccepted(
        id=result.aggregate_id,
        name=result.name or "",
        status=result.status or "",
        version=result.version,
        message=message,
    )
    return Response(ok(body), status_code=status, headers=etag(result.version))


class CampaignController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]

    @get(
        "/",
        operation_id="listCampaigns",
        summary="List campaigns",
        description="A page of campaigns, newest first unless `sort` says otherwise. "
        "`search` matches words by prefix in name and description (every word must match).",
        response_description="A page of campaigns and the pagination",
        responses=errors(*_READ),
        operation_class=documented(answer=doc.LIST_ANSWER),
    )
    async def list_campaigns(
        self,
        bus: Bus,
        page: Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Items per page")] = 20,
        status: Annotated[CampaignStatus | None, Parameter(description="Only this status")] = None,
        campaign_type: Annotated[
            CampaignType | None, Parameter(query="type", description="Only this type")
        ] = None,
        sort: Annotated[
            Sort, Parameter(description="The field to sort by; `-` first for descending")
        ] = "-createdAt",
        search: Annotated[
            str | None,
            Parameter(min_length=1, max_length=200, description="Search in name and description"),
        ] = None,
    ) -> Envelope[CampaignPage]:
        query = ListCampaigns(
            page=page,
            limit=limit,
            status=status,
            type=campaign_type,
            sort=sort,
            search=search,
        )
        return ok(await bus.query(query, CampaignPage))

    @get(
        "/{campaign_id:str}",
        operation_id="getCampaign",
        summary="Get a campaign",
        description="The campaign's full detail; its version is the `ETag` header.",
        response_description="The campaign",
        response_headers=[ETAG],
        responses=errors(*_ONE),
        operation_class=documented(answer=doc.DETAIL_ANSWER),
    )
    async def get_campaign(
        self, bus: Bus, campaign_id: CampaignId
    ) -> Response[Envelope[CampaignDetail]]:
        detail = await bus.query(GetCampaign(campaign_id=campaign_id), CampaignDetail)
        # Counted now (no countedAt: it is this answer's); if it cannot be, the count the
        # read model carries (from the last save of the draft or the start of its
        # execution) stays, with the countedAt that says how old it is.
        live = await audience_total(bus, campaign_id)
        if live is not None:
            detail.target_audience.total_count = live
            detail.target_audience.counted_at = None
        return Response(ok(detail), headers=etag(detail.version))

    @post(
        "/",
        operation_id="createCampaign",
        summary="Create a campaign",
        description="Creates a draft campaign. Answers once the campaign is readable. "
        "`invitation` says which group or channel an invitation campaign invites to (kept "
        "but unused on other types). Admin or manager.",
        guards=[can_write_campaigns],
        status_code=201,
        response_description="The new campaign's id, status and version",
        response_headers=[ETAG],
        responses=errors(*_WRITE, *_KEYED),
        operation_class=documented(answer=doc.CREATED_ANSWER, body=doc.CREATE_EXAMPLES),
    )
    async def create_campaign(
        self,
        request: Request,
        data: CampaignContent,
        bus: Bus,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[CampaignAccepted]]:
        command = CreateCampaign(
            meta=command_meta(request),
            content=data,
            campaign_id=creation_id(request.user.id, idempotency_key, request.url.path),
        )
        result = await bus.command(command)
        return _accepted(result, "Campaign created successfully", 201)

    @put(
        "/{campaign_id:str}",
        operation_id="updateCampaign",
        summary="Update a campaign",
        description="The body is a JSON Merge Patch (RFC 7396) of the campaign: a field "
        "absent keeps its value, `null` removes it, an object (`goals`, `targetAudience`, "
        "`strategy`, `workflow`, `invitation`) merges field by field, a list replaces the "
        "stored one. `name`, `type` and `status` cannot be null. Audience, messages, type and "
        "invitation change only while the campaign is a draft; nothing changes once it is "
        "final. A `status` follows the rules of the lifecycle actions. The result is checked "
        "as a whole: a rule the body breaks by itself (`startDate` not before `endDate`, both "
        "in the body) is a 400; one it breaks only with what the campaign stores (a "
        "`startDate` not before the stored `endDate`) is a 409 `CONFLICTS_WITH_CAMPAIGN`. "
        "Admin or manager.",
        guards=[can_write_campaigns],
        response_description="The campaign's name, status and new version",
        response_headers=[ETAG],
        responses=errors(
            *_WRITE,
            ErrorCode.CAMPAIGN_NOT_FOUND,
            ErrorCode.INVALID_STATE_TRANSITION,
            ErrorCode.EDIT_NOT_ALLOWED,
            ErrorCode.CONFLICTS_WITH_CAMPAIGN,
            ErrorCode.VERSION_CONFLICT,
            ErrorCode.PRECONDITION_FAILED,
        ),
        operation_class=documented(answer=doc.UPDATED_ANSWER, body=doc.UPDATE_EXAMPLES),
    )
    async def update_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        data: CampaignChanges,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Response[Envelope[CampaignAccepted]]:
        command = UpdateCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            changes=data,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        return _accepted(result, "Campaign updated successfully", 200)

    @delete(
        "/{campaign_id:str}",
        operation_id="deleteCampaign",
        summary="Delete a campaign",
        description="Only a draft or cancelled campaign can be deleted. The deletion is an "
        "event: the campaign's history stays in the event store. Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        response_description="Deleted",
        responses=errors(
            *_READ,
            ErrorCode.FORBIDDEN,
            ErrorCode.CAMPAIGN_NOT_FOUND,
            ErrorCode.EDIT_NOT_ALLOWED,
            ErrorCode.VERSION_CONFLICT,
            ErrorCode.PRECONDITION_FAILED,
        ),
        operation_class=documented(answer=doc.DELETED_ANSWER),
    )
    async def delete_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Envelope[Deleted]:
        command = DeleteCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            expected_version=expected_version(if_match),
        )
        await bus.command(command)
        return ok(Deleted(message="Campaign deleted successfully"))

    @post(
        "/{campaign_id:str}/execute",
        operation_id="executeCampaign",
        summary="Execute a campaign",
        description="Starts a draft campaign now, or schedules it when `scheduledAt` is in the "
        "future (it then starts at that time, also after a restart of the services). Without "
        "`scheduledAt`, a campaign whose `startDate` is in the future is scheduled at its "
        "`startDate`; a `scheduledAt` before `startDate`, or not before `endDate`, is refused "
        "(409 `SCHEDULE_OUTSIDE_DATES`). "
        "`testMode` sends only to test recipients; `targetPercentage` takes a deterministic "
        "sample of the audience; `priority` orders the work of concurrent executions. The body "
        "is optional. A campaign of type `invitation` needs its `invitation` (400 "
        "`VALIDATION_ERROR` naming `invitation.chatId` otherwise). Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        response_description="The execution, started or scheduled",
        response_headers=[ETAG],
        responses=errors(*_LIFECYCLE, ErrorCode.SCHEDULE_OUTSIDE_DATES),
        operation_class=documented(
            answer=doc.EXECUTED_ANSWER, body=doc.EXECUTE_EXAMPLES, optional_body=True
        ),
    )
    async def execute_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        data: ExecutionOptions | None = None,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[ExecutionAccepted]]:
        options = data or ExecutionOptions()
        command = ExecuteCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            options=options,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        scheduled = result.status == CampaignStatus.SCHEDULED
        body = ExecutionAccepted(
            execution_id=result.execution_id or "",
            status="scheduled" if scheduled else "started",
            message="Campaign execution scheduled" if scheduled else "Campaign execution started",
            scheduled_at=result.scheduled_at,
            estimated_completion=await estimated_completion(bus, campaign_id),
        )
        return Response(ok(body), headers=etag(result.version))

    @post(
        "/{campaign_id:str}/pause",
        operation_id="pauseCampaign",
        summary="Pause an active campaign",
        description="Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        response_description="Paused",
        response_headers=[ETAG],
        responses=errors(*_LIFECYCLE),
        operation_class=documented(answer=doc.PAUSED_ANSWER),
    )
    async def pause_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[Paused]]:
        command = PauseCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        body = Paused(
            status="paused",
            message="Campaign paused successfully",
            paused_at=result.occurred_at,
        )
        return Response(ok(body), headers=etag(result.version))

    @post(
        "/{campaign_id:str}/resume",
        operation_id="resumeCampaign",
        summary="Resume a paused campaign",
        description="Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        response_description="Active again",
        response_headers=[ETAG],
        responses=errors(*_LIFECYCLE),
        operation_class=documented(answer=doc.RESUMED_ANSWER),
    )
    async def resume_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[Resumed]]:
        command = ResumeCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        body = Resumed(
            status="active",
            message="Campaign resumed successfully",
            resumed_at=result.occurred_at,
        )
        return Response(ok(body), headers=etag(result.version))

    @post(
        "/{campaign_id:str}/clone",
        operation_id="cloneCampaign",
        summary="Clone a campaign",
        description="A new draft with the campaign's content and audience, named "
        "`<name> (Copy)` unless `name` is given. The copy's own statistics start from zero; "
        "with `resetStatistics: false` it also carries the source's figures as they are now, "
        "as `baseline` in its statistics (and `statistics.baseline` in the list and the "
        "detail), apart from its own. The body is optional. Admin or manager.",
        guards=[can_write_campaigns],
        status_code=201,
        response_description="The copy's id, name, status and version",
        response_headers=[ETAG],
        responses=errors(*_WRITE, *_KEYED, ErrorCode.CAMPAIGN_NOT_FOUND),
        operation_class=documented(
            answer=doc.CLONED_ANSWER, body=doc.CLONE_EXAMPLES, optional_body=True
        ),
    )
    async def clone_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        data: CloneOptions | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[CampaignAccepted]]:
        options = data or CloneOptions()
        command = CloneCampaign(
            meta=command_meta(request),
            campaign_id=campaign_id,
            options=options,
            new_campaign_id=creation_id(request.user.id, idempotency_key, request.url.path),
            baseline=None if options.reset_statistics else await _baseline(bus, campaign_id),
        )
        result = await bus.command(command)
        return _accepted(result, "Campaign cloned successfully", 201)

    @get(
        "/{campaign_id:str}/statistics",
        operation_id="getCampaignStatistics",
        summary="Campaign statistics",
        description="Overview, performance rates, timeline (hourly for 1h and 24h, daily "
        "otherwise) and per-segment figures, all of the `period`: from the start of the hour "
        "that contains now minus the period until now (`all`: the whole campaign). `metrics` "
        "names the sections, or single figures of the overview and performance, to include.",
        response_description="The sections asked for",
        responses=errors(*_ONE),
        operation_class=documented(answer=doc.STATISTICS_ANSWER),
    )
    async def campaign_statistics(
        self,
        bus: Bus,
        campaign_id: CampaignId,
        period: Annotated[
            Period,
            Parameter(
                description="What every figure counts: the last hour, 24 hours, 7 or 30 days "
                "(from the start of the hour that contains now minus the period), or all"
            ),
        ] = "all",
        metrics: Annotated[
            str | None,
            Parameter(
                max_length=400,
                schema_extra={"pattern": _METRICS_PATTERN},
                description="Comma-separated names to include: sections ("
                + ", ".join(STATISTICS_SECTIONS)
                + ") or figures of the overview and performance ("
                + ", ".join((*OVERVIEW_METRICS, *PERFORMANCE_METRICS))
                + "), or all (the default)",
            ),
        ] = None,
    ) -> Envelope[CampaignStatisticsReport]:
        query = GetStatistics(campaign_id=campaign_id, period=period, metrics=_metrics(metrics))
        return ok(await bus.query(query, CampaignStatisticsReport))

    @get(
        "/{campaign_id:str}/progress",
        operation_id="getCampaignProgress",
        summary="Campaign execution progress",
        description="Live progress of the campaign's execution: counts, rate, estimated "
        "completion and errors by code.",
        response_description="The execution's progress",
        responses=errors(*_ONE),
        operation_class=documented(answer=doc.PROGRESS_ANSWER),
    )
    async def campaign_progress(
        self, bus: Bus, campaign_id: CampaignId
    ) -> Envelope[CampaignProgress]:
        return ok(await bus.query(GetProgress(campaign_id=campaign_id), CampaignProgress))
