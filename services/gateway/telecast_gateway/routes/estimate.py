"""``estimatedCompletion`` in the execute answer: the campaign service counts the audience,
the dispatcher tells its sending capacity, and the projection adds the work queued ahead
and applies the estimator progress uses (``telecast_projection.execution_estimate``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from telecast_gateway.bus import Bus
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.messages import EstimateExecution
from telecast_libs.contracts.segments import AudienceCount, CountCampaignAudience
from telecast_libs.contracts.sending import GetSendingCapacity, SendingCapacity
from telecast_libs.contracts.views import ExecutionEstimate
from telecast_libs.log import get_logger

log = get_logger(__name__)

# The execute answer goes without an estimate rather than late.
ESTIMATE_TIMEOUT_SECONDS = 2.0


async def estimated_completion(bus: Bus, campaign_id: str) -> datetime | None:
    """When the campaign's execution (just started or scheduled) should complete; None when
    it cannot be told now (no dispatcher sends, an account without a limit, nothing to send,
    or a service that does not answer in time)."""
    try:
        counted, capacity = await asyncio.gather(
            bus.query(
                CountCampaignAudience(campaign_id=campaign_id),
                AudienceCount,
                ESTIMATE_TIMEOUT_SECONDS,
                service="campaign",
            ),
            bus.query(
                GetSendingCapacity(), SendingCapacity, ESTIMATE_TIMEOUT_SECONDS, "dispatcher"
            ),
        )
        if capacity.rate is None:
            return None
        estimate = await bus.query(
            EstimateExecution(
                campaign_id=campaign_id, recipients=counted.count, rate=capacity.rate
            ),
            ExecutionEstimate,
            ESTIMATE_TIMEOUT_SECONDS,
        )
    except Problem as problem:
        log.warning("gateway.execution_not_estimated", campaign_id=campaign_id, code=problem.code)
        return None
    return estimate.estimated_completion
