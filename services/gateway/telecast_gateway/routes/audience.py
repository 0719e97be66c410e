"""``/api/v1/campaigns/{id}/audience``: who a campaign is for — its size and a sample.

A campaign's audience is the union of its segments, narrowed by its own filters, minus
opted-out and blocked contacts; once an execution has started, it is the audience that
execution recorded. The campaign service counts it from the contacts table.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.openapi.spec import Example
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ok
from telecast_gateway.routes.campaign_openapi import documented, errors
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.segments import (
    AudienceCount,
    AudiencePreview,
    CountCampaignAudience,
    PreviewCampaignAudience,
)
from telecast_libs.log import get_logger

log = get_logger(__name__)

# A campaign's detail is answered without its totalCount rather than late.
COUNT_TIMEOUT_SECONDS = 2.0

_PREVIEW_ANSWER = {
    "summerSale": Example(
        summary="8,500 contacts can receive the campaign; the first of the sample",
        value={
            "success": True,
            "data": {
                "count": 8500,
                "total": 8731,
                "excludes": ["optedOut", "blocked"],
                "sample": [
                    {
                        "id": "0a4f4a4e-2b1c-4d0e-9f6a-3c2b1a0f9e8d",
                        "telegramId": 184467440,
                        "chatType": "private",
                        "username": "jane_doe",
                        "firstName": "Jane",
                        "languageCode": "en",
                        "location": "US",
                        "age": 31,
                        "lastPurchase": "2024-05-30T18:12:00Z",
                        "attributes": {"tier": "gold"},
                    }
                ],
            },
        },
    )
}


async def audience_total(bus: Bus, campaign_id: str) -> int | None:
    """The campaign's ``targetAudience.totalCount``; None when it cannot be counted now."""
    try:
        counted = await bus.query(
            CountCampaignAudience(campaign_id=campaign_id), AudienceCount, COUNT_TIMEOUT_SECONDS
        )
    except Problem as problem:
        log.warning("gateway.audience_uncounted", campaign_id=campaign_id, code=problem.code)
        return None
    return counted.count


class CampaignAudienceController(Controller):
    path = "/api/v1/campaigns/{campaign_id:str}/audience"
    tags = ["campaigns"]

    @get(
        "/preview",
        operation_id="previewCampaignAudience",
        summary="Preview a campaign's audience",
        description="How many contacts the campaign is for (`count`, without opted-out and "
        "blocked ones; `total` with them) and up to ten of them, with the fields a message "
        "uses. Before the campaign starts, its segments and filters are evaluated now; once "
        "an execution has started, this is the audience that execution recorded.",
        response_description="The audience's size and a sample of it",
        responses=errors(
            ErrorCode.VALIDATION_ERROR,
            ErrorCode.UNAUTHORIZED,
            ErrorCode.CAMPAIGN_NOT_FOUND,
            ErrorCode.SERVICE_UNAVAILABLE,
        ),
        operation_class=documented(answer=_PREVIEW_ANSWER),
    )
    async def preview(
        self,
        bus: Bus,
        campaign_id: Annotated[str, Parameter(description="The campaign's id", max_length=100)],
    ) -> Envelope[AudiencePreview]:
        query = PreviewCampaignAudience(campaign_id=campaign_id)
        return ok(await bus.query(query, AudiencePreview))
