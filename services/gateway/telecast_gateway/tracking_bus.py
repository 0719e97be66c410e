"""The gateway's side of tracking: clicks and conversions reported to the dispatcher over NATS
(``<ns>.cmd.tracking.<name>``)."""

from __future__ import annotations

from typing import TypeVar

import msgspec
import nats.errors
from litestar.datastructures import State
from nats.aio.client import Client

from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.tracking import TrackingReply, TrackingRequest
from telecast_libs.log import CORRELATION_HEADER, current_correlation_id, get_logger
from telecast_libs.subjects import Subjects, subjects_for

log = get_logger(__name__)

T = TypeVar("T")


class DispatcherUnavailable(Problem):
    code = ErrorCode.SERVICE_UNAVAILABLE


class TrackingBus:
    def __init__(self, nc: Client, subjects: Subjects, timeout_ms: int) -> None:
        self.nc = nc
        self.subjects = subjects
        self.timeout = timeout_ms / 1000

    async def ask(
        self, request: TrackingRequest, answer: type[T], timeout: float | None = None
    ) -> T:
        """Send a request; its answer, or the dispatcher's refusal as a Problem."""
        subject = self.subjects.tracking_command(request.__struct_config__.tag)
        headers = {}
        if correlation_id := current_correlation_id():
            headers[CORRELATION_HEADER] = correlation_id
        try:
            msg = await self.nc.request(
                subject, encode(request), timeout=timeout or self.timeout, headers=headers
            )
        except nats.errors.NoRespondersError:
            raise DispatcherUnavailable("the dispatcher service is not running") from None
        except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError):
            raise DispatcherUnavailable("the dispatcher service did not answer in time") from None
        try:
            reply = decode(msg.data, TrackingReply[answer])  # type: ignore[valid-type]
        except msgspec.ValidationError as error:
            log.error("tracking_bus.bad_reply", subject=subject, error=str(error))
            raise DispatcherUnavailable("the dispatcher answered in an unexpected shape") from None
        if not reply.ok or reply.data is None:
            if reply.error is None:
                raise DispatcherUnavailable("the dispatcher answered without a result")
            raise Problem(reply.error.message, details=reply.error.details, code=reply.error.code)
        return reply.data


def provide_tracking_bus(state: State) -> TrackingBus:
    """One bus per application, on the gateway's NATS connection (made on first use)."""
    bus = state.get("tracking_bus")
    if bus is None:
        settings = state.settings
        bus = TrackingBus(
            state.bus.nc,
            subjects_for(settings.telecast_namespace),
            settings.nats_request_timeout_ms,
        )
        state.tracking_bus = bus
    return bus
