"""The gateway's side of tracking: clicks and conversions reported to the dispatcher over NATS
(``<ns>.cmd.tracking.<name>``)."""

from __future__ import annotations

from typing import TypeVar

from litestar.datastructures import State

from telecast_libs.contracts.tracking import TrackingRequest
from telecast_libs.log import current_correlation_id
from telecast_libs.requester import Requester
from telecast_libs.subjects import Subjects, subjects_for

T = TypeVar("T")


class TrackingBus:
    def __init__(self, requester: Requester, subjects: Subjects) -> None:
        self.requester = requester
        self.subjects = subjects

    async def ask(
        self, request: TrackingRequest, answer: type[T], timeout: float | None = None
    ) -> T:
        """Send a request; its answer, or the dispatcher's refusal as a Problem."""
        return await self.requester.ask(
            self.subjects.tracking_command(request.__struct_config__.tag),
            request,
            answer,
            service="dispatcher",
            correlation_id=current_correlation_id(),
            timeout=timeout,
        )


def provide_tracking_bus(state: State) -> TrackingBus:
    """One bus per application, on the gateway's NATS connection (made on first use)."""
    bus = state.get("tracking_bus")
    if bus is None:
        bus = TrackingBus(state.bus.requester, subjects_for(state.settings.telecast_namespace))
        state.tracking_bus = bus
    return bus
