"""``GET /api/v1/campaigns/{id}/progress/stream``: a campaign's progress as Server-Sent Events.

Each ``progress`` event carries what ``GET …/progress`` answers as its ``data``; one is sent
at once, then another whenever the progress changes (the projection is polled through the
bus), with a comment line as a heartbeat while nothing changes, and the stream ends after
the event whose status is ``completed`` or ``cancelled`` (or at once for a draft, which has
nothing to follow). An unknown campaign is answered 404 in the envelope before the stream
starts. A stream also ends, with an ``error`` event ``UNAUTHORIZED``, when its token expires
or its operator loses access (disabled, deleted, another role or password); an operator
holds at most ``STREAMS_PER_OPERATOR`` streams at once (429 beyond).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import anyio
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.exceptions import TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.security.jwt import Token

from telecast_gateway.bus import Bus
from telecast_gateway.operators import Operator
from telecast_gateway.routes.campaign_openapi import documented, errors
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.messages import GetProgress
from telecast_libs.contracts.views import CampaignProgress
from telecast_libs.log import get_logger

log = get_logger(__name__)

# The statuses after which the progress cannot change any more; a draft has no execution
# to follow (executing it starts a new stream's worth of progress).
FINAL_STATUSES = frozenset({"completed", "cancelled", "draft"})
STREAMS_PER_OPERATOR = 5
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
# What an EventSource waits before it reconnects after the stream broke off.
RETRY_MS = 2000

Fetch = Callable[[], Awaitable[CampaignProgress]]
# Why the stream may not go on (the token expired, the operator lost access), or None.
Revoked = Callable[[], Awaitable[str | None]]


class StreamSlots:
    """How many streams each operator has open (this gateway replica's count)."""

    def __init__(self, per_operator: int = STREAMS_PER_OPERATOR) -> None:
        self.per_operator = per_operator
        self._open: dict[str, int] = {}

    def take(self, operator_id: str) -> None:
        if self._open.get(operator_id, 0) >= self.per_operator:
            raise TooManyRequestsException(
                f"at most {self.per_operator} progress streams at once per operator: close one",
                headers={"Retry-After": "5"},
            )
        self._open[operator_id] = self._open.get(operator_id, 0) + 1

    def give_back(self, operator_id: str) -> None:
        left = self._open.get(operator_id, 1) - 1
        if left > 0:
            self._open[operator_id] = left
        else:
            self._open.pop(operator_id, None)


def progress_message(progress: CampaignProgress, sequence: int) -> ServerSentEventMessage:
    """One ``progress`` event: ``data`` is the JSON of the envelope's ``data`` of GET
    …/progress (camelCase, the same fields)."""
    return ServerSentEventMessage(
        data=encode(progress).decode(), event="progress", id=sequence, retry=RETRY_MS
    )


async def progress_events(
    fetch: Fetch,
    first: CampaignProgress,
    *,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    revoked: Revoked | None = None,
) -> AsyncIterator[ServerSentEventMessage]:
    """The events of one stream: ``first`` at once, then each changed progress that
    ``fetch`` returns, polled every ``poll_seconds``, until a final status.

    A read model that does not answer for a while only delays the next event (heartbeats go
    on); any other refusal (the campaign was deleted) ends the stream with an ``error``
    event carrying the error's code and message.
    """
    sequence = 1
    current = first
    last_sent = encode(first)
    yield progress_message(first, sequence)
    quiet_since = clock()
    while current.status not in FINAL_STATUSES:
        await anyio.sleep(poll_seconds)
        reason = await revoked() if revoked is not None else None
        if reason is not None:
            body = ErrorBody(code=ErrorCode.UNAUTHORIZED, message=reason)
            yield ServerSentEventMessage(data=encode(body).decode(), event="error")
            return
        try:
            current = await fetch()
        except Problem as problem:
            if problem.code != ErrorCode.SERVICE_UNAVAILABLE:
                body = ErrorBody(code=problem.code, message=problem.message)
                yield ServerSentEventMessage(data=encode(body).decode(), event="error")
                return
            log.warning("progress_stream.unavailable", error=problem.message)
        else:
            encoded = encode(current)
            if encoded != last_sent:
                sequence += 1
                last_sent = encoded
                yield progress_message(current, sequence)
                quiet_since = clock()
                continue
        if clock() - quiet_since >= heartbeat_seconds:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
            quiet_since = clock()


_STREAM_EXAMPLE = (
    "id: 1\nevent: progress\n"
    'data: {"status":"running","progress":{"percentage":65,"processed":5525,"total":8500,'
    '"successful":5300,"failed":225},"currentRate":120,"estimatedCompletion":'
    '"2024-06-20T16:45:00Z","errors":[{"code":"USER_BLOCKED","count":150,'
    '"message":"User has blocked the bot"}]}\n'
    "retry: 2000\n\n"
    ": heartbeat\n\n"
    "id: 2\nevent: progress\n"
    'data: {"status":"completed","progress":{"percentage":100,"processed":8500,'
    '"total":8500,"successful":8200,"failed":300},"currentRate":0,"errors":[{"code":'
    '"USER_BLOCKED","count":210,"message":"User has blocked the bot"}]}\n'
    "retry: 2000\n\n"
)


def _event(name: str, data: str, about: str) -> Schema:
    """One event as an OpenAPI 3.1 stream schema describes it (the fields of an SSE event;
    ``data`` is JSON text of the component ``data`` names)."""
    return Schema(
        type=OpenAPIType.OBJECT,
        description=about,
        required=["event", "data"],
        properties={
            "event": Schema(type=OpenAPIType.STRING, const=name),
            "data": Schema(
                type=OpenAPIType.STRING,
                content_media_type="application/json",
                content_schema=Reference(ref=f"#/components/schemas/{data}"),
            ),
            "id": Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$"),
            "retry": Schema(type=OpenAPIType.INTEGER, minimum=0),
        },
    )


# Each event of the stream (OpenAPI 3.1 describes a stream by its events).
EVENT_SCHEMA = Schema(
    one_of=[
        _event("progress", "CampaignProgress", "The progress, as `GET …/progress` answers it"),
        _event("error", "ErrorBody", "The campaign was deleted: the last event"),
    ]
)


def _stream_documented() -> type[Operation]:
    """The campaign operations' documentation, with the success answer described as the
    ``text/event-stream`` it is (Litestar knows no schema for a stream)."""
    base = documented(answer={})

    class StreamOperation(base):  # type: ignore[misc, valid-type]
        def __post_init__(self) -> None:
            super().__post_init__()
            response = (self.responses or {}).get("200")
            if isinstance(response, OpenAPIResponse):
                response.content = {
                    "text/event-stream": OpenAPIMediaType(
                        schema=EVENT_SCHEMA,
                        examples={
                            "running then completed": Example(
                                summary="An execution under way, then its end",
                                value=_STREAM_EXAMPLE,
                            )
                        },
                    )
                }

    return StreamOperation


class ProgressStreamController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]

    @get(
        "/{campaign_id:str}/progress/stream",
        operation_id="streamCampaignProgress",
        summary="Campaign execution progress, live (Server-Sent Events)",
        description="The body of `GET …/progress` as Server-Sent Events: an event `progress` "
        "at once, then one each time the progress changes (checked about twice a second), "
        "each with an increasing `id`; a comment line `: heartbeat` every 15 s while nothing "
        "changes. The stream ends after the event whose `status` is `completed`, "
        "`cancelled` or `draft`. If the campaign is deleted meanwhile, or the token expires "
        "or its operator loses access, an event `error` (`data`: `{code, message}`) ends it. "
        "An operator may have 5 streams open at once. An unknown campaign answers 404 in "
        "the JSON envelope before the stream starts. The token goes in the `Authorization` "
        "header or, for a browser's `EventSource` (which cannot set headers), in "
        "`access_token`.",
        response_description="The event stream",
        responses={
            200: ResponseSpec(
                str,
                description="Events `progress` until the execution is completed or cancelled",
                generate_examples=False,
                media_type="text/event-stream",
            ),
            **errors(
                ErrorCode.VALIDATION_ERROR,
                ErrorCode.UNAUTHORIZED,
                ErrorCode.SERVICE_UNAVAILABLE,
                ErrorCode.CAMPAIGN_NOT_FOUND,
                ErrorCode.TOO_MANY_REQUESTS,
            ),
        },
        operation_class=_stream_documented(),
    )
    async def campaign_progress_stream(
        self,
        request: Request[Operator, Token, State],
        bus: Bus,
        campaign_id: Annotated[str, Parameter(description="The campaign's id", max_length=100)],
        access_token: Annotated[
            str | None,
            Parameter(
                max_length=4096,
                description="The access token, when it cannot be sent in the Authorization "
                "header (read by the authentication, only on this endpoint)",
            ),
        ] = None,
    ) -> ServerSentEvent:
        del access_token  # read by the authentication middleware (security.py)

        async def fetch() -> CampaignProgress:
            return await bus.query(GetProgress(campaign_id=campaign_id), CampaignProgress)

        operator, expires = request.user, request.auth.exp
        credentials = request.app.state.credentials

        async def revoked() -> str | None:
            if datetime.now(UTC) >= expires:
                return "the access token expired: reconnect with a fresh one"
            account = await credentials.account(operator.id)
            if account is None or account.disabled:
                return "this operator no longer has access"
            if account.credentials_version != operator.credentials_version:
                return "this token predates a change of password or role: log in again"
            return None

        first = await fetch()
        slots: StreamSlots = request.app.state.stream_slots
        slots.take(operator.id)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            try:
                async for message in progress_events(fetch, first, revoked=revoked):
                    yield message
            finally:
                slots.give_back(operator.id)

        return ServerSentEvent(events())
