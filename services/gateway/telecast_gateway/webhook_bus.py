"""The gateway's side of the webhook API: requests to the dispatcher over NATS."""

from __future__ import annotations

from typing import TypeVar

from litestar.datastructures import State
from nats.aio.client import Client

from telecast_gateway.dispatcher_requests import ask_dispatcher
from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.webhooks import WebhookCommand, WebhookQuery
from telecast_libs.subjects import Subjects, subjects_for

T = TypeVar("T")


class WebhookBus:
    def __init__(
        self, nc: Client, signer: CommandSigner, subjects: Subjects, timeout_ms: int
    ) -> None:
        self.nc = nc
        self.signer = signer
        self.subjects = subjects
        self.timeout = timeout_ms / 1000

    async def ask(self, request: WebhookCommand | WebhookQuery, answer: type[T]) -> T:
        """Send a command or query; its answer, or the dispatcher's refusal as a Problem."""
        kind = request.__struct_config__.tag
        if isinstance(request, WebhookCommand):
            subject = self.subjects.webhook_command(kind)
        else:
            subject = self.subjects.webhook_query(kind)
        return await ask_dispatcher(
            self.nc, self.signer, subject, request, Reply, answer, self.timeout
        )


def provide_webhook_bus(state: State) -> WebhookBus:
    """One bus per application, on the gateway's NATS connection (made on first use)."""
    bus = state.get("webhook_bus")
    if bus is None:
        settings = state.settings
        bus = WebhookBus(
            state.bus.nc,
            state.bus.signer,
            subjects_for(settings.telecast_namespace),
            settings.nats_request_timeout_ms,
        )
        state.webhook_bus = bus
    return bus
