"""The webhook API over NATS request/reply: the gateway's commands and queries."""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.webhooks.delivery_log import DeliveryLog
from telecast_dispatcher.webhooks.subscriptions import Subscriptions
from telecast_libs.command_signing import CommandVerifier
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
)
from telecast_libs.log import get_logger
from telecast_libs.request_endpoint import Handler, RequestEndpoint
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_webhook_request_seconds", "Time to answer a webhook API request", ["kind"]
)


class Deleted(msgspec.Struct):
    deleted: bool = True


def webhook_endpoint(
    nc: Client,
    subjects: Subjects,
    subscriptions: Subscriptions,
    deliveries: DeliveryLog,
    verifier: CommandVerifier,
) -> RequestEndpoint:
    """The webhook API's commands and queries, each on the subscriptions or the log."""

    async def create(request: CreateWebhook) -> Any:
        created = await subscriptions.create(request)
        log.info("webhook.created", webhook_id=created.id, events=created.events)
        return created

    async def update(request: UpdateWebhook) -> Any:
        updated = await subscriptions.update(request)
        log.info("webhook.updated", webhook_id=updated.id, active=updated.active)
        return updated

    async def delete(request: DeleteWebhook) -> Deleted:
        await subscriptions.delete(request.webhook_id)
        log.info("webhook.deleted", webhook_id=request.webhook_id)
        return Deleted()

    async def rotate_secret(request: RotateWebhookSecret) -> Any:
        rotated = await subscriptions.rotate_secret(request)
        log.info("webhook.secret_rotated", webhook_id=rotated.id)
        return rotated

    async def get(request: GetWebhook) -> Any:
        return await subscriptions.get(request.webhook_id)

    async def delivery(request: GetDelivery) -> Any:
        return await deliveries.delivery(request.webhook_id, request.delivery_id)

    handlers: dict[type, Handler] = {
        CreateWebhook: create,
        UpdateWebhook: update,
        DeleteWebhook: delete,
        RotateWebhookSecret: rotate_secret,
        SendTestEvent: deliveries.send_test,
        RedeliverWebhook: deliveries.redeliver,
        ListWebhooks: subscriptions.page,
        GetWebhook: get,
        ListDeliveries: deliveries.deliveries,
        GetDelivery: delivery,
    }
    return RequestEndpoint(
        nc,
        name="webhook_api",
        subjects=[subjects.webhook_commands, subjects.webhook_queries],
        queue="dispatcher",
        handlers=handlers,
        latency=LATENCY,
        unavailable="the dispatcher's database is unavailable",
        verifier=verifier,
    )
