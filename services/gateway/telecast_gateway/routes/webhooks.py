"""``/api/v1/webhooks``: subscriptions to campaign events, their secrets and delivery log.

The dispatcher owns subscriptions and sends the webhooks; every request here becomes a
command or a query to it over NATS. Managers and administrators change webhooks; any
operator reads them. A subscription's secret is answered only by create and rotate-secret.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.idempotency import creation_id
from telecast_gateway.operators import Operator
from telecast_gateway.routes.writes import (
    IdempotencyKey,
    command_meta,
)
from telecast_gateway.schemas import Deleted
from telecast_gateway.security import can_write_campaigns
from telecast_gateway.webhook_bus import WebhookBus, provide_webhook_bus
from telecast_libs.contracts.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    DeliveryPage,
    DeliveryStatus,
    DeliveryView,
    GetDelivery,
    GetWebhook,
    ListDeliveries,
    ListWebhooks,
    NewWebhook,
    RedeliverWebhook,
    RotateWebhookSecret,
    SendTestEvent,
    UpdateWebhook,
    WebhookChanges,
    WebhookPage,
    WebhookView,
    WebhookWithSecret,
)

_ERROR_DESCRIPTIONS = {
    400: "The request is not valid (VALIDATION_ERROR names the field)",
    401: "No valid Bearer token",
    403: "The operator's role does not allow this (managers and administrators change webhooks), "
    "or (create, update) the URL's host is, or resolves to, an address the deployment does not "
    "let webhooks reach (WEBHOOK_TARGET_NOT_ALLOWED: a policy, not a fault in the request)",
    404: "No such webhook (WEBHOOK_NOT_FOUND) or delivery (DELIVERY_NOT_FOUND)",
    409: "The Idempotency-Key was used before with another request (IDEMPOTENCY_KEY_REUSED), "
    "or a request with it is still running (IDEMPOTENCY_KEY_IN_USE)",
    503: "The dispatcher service is unavailable",
}


def _errors(*statuses: int, **descriptions: str) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            ErrorEnvelope,
            description=descriptions.get(f"s{status}", _ERROR_DESCRIPTIONS[status]),
        )
        for status in statuses
    }


WebhookId = Annotated[str, Parameter(description="The webhook's id", max_length=100)]
DeliveryId = Annotated[str, Parameter(description="The delivery's id", max_length=100)]
Page = Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")]
Limit = Annotated[int, Parameter(ge=1, le=100, description="Items per page")]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    dependencies = {"webhooks": Provide(provide_webhook_bus, sync_to_thread=False)}
    # Subscriptions name internal endpoints, and the delivery log shows what they answered:
    # managers and administrators only, reads included.
    guards = [can_write_campaigns]

    @get(
        "/",
        operation_id="listWebhooks",
        summary="List webhooks",
        description="A page of webhook subscriptions, oldest first. Secrets are never shown, "
        "nor the values of the URLs' query strings (`?token=***`). Managers and "
        "administrators only.",
        responses=_errors(400, 401, 403, 503),
    )
    async def list_webhooks(
        self, webhooks: WebhookBus, page: Page = 1, limit: Limit = 20
    ) -> Envelope[WebhookPage]:
        return ok(await webhooks.ask(ListWebhooks(page=page, limit=limit), WebhookPage))

    @post(
        "/",
        operation_id="createWebhook",
        summary="Create a webhook",
        description="Subscribes `url` (http or https; a public address unless the operator "
        "allowlisted it) to `events`, optionally only for `campaignIds`. The answer holds "
        "the signing `secret`: it is shown this once (rotate-secret makes a new one).",
        status_code=201,
        responses=_errors(400, 401, 403, 409, 503),
    )
    async def create_webhook(
        self,
        request: Request[Operator, Any, State],
        data: NewWebhook,
        webhooks: WebhookBus,
        idempotency_key: IdempotencyKey = None,
    ) -> Envelope[WebhookWithSecret]:
        command = CreateWebhook(
            meta=command_meta(request),
            webhook=data,
            webhook_id=creation_id(request.user.id, idempotency_key, request.url.path),
        )
        return ok(await webhooks.ask(command, WebhookWithSecret))

    @get(
        "/{webhook_id:str}",
        operation_id="getWebhook",
        summary="Get a webhook",
        description="The subscription, whether it is active and, if it is not, why.",
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def get_webhook(
        self, webhooks: WebhookBus, webhook_id: WebhookId
    ) -> Envelope[WebhookView]:
        return ok(await webhooks.ask(GetWebhook(webhook_id=webhook_id), WebhookView))

    @put(
        "/{webhook_id:str}",
        operation_id="updateWebhook",
        summary="Update a webhook",
        description="Changes the fields present in the body. `active: true` re-enables a "
        "subscription (also one disabled after repeated failures): its waiting deliveries go "
        "at once, in order. `campaignIds: []` removes the campaign filter.",
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def update_webhook(
        self,
        request: Request[Operator, Any, State],
        webhook_id: WebhookId,
        data: WebhookChanges,
        webhooks: WebhookBus,
    ) -> Envelope[WebhookView]:
        command = UpdateWebhook(meta=command_meta(request), webhook_id=webhook_id, changes=data)
        return ok(await webhooks.ask(command, WebhookView))

    @delete(
        "/{webhook_id:str}",
        operation_id="deleteWebhook",
        summary="Delete a webhook",
        description="The subscription, its pending deliveries and its delivery log go.",
        status_code=200,
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def delete_webhook(
        self,
        request: Request[Operator, Any, State],
        webhook_id: WebhookId,
        webhooks: WebhookBus,
    ) -> Envelope[Deleted]:
        await webhooks.ask(
            DeleteWebhook(meta=command_meta(request), webhook_id=webhook_id), dict[str, Any]
        )
        return ok(Deleted(message="Webhook deleted successfully"))

    @post(
        "/{webhook_id:str}/rotate-secret",
        operation_id="rotateWebhookSecret",
        summary="Rotate a webhook's secret",
        description="Makes a new signing secret and answers it (the only time it is shown). "
        "For a grace period (`previousSecretExpiresAt`, 24 h by default) deliveries carry a "
        "second signature made with the previous secret, so receivers can switch without "
        "missing one.",
        status_code=200,
        responses=_errors(400, 401, 403, 404, 409, 503),
    )
    async def rotate_secret(
        self,
        request: Request[Operator, Any, State],
        webhook_id: WebhookId,
        webhooks: WebhookBus,
        idempotency_key: IdempotencyKey = None,
    ) -> Envelope[WebhookWithSecret]:
        command = RotateWebhookSecret(meta=command_meta(request), webhook_id=webhook_id)
        return ok(await webhooks.ask(command, WebhookWithSecret))

    @post(
        "/{webhook_id:str}/test",
        operation_id="testWebhook",
        summary="Send a test event",
        description="Queues one `webhook.test` event to the subscription (also an inactive "
        "one), signed like any other, attempted once. Answers the delivery at once; follow "
        "its outcome at `…/deliveries/{deliveryId}`.",
        status_code=202,
        responses=_errors(400, 401, 403, 404, 409, 503),
    )
    async def send_test_event(
        self,
        request: Request[Operator, Any, State],
        webhook_id: WebhookId,
        webhooks: WebhookBus,
        idempotency_key: IdempotencyKey = None,
    ) -> Envelope[DeliveryView]:
        command = SendTestEvent(meta=command_meta(request), webhook_id=webhook_id)
        return ok(await webhooks.ask(command, DeliveryView))

    @get(
        "/{webhook_id:str}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="A webhook's delivery log",
        description="Deliveries, newest first, each with its attempts: when, the receiver's "
        "status code, latency, error, the first 512 bytes of its answer, and the next retry.",
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def list_deliveries(
        self,
        webhooks: WebhookBus,
        webhook_id: WebhookId,
        page: Page = 1,
        limit: Limit = 20,
        status: Annotated[
            DeliveryStatus | None, Parameter(description="Only deliveries in this state")
        ] = None,
    ) -> Envelope[DeliveryPage]:
        query = ListDeliveries(webhook_id=webhook_id, page=page, limit=limit, status=status)
        return ok(await webhooks.ask(query, DeliveryPage))

    @get(
        "/{webhook_id:str}/deliveries/{delivery_id:str}",
        operation_id="getWebhookDelivery",
        summary="Get a delivery",
        description="One delivery with all its attempts.",
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def get_delivery(
        self, webhooks: WebhookBus, webhook_id: WebhookId, delivery_id: DeliveryId
    ) -> Envelope[DeliveryView]:
        query = GetDelivery(webhook_id=webhook_id, delivery_id=delivery_id)
        return ok(await webhooks.ask(query, DeliveryView))

    @post(
        "/{webhook_id:str}/deliveries/{delivery_id:str}/redeliver",
        operation_id="redeliverWebhookDelivery",
        summary="Redeliver",
        description="Sends a delivery that succeeded or was given up again, with the same "
        "event id and a fresh retry schedule. Deliveries of an inactive webhook wait until "
        "it is active again.",
        status_code=202,
        responses=_errors(
            400,
            401,
            403,
            404,
            409,
            503,
            s409="The delivery is still pending (DELIVERY_PENDING), or the Idempotency-Key was "
            "used before with another request (IDEMPOTENCY_KEY_REUSED) or its request is still "
            "running (IDEMPOTENCY_KEY_IN_USE)",
        ),
    )
    async def redeliver(
        self,
        request: Request[Operator, Any, State],
        webhook_id: WebhookId,
        delivery_id: DeliveryId,
        webhooks: WebhookBus,
        idempotency_key: IdempotencyKey = None,
    ) -> Envelope[DeliveryView]:
        command = RedeliverWebhook(
            meta=command_meta(request), webhook_id=webhook_id, delivery_id=delivery_id
        )
        return ok(await webhooks.ask(command, DeliveryView))
