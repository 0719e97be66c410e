"""``POST /api/v1/campaigns/{id}/preview``: a campaign's messages as one contact would
receive them.

The campaign and its templates come from the read model, the contact from the campaign
service; resolving and personalizing are the pure functions the sender uses
(``telecast_libs.content.messages``), so the preview shows the variation the contact is
drawn for and the text exactly as it would be rendered if the campaign were executed now.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, post
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ok
from telecast_gateway.routes import content_openapi as doc
from telecast_gateway.routes.content_openapi import errors
from telecast_gateway.routes.templates import recipient_of
from telecast_libs.content.messages import InvalidText, personalize, resolve
from telecast_libs.content.rendering import INVITE_LINK, INVITE_LINK_PREVIEW
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.campaigns import CampaignType
from telecast_libs.contracts.contacts import ContactErrorCode
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import GetCampaign
from telecast_libs.contracts.templates import (
    TEMPLATE_NOT_FOUND,
    CampaignPreview,
    GetTemplate,
    PreviewedMessage,
    RenderRequest,
    TemplateView,
)
from telecast_libs.contracts.views import CampaignDetail

CampaignId = Annotated[str, Parameter(description="The campaign's id", max_length=100)]


async def _template(bus: Bus, template_id: str, field: str) -> dict[str, Any]:
    try:
        view = await bus.query(GetTemplate(template_id=template_id), TemplateView)
    except Problem as problem:
        if problem.code != ErrorCode.NOT_FOUND:
            raise
        raise Problem(
            f"{field}: template {template_id} does not exist",
            details={"field": field, "templateId": template_id, "reason": "missing"},
            code=TEMPLATE_NOT_FOUND,
        ) from None
    return to_builtins(view)


class PreviewController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]

    @post(
        "/{campaign_id:str}/preview",
        operation_id="previewCampaignMessages",
        summary="Preview a campaign's messages for a contact",
        description="Each message as the contact would receive it if the campaign were "
        "executed now: the variation the contact is drawn for (`variationId` absent: the "
        "message's own content), the text with placeholders filled in and escaped, the parse "
        "mode, buttons and media of its template; in an invitation campaign `{{inviteLink}}` "
        "shows `https://t.me/+INVITE_LINK` (each recipient's link is made when the message is "
        "sent). Give a `contactId`, or the fields inline as "
        "`contact` (its `id`, if given, places it in the A/B split like a contact with that "
        "id). Changes nothing.",
        status_code=200,
        response_description="The messages, rendered",
        responses=errors(
            ErrorCode.VALIDATION_ERROR,
            ErrorCode.UNAUTHORIZED,
            ErrorCode.CAMPAIGN_NOT_FOUND,
            ContactErrorCode.CONTACT_NOT_FOUND,
            TEMPLATE_NOT_FOUND,
            "IDEMPOTENCY_KEY_IN_USE",
            "PAYLOAD_TOO_LARGE",
            "IDEMPOTENCY_KEY_REUSED",
            ErrorCode.SERVICE_UNAVAILABLE,
        ),
        operation_class=doc.documented(answer=doc.PREVIEW_ANSWER, body=doc.PREVIEW_EXAMPLES),
    )
    async def preview_campaign(
        self, campaign_id: CampaignId, data: RenderRequest, bus: Bus
    ) -> Envelope[CampaignPreview]:
        campaign = await bus.query(GetCampaign(campaign_id=campaign_id), CampaignDetail)
        recipient, contact_id = await recipient_of(bus, data)
        if campaign.type == CampaignType.INVITATION:
            # The sender makes each recipient's link as it sends; no link exists before.
            recipient = {**recipient, INVITE_LINK: INVITE_LINK_PREVIEW}
        templates: dict[str, dict[str, Any]] = {}
        messages = []
        for index, message in enumerate(campaign.messages):
            field = f"messages[{index}]"
            stored = to_builtins(message)
            template = None
            template_id = stored.get("templateId")
            if template_id is not None:
                if template_id not in templates:
                    templates[template_id] = await _template(
                        bus, template_id, f"{field}.templateId"
                    )
                template = templates[template_id]
            try:
                resolved = resolve(stored, template, field)
            except InvalidText as failure:
                raise Problem(
                    str(failure),
                    details=[{"field": failure.field, "message": failure.error.message}],
                    code=ErrorCode.VALIDATION_ERROR,
                ) from None
            sent = personalize(resolved, campaign.id, contact_id or "", recipient)
            messages.append(msgspec.convert(sent, PreviewedMessage))
        preview = CampaignPreview(campaign_id=campaign.id, contact_id=contact_id, messages=messages)
        return ok(preview)
