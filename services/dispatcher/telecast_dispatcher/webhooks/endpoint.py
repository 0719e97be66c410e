"""The webhook API over NATS request/reply: the gateway's commands and queries."""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.request_endpoint import RequestEndpoint
from telecast_dispatcher.webhooks.delivery_log import DeliveryLog
from telecast_dispatcher.webhooks.subscriptions import Subscriptions
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    GetDelivery,
    GetWebhook,
    ListDeliveries,
    ListWebhooks,
    RedeliverWebhook,
    RotateWebhookSecret,
    SendTestEvent,
    UpdateWebhook,
    WebhookReply,
    WebhookRequest,
)
from telecast_libs.log import get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_webhook_request_seconds", "Time to answer a webhook API request", ["kind"]
)


class Deleted(msgspec.Struct):
    deleted: bool = True


class WebhookEndpoint(RequestEndpoint):
    name = "webhook_api"
    requests = WebhookRequest
    reply = WebhookReply

    def __init__(
        self,
        nc: Client,
        subjects: Subjects,
        subscriptions: Subscriptions,
        deliveries: DeliveryLog,
        verifier: CommandVerifier,
    ) -> None:
        super().__init__(
            nc, [subjects.webhook_commands, subjects.webhook_queries], LATENCY, verifier
        )
        self.subscriptions = subscriptions
        self.deliveries = deliveries

    async def handle(self, request: Any) -> Any:
        subscriptions, deliveries = self.subscriptions, self.deliveries
        match request:
            case CreateWebhook():
                created = await subscriptions.create(request)
                log.info("webhook.created", webhook_id=created.id, events=created.events)
                return created
            case UpdateWebhook():
                updated = await subscriptions.update(request)
                log.info("webhook.updated", webhook_id=updated.id, active=updated.active)
                return updated
            case DeleteWebhook():
                await subscriptions.delete(request.webhook_id)
                log.info("webhook.deleted", webhook_id=request.webhook_id)
                return Deleted()
            case RotateWebhookSecret():
                rotated = await subscriptions.rotate_secret(request)
                log.info("webhook.secret_rotated", webhook_id=rotated.id)
                return rotated
            case SendTestEvent():
                return await deliveries.send_test(request)
            case RedeliverWebhook():
                return await deliveries.redeliver(request)
            case ListWebhooks():
                return await subscriptions.page(request)
            case GetWebhook():
                return await subscriptions.get(request.webhook_id)
            case ListDeliveries():
                return await deliveries.deliveries(request)
            case GetDelivery():
                return await deliveries.delivery(request.webhook_id, request.delivery_id)
        raise Problem(f"unknown request {request!r}", code=ErrorCode.VALIDATION_ERROR)
