"""``/api/v1/campaigns``: list, get, create, update, delete.

Writes become commands to the campaign service; reads are answered by the projection. A
write waits (briefly) until the read model shows it, so a client reads its own writes.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.operators import Operator
from telecast_gateway.schemas import CampaignAccepted, Deleted
from telecast_gateway.security import can_write_campaigns
from telecast_libs.contracts.campaigns import (
    CampaignChanges,
    CampaignContent,
    CampaignStatus,
    CampaignType,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import (
    Actor,
    CommandMeta,
    CommandResult,
    CreateCampaign,
    DeleteCampaign,
    GetCampaign,
    ListCampaigns,
    UpdateCampaign,
)
from telecast_libs.contracts.views import CampaignDetail, CampaignPage
from telecast_libs.log import current_correlation_id, new_correlation_id


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "The request is not valid (the error names the field)",
        401: "No valid Bearer token",
        403: "The operator's role does not allow this",
        404: "No such campaign",
        409: "Not allowed in the campaign's current state",
        412: "If-Match names a version that is no longer current",
        503: "A service behind the gateway is unavailable",
    }
    return {s: ResponseSpec(ErrorEnvelope, description=descriptions[s]) for s in statuses}


CampaignId = Annotated[str, Parameter(description="The campaign's id", max_length=100)]
IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=False,
        description="The version (ETag) the change is based on; a stale one answers 412",
    ),
]


def _meta(request: Request[Operator, object, State]) -> CommandMeta:
    operator = request.user
    return CommandMeta(
        actor=Actor(id=operator.id, email=operator.email, role=operator.role),
        correlation_id=current_correlation_id() or new_correlation_id(),
    )


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(
            f"If-Match {if_match!r} is not a version this API issued",
            code=ErrorCode.PRECONDITION_FAILED,
        )
    return int(tag)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _accepted(result: CommandResult, message: str, status: int) -> Response:
    body = CampaignAccepted(
        id=result.campaign_id,
        name=result.name or "",
        status=result.status or "",
        version=result.version,
        message=message,
    )
    return Response(ok(body), status_code=status, headers=_etag(result.version))


class CampaignController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]

    @get(
        "/",
        summary="List campaigns",
        description="A page of campaigns, newest first unless `sort` says otherwise.",
        responses=_errors(400, 401, 503),
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
            str,
            Parameter(
                max_length=32,
                description="Sort field (createdAt, updatedAt, name, status, type, budget, "
                "startDate, endDate); prefix with - for descending",
            ),
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
        summary="Get a campaign",
        description="The campaign's full detail; its version is the `ETag` header.",
        responses=_errors(401, 404, 503),
    )
    async def get_campaign(
        self, bus: Bus, campaign_id: CampaignId
    ) -> Response[Envelope[CampaignDetail]]:
        detail = await bus.query(GetCampaign(campaign_id=campaign_id), CampaignDetail)
        return Response(ok(detail), headers=_etag(detail.version))

    @post(
        "/",
        summary="Create a campaign",
        description="Creates a draft campaign. Answers once the campaign is readable.",
        guards=[can_write_campaigns],
        status_code=201,
        responses=_errors(400, 401, 403, 503),
    )
    async def create_campaign(
        self, request: Request, data: CampaignContent, bus: Bus, state: State
    ) -> Response[Envelope[CampaignAccepted]]:
        result = await bus.command(CreateCampaign(meta=_meta(request), content=data))
        await bus.await_position(result.position, state.settings.read_your_writes_timeout_ms)
        return _accepted(result, "Campaign created successfully", 201)

    @put(
        "/{campaign_id:str}",
        summary="Update a campaign",
        description="Changes the fields present in the body. Audience, messages and type "
        "change only while the campaign is a draft; nothing changes once it is final.",
        guards=[can_write_campaigns],
        responses=_errors(400, 401, 403, 404, 409, 412, 503),
    )
    async def update_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        data: CampaignChanges,
        bus: Bus,
        state: State,
        if_match: IfMatch = None,
    ) -> Response[Envelope[CampaignAccepted]]:
        command = UpdateCampaign(
            meta=_meta(request),
            campaign_id=campaign_id,
            changes=data,
            expected_version=_expected_version(if_match),
        )
        result = await bus.command(command)
        await bus.await_position(result.position, state.settings.read_your_writes_timeout_ms)
        return _accepted(result, "Campaign updated successfully", 200)

    @delete(
        "/{campaign_id:str}",
        summary="Delete a campaign",
        description="Only a draft or cancelled campaign can be deleted. The deletion is an "
        "event: the campaign's history stays in the event store.",
        guards=[can_write_campaigns],
        status_code=200,
        responses=_errors(401, 403, 404, 409, 412, 503),
    )
    async def delete_campaign(
        self,
        request: Request,
        campaign_id: CampaignId,
        bus: Bus,
        state: State,
        if_match: IfMatch = None,
    ) -> Envelope[Deleted]:
        command = DeleteCampaign(
            meta=_meta(request),
            campaign_id=campaign_id,
            expected_version=_expected_version(if_match),
        )
        result = await bus.command(command)
        await bus.await_position(result.position, state.settings.read_your_writes_timeout_ms)
        return ok(Deleted(message="Campaign deleted successfully"))
