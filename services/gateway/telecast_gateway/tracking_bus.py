"""The gateway's side of tracking: clicks and conversions reported to the dispatcher over NATS
(``<ns>.cmd.tracking.<name>``)."""

from __future__ import annotations

from typing import TypeVar

from litestar.datastructures import State
from nats.aio.client import Client

from telecast_gateway.dispatcher_requests import ask_dispatcher
from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.tracking import TrackingRequest
from telecast_libs.subjects import Subjects, subjects_for

T = TypeVar("T")


class TrackingBus:
    def __init__(
        self, nc: Client, signer: CommandSigner, subjects: Subjects, timeout_ms: int
    ) -> None:
        self.nc = nc
        self.signer = signer
        self.subjects = subjects
        self.timeout = timeout_ms / 1000

    async def ask(
        self, request: TrackingRequest, answer: type[T], timeout: float | None = None
    ) -> T:
        """Send a request; its answer, or the dispatcher's refusal as a Problem."""
        subject = self.subjects.tracking_command(request.__struct_config__.tag)
        return await ask_dispatcher(
            self.nc, self.signer, subject, request, Reply, answer, timeout or self.timeout
        )


def provide_tracking_bus(state: State) -> TrackingBus:
    """One bus per application, on the gateway's NATS connection (made on first use)."""
    bus = state.get("tracking_bus")
    if bus is None:
        settings = state.settings
        bus = TrackingBus(
            state.bus.nc,
            state.bus.signer,
            subjects_for(settings.telecast_namespace),
            settings.nats_request_timeout_ms,
        )
        state.tracking_bus = bus
    return bus
