"""``/api/v1/segments``: segments (named filters over contacts) — list, get, create, update,
delete — their live count, and the estimate of an ad-hoc filter.

Writes are commands to the campaign service (segments are event-sourced); list and get are
answered by the projection; counts and estimates by the campaign service from the contacts
table. The filter language is described in docs/audience.md.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.idempotency import creation_id
from telecast_gateway.routes.writes import (
    IdempotencyKey,
    IfMatch,
    command_meta,
    expected_version,
)
from telecast_gateway.schemas import Deleted
from telecast_gateway.security import can_write_campaigns
from telecast_libs.contracts.messages import CommandResult
from telecast_libs.contracts.segments import (
    AudienceCount,
    CountSegment,
    CreateSegment,
    DeleteSegment,
    EstimateFilter,
    FilterEstimate,
    GetSegment,
    ListSegments,
    SegmentAccepted,
    SegmentChanges,
    SegmentDefinition,
    SegmentPage,
    SegmentView,
    UpdateSegment,
)

_FILTER_HELP = (
    'A filter is `{"and": [...]}`, `{"or": [...]}`, `{"not": …}` or a predicate '
    '`{"field", "op", "value"}` over contact fields (telegramId, chatType, username, '
    "firstName, lastName, languageCode, location, age, interests, purchaseHistory, "
    "lastPurchase, isTestRecipient, createdAt, attributes.<key>) with eq, ne, in, nin, gt, "
    "gte, lt, lte, between, any, all, exists. A bad filter answers 400 naming its path "
    "(`filter.and[2].value`)."
)


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "The request is not valid (the error names the field or the filter's path)",
        401: "No valid Bearer token",
        403: "The operator's role does not allow this",
        404: "No such segment (SEGMENT_NOT_FOUND)",
        409: "A concurrent writer changed the segment (VERSION_CONFLICT), or the "
        "Idempotency-Key was used before with another request (IDEMPOTENCY_KEY_REUSED) or its "
        "request is still running (IDEMPOTENCY_KEY_IN_USE)",
        412: "If-Match names a version that is no longer current",
        503: "A service behind the gateway is unavailable, or a count took too long",
    }
    return {s: ResponseSpec(ErrorEnvelope, description=descriptions[s]) for s in statuses}


SegmentId = Annotated[str, Parameter(description="The segment's id", max_length=100)]


def _accepted(result: CommandResult, message: str, status: int) -> Response:
    body = SegmentAccepted(
        id=result.aggregate_id, name=result.name or "", version=result.version, message=message
    )
    return Response(ok(body), status_code=status, headers={"ETag": f'"{result.version}"'})


class SegmentController(Controller):
    path = "/api/v1/segments"
    tags = ["segments"]

    @get(
        "/",
        operation_id="listSegments",
        summary="List segments",
        description="A page of segments, newest first. `search` matches words by prefix in "
        "name and description.",
        responses=_errors(400, 401, 503),
    )
    async def list_segments(
        self,
        bus: Bus,
        page: Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Items per page")] = 20,
        search: Annotated[
            str | None,
            Parameter(min_length=1, max_length=200, description="Search in name and description"),
        ] = None,
    ) -> Envelope[SegmentPage]:
        query = ListSegments(page=page, limit=limit, search=search)
        return ok(await bus.query(query, SegmentPage))

    @get(
        "/{segment_id:str}",
        operation_id="getSegment",
        summary="Get a segment",
        description="The segment and its filter; its version is the `ETag` header.",
        responses=_errors(400, 401, 404, 503),
    )
    async def get_segment(self, bus: Bus, segment_id: SegmentId) -> Response[Envelope[SegmentView]]:
        segment = await bus.query(GetSegment(segment_id=segment_id), SegmentView)
        return Response(ok(segment), headers={"ETag": f'"{segment.version}"'})

    @post(
        "/",
        operation_id="createSegment",
        summary="Create a segment",
        description=f"A named filter over contacts. {_FILTER_HELP} Admin or manager.",
        guards=[can_write_campaigns],
        status_code=201,
        responses=_errors(400, 401, 403, 409, 503),
    )
    async def create_segment(
        self,
        request: Request,
        data: SegmentDefinition,
        bus: Bus,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[SegmentAccepted]]:
        command = CreateSegment(
            meta=command_meta(request),
            definition=data,
            segment_id=creation_id(request.user.id, idempotency_key, request.url.path),
        )
        result = await bus.command(command)
        return _accepted(result, "Segment created successfully", 201)

    @put(
        "/{segment_id:str}",
        operation_id="updateSegment",
        summary="Update a segment",
        description="Changes the fields present in the body (name, description, filter). A "
        "campaign already running keeps the audience its execution recorded when it started. "
        "Admin or manager.",
        guards=[can_write_campaigns],
        responses=_errors(400, 401, 403, 404, 409, 412, 503),
    )
    async def update_segment(
        self,
        request: Request,
        segment_id: SegmentId,
        data: SegmentChanges,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Response[Envelope[SegmentAccepted]]:
        command = UpdateSegment(
            meta=command_meta(request),
            segment_id=segment_id,
            changes=data,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        return _accepted(result, "Segment updated successfully", 200)

    @delete(
        "/{segment_id:str}",
        operation_id="deleteSegment",
        summary="Delete a segment",
        description="A campaign already running keeps the audience its execution recorded; a "
        "draft that names the segment can no longer be executed (SEGMENT_NOT_FOUND), and a "
        "scheduled one starts without it. Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        responses=_errors(400, 401, 403, 404, 409, 412, 503),
    )
    async def delete_segment(
        self,
        request: Request,
        segment_id: SegmentId,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Envelope[Deleted]:
        command = DeleteSegment(
            meta=command_meta(request),
            segment_id=segment_id,
            expected_version=expected_version(if_match),
        )
        await bus.command(command)
        return ok(Deleted(message="Segment deleted successfully"))

    @get(
        "/{segment_id:str}/count",
        operation_id="countSegment",
        summary="Count a segment's contacts",
        description="Counted live from the contacts. `count` leaves out opted-out and blocked "
        "contacts (`excludes` says so); `total` is every contact that matches.",
        responses=_errors(400, 401, 404, 503),
    )
    async def count_segment(self, bus: Bus, segment_id: SegmentId) -> Envelope[AudienceCount]:
        return ok(await bus.query(CountSegment(segment_id=segment_id), AudienceCount))

    @post(
        "/estimate",
        operation_id="estimateSegment",
        summary="Estimate a filter",
        description=f"How many contacts an ad-hoc filter would select, as the segment count "
        f"answers it; nothing is stored. {_FILTER_HELP}",
        status_code=200,
        responses=_errors(400, 401, 503),
    )
    async def estimate(self, data: FilterEstimate, bus: Bus) -> Envelope[AudienceCount]:
        return ok(await bus.query(EstimateFilter(filter=data.filter), AudienceCount))
