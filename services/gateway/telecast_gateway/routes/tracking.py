"""Tracking: tracked links (``GET /r/{token}``, for recipients, without a token) and reported
conversions (``POST /api/v1/campaigns/{id}/conversions``).

The dispatcher records both (it owns the ledger they are attributed to) and publishes their
events; the gateway verifies a link's signature itself, so a link still leads where it
should while the dispatcher is away (the click is then lost, and logged).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.response import Redirect

from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.idempotency import creation_id
from telecast_gateway.operators import Operator
from telecast_gateway.routes import campaign_openapi as doc
from telecast_gateway.routes.campaign_openapi import ErrorDoc, documented, error_responses
from telecast_gateway.routes.writes import IdempotencyKey, command_meta
from telecast_gateway.security import can_write_campaigns
from telecast_gateway.tracking_bus import TrackingBus, provide_tracking_bus
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.tracking import (
    ClickRecorded,
    ConversionRecorded,
    NewConversion,
    RecordClick,
    RecordConversion,
    TrackingErrorCode,
)
from telecast_libs.log import current_correlation_id, get_logger
from telecast_libs.tracking import InvalidToken, verify

log = get_logger(__name__)

# A redirect waits at most this long for the dispatcher to record the click.
CLICK_TIMEOUT_SECONDS = 1.0
# Link-preview robots fetch links in messages; their fetches are not clicks.
_ROBOTS = ("TelegramBot", "facebookexternalhit", "Slackbot", "Twitterbot", "WhatsApp")

_CONTACT_ID = "a3c9e1f2-6b4d-4e8a-9c7f-1d2e3f4a5b6c"
_ERRORS = {
    **doc.ERRORS,
    TrackingErrorCode.RECIPIENT_NOT_FOUND: ErrorDoc(
        404,
        "the campaign sent nothing to that recipient: there is nothing to attribute to",
        f"campaign {doc.SUMMER_SALE_ID} has sent nothing to contact {_CONTACT_ID}: "
        "a conversion is attributed to the messages its recipient was sent",
    ),
    ErrorCode.SERVICE_UNAVAILABLE: ErrorDoc(
        503, "the dispatcher is not answering", "the dispatcher service did not answer in time"
    ),
    ErrorCode.VALIDATION_ERROR: ErrorDoc(
        400,
        "the body is not valid; `details` names the field",
        "name the recipient with exactly one of contactId and telegramId",
    ),
}
_CONVERSION_ERRORS = (
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    TrackingErrorCode.RECIPIENT_NOT_FOUND,
    ErrorCode.CAMPAIGN_NOT_FOUND,
    "IDEMPOTENCY_KEY_IN_USE",
    "PAYLOAD_TOO_LARGE",
    "IDEMPOTENCY_KEY_REUSED",
    ErrorCode.SERVICE_UNAVAILABLE,
)

_CONVERSION_BODY = {
    "order": Example(
        summary="An order by a contact, with its revenue and the shop's order number",
        value={"contactId": _CONTACT_ID, "revenue": 12.5, "conversionId": "order-123"},
    ),
    "byTelegramId": Example(
        summary="By Telegram user id, at a given time",
        value={"telegramId": 184467440, "revenue": 49.9, "occurredAt": "2024-11-25T14:03:00Z"},
    ),
}
_CONVERSION_ANSWER = {
    "recorded": Example(
        summary="Attributed to the recipient's execution and the variation of each message",
        value={
            "success": True,
            "data": {
                "id": "7c4b1e0a-2d3f-5a6b-8c9d-0e1f2a3b4c5d",
                "conversionId": "order-123",
                "campaignId": doc.SUMMER_SALE_ID,
                "executionId": doc.EXECUTION_ID,
                "contactId": _CONTACT_ID,
                "telegramId": 184467440,
                "revenue": 12.5,
                "first": True,
                "arms": [{"messageId": "msg1", "variationId": "var1"}, {"messageId": "msg2"}],
                "segmentIds": ["seg123"],
                "occurredAt": "2024-11-25T14:03:00Z",
                "recorded": True,
            },
        },
    )
}


def _is_robot(user_agent: str) -> bool:
    return any(robot.lower() in user_agent.lower() for robot in _ROBOTS)


class TrackedLinkController(Controller):
    path = "/r"
    tags = ["tracking"]
    dependencies = {"tracking": Provide(provide_tracking_bus, sync_to_thread=False)}

    @get(
        "/{token:str}",
        operation_id="followTrackedLink",
        summary="Follow a tracked link",
        description="Where the links and URL buttons of a campaign's messages lead when "
        "tracking is on (`TRACKING_BASE_URL`): records the click (when the dispatcher "
        "answers within a second; link-preview robots are not counted) and redirects to "
        "the link's URL. No token needed: the link's signature is its authority.",
        status_code=302,
        responses={
            302: ResponseSpec(
                None,
                description="To the link's URL (`Location`)",
                generate_examples=False,
            ),
            400: ResponseSpec(ErrorEnvelope, description="The token is too long"),
            404: ResponseSpec(
                ErrorEnvelope,
                description="`LINK_NOT_FOUND`: not a link this installation made",
            ),
        },
        response_headers=[
            ResponseHeader(name="Location", documentation_only=True, description="The link's URL")
        ],
    )
    async def follow(
        self,
        request: Request[Any, Any, State],
        tracking: TrackingBus,
        token: Annotated[str, Parameter(description="The link's token", max_length=4096)],
    ) -> Redirect:
        try:
            link = verify(request.app.state.settings.tracking_secret, token)
        except InvalidToken as error:
            log.info("tracking.bad_link", reason=str(error))
            raise Problem(
                "this link is not one of ours, or it was altered",
                code=TrackingErrorCode.LINK_NOT_FOUND,
            ) from None
        agent = request.headers.get("user-agent", "")
        client = f"{request.client.host if request.client else ''}\n{agent}"
        if not _is_robot(agent) and request.app.state.click_filter.admit(token, client):
            click = RecordClick(
                click_id=str(uuid.uuid4()),
                execution_id=link.execution_id,
                contact_id=link.contact_id,
                message_id=link.message_id,
                url=link.url,
                occurred_at=datetime.now(UTC),
                correlation_id=current_correlation_id(),
            )
            try:
                await tracking.ask(click, ClickRecorded, timeout=CLICK_TIMEOUT_SECONDS)
            except Problem as problem:
                # The recipient still goes where the link leads; the click is lost.
                log.warning(
                    "tracking.click_not_recorded",
                    code=problem.code,
                    reason=problem.message,
                    execution_id=link.execution_id,
                    contact_id=link.contact_id,
                )
        return Redirect(path=link.url, status_code=302)


class ConversionController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]
    dependencies = {"tracking": Provide(provide_tracking_bus, sync_to_thread=False)}

    @post(
        "/{campaign_id:str}/conversions",
        operation_id="reportConversion",
        summary="Report a conversion",
        description="Records that a recipient of the campaign converted (bought, signed up…), "
        "named by exactly one of `contactId` and `telegramId`. It is attributed to the "
        "recipient's latest execution of the campaign and to the variation of every message "
        "they were sent there (`arms`); a recipient the campaign sent nothing to is refused "
        "(`RECIPIENT_NOT_FOUND`). The same `conversionId` twice records one conversion (the "
        "answer says `recorded: false`); without one, the `Idempotency-Key` names it.",
        guards=[can_write_campaigns],
        status_code=201,
        response_description="The recorded conversion and its attribution",
        responses=error_responses(_ERRORS, *_CONVERSION_ERRORS),
        operation_class=documented(answer=_CONVERSION_ANSWER, body=_CONVERSION_BODY),
    )
    async def report_conversion(
        self,
        request: Request[Operator, Any, State],
        data: NewConversion,
        tracking: TrackingBus,
        campaign_id: Annotated[str, Parameter(description="The campaign's id", max_length=100)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[ConversionRecorded]]:
        conversion_id = (
            data.conversion_id
            or creation_id(request.user.id, idempotency_key, request.url.path)
            or str(uuid.uuid4())
        )
        command = RecordConversion(
            meta=command_meta(request),
            campaign_id=campaign_id,
            conversion=data,
            conversion_id=conversion_id,
        )
        recorded = await tracking.ask(command, ConversionRecorded)
        return Response(ok(recorded), status_code=201)
