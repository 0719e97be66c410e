"""Tracking over NATS request/reply: the gateway reports followed links and conversions
(``<ns>.cmd.tracking.click``, ``<ns>.cmd.tracking.conversion``)."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.request_endpoint import RequestEndpoint
from telecast_dispatcher.tracking.interactions import Interactions
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.tracking import (
    RecordClick,
    RecordConversion,
    TrackingReply,
    TrackingRequests,
)
from telecast_libs.log import get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_tracking_request_seconds", "Time to answer a tracking request", ["kind"]
)


class TrackingEndpoint(RequestEndpoint):
    name = "tracking"
    requests = TrackingRequests
    reply = TrackingReply

    def __init__(
        self,
        nc: Client,
        subjects: Subjects,
        interactions: Interactions,
        verifier: CommandVerifier,
    ) -> None:
        super().__init__(nc, [subjects.tracking_commands], LATENCY, verifier)
        self.interactions = interactions

    async def handle(self, request: Any) -> Any:
        match request:
            case RecordClick():
                recorded = await self.interactions.record_click(request)
                log.info(
                    "tracking.click",
                    execution_id=request.execution_id,
                    contact_id=request.contact_id,
                    first=recorded.first,
                    recorded=recorded.recorded,
                )
                return recorded
            case RecordConversion():
                converted = await self.interactions.record_conversion(request)
                log.info(
                    "tracking.conversion",
                    campaign_id=converted.campaign_id,
                    contact_id=converted.contact_id,
                    first=converted.first,
                    recorded=converted.recorded,
                )
                return converted
        raise Problem(f"unknown request {request!r}", code=ErrorCode.VALIDATION_ERROR)
