"""Tracking over NATS request/reply: the gateway reports followed links and conversions
(``<ns>.cmd.tracking.click``, ``<ns>.cmd.tracking.conversion``).

Every replica answers (queue group ``dispatcher``); each request is answered in its own
task, and every failure is answered explicitly: a ``Problem`` with its code, anything
unexpected as ``SERVICE_UNAVAILABLE`` without internals.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Histogram

from telecast_dispatcher.sending.interactions import Interactions
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.tracking import (
    RecordClick,
    RecordConversion,
    TrackingReply,
    TrackingRequests,
)
from telecast_libs.log import correlation, correlation_from_headers, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_tracking_request_seconds", "Time to answer a tracking request", ["kind"]
)


class TrackingEndpoint:
    def __init__(self, nc: Client, subjects: Subjects, interactions: Interactions) -> None:
        self.nc = nc
        self.subjects = subjects
        self.interactions = interactions
        self._subscription: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._subscription = await self.nc.subscribe(
            self.subjects.tracking_commands, queue="dispatcher", cb=self._receive
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _receive(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        with correlation(correlation_from_headers(msg.headers)):
            try:
                request = decode(msg.data, TrackingRequests)
            except msgspec.DecodeError as error:
                reply = TrackingReply(
                    ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error))
                )
            else:
                with LATENCY.labels(request.__struct_config__.tag).time():
                    reply = await self._run(request)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _run(self, request: Any) -> TrackingReply[Any]:
        try:
            return TrackingReply(ok=True, data=await self._handle(request))
        except Problem as problem:
            return TrackingReply(ok=False, error=problem.body())
        except Exception as error:
            log.error("tracking.failed", kind=request.__struct_config__.tag, error=repr(error))
            return TrackingReply(
                ok=False,
                error=ErrorBody(ErrorCode.SERVICE_UNAVAILABLE, "the dispatcher failed to answer"),
            )

    async def _handle(self, request: Any) -> Any:
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
