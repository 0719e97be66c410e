"""The gateway's side of the webhook API: requests to the dispatcher over NATS."""

from __future__ import annotations

from typing import TypeVar

from litestar.datastructures import State

from telecast_libs.contracts.webhooks import WebhookCommand, WebhookQuery
from telecast_libs.log import current_correlation_id
from telecast_libs.requester import Requester
from telecast_libs.subjects import Subjects, subjects_for

T = TypeVar("T")


class WebhookBus:
    def __init__(self, requester: Requester, subjects: Subjects) -> None:
        self.requester = requester
        self.subjects = subjects

    async def ask(self, request: WebhookCommand | WebhookQuery, answer: type[T]) -> T:
        """Send a command or query; its answer, or the dispatcher's refusal as a Problem."""
        kind = request.__struct_config__.tag
        if isinstance(request, WebhookCommand):
            subject = self.subjects.webhook_command(kind)
        else:
            subject = self.subjects.webhook_query(kind)
        return await self.requester.ask(
            subject,
            request,
            answer,
            service="dispatcher",
            correlation_id=current_correlation_id(),
        )


def provide_webhook_bus(state: State) -> WebhookBus:
    """One bus per application, on the gateway's NATS connection (made on first use)."""
    bus = state.get("webhook_bus")
    if bus is None:
        bus = WebhookBus(state.bus.requester, subjects_for(state.settings.telecast_namespace))
        state.webhook_bus = bus
    return bus
