"""Tracking over NATS request/reply: the gateway reports followed links and conversions
(``<ns>.cmd.tracking.click``, ``<ns>.cmd.tracking.conversion``)."""

from __future__ import annotations

from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.tracking.interactions import Interactions
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.tracking import (
    ClickRecorded,
    ConversionRecorded,
    RecordClick,
    RecordConversion,
)
from telecast_libs.log import get_logger
from telecast_libs.request_endpoint import RequestEndpoint
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_tracking_request_seconds", "Time to answer a tracking request", ["kind"]
)


def tracking_endpoint(
    nc: Client, subjects: Subjects, interactions: Interactions, verifier: CommandVerifier
) -> RequestEndpoint:
    """Clicks and conversions, recorded by ``interactions``."""

    async def record_click(request: RecordClick) -> ClickRecorded:
        recorded = await interactions.record_click(request)
        log.info(
            "tracking.click",
            execution_id=request.execution_id,
            contact_id=request.contact_id,
            first=recorded.first,
            recorded=recorded.recorded,
        )
        return recorded

    async def record_conversion(request: RecordConversion) -> ConversionRecorded:
        converted = await interactions.record_conversion(request)
        log.info(
            "tracking.conversion",
            campaign_id=converted.campaign_id,
            contact_id=converted.contact_id,
            first=converted.first,
            recorded=converted.recorded,
        )
        return converted

    return RequestEndpoint(
        nc,
        name="tracking",
        subjects=[subjects.tracking_commands],
        queue="dispatcher",
        handlers={RecordClick: record_click, RecordConversion: record_conversion},
        latency=LATENCY,
        unavailable="the dispatcher's database is unavailable",
        verifier=verifier,
    )
