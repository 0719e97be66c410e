"""The webhook API over NATS request/reply: the gateway's commands and queries.

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

from telecast_dispatcher.webhooks.delivery_log import DeliveryLog
from telecast_dispatcher.webhooks.subscriptions import Subscriptions
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
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
from telecast_libs.log import correlation, correlation_from_headers, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram(
    "telecast_webhook_request_seconds", "Time to answer a webhook API request", ["kind"]
)


class Deleted(msgspec.Struct):
    deleted: bool = True


class WebhookEndpoint:
    def __init__(
        self,
        nc: Client,
        subjects: Subjects,
        subscriptions: Subscriptions,
        deliveries: DeliveryLog,
    ) -> None:
        self.nc = nc
        self.subjects = subjects
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for subject in (self.subjects.webhook_commands, self.subjects.webhook_queries):
            self._subscriptions.append(
                await self.nc.subscribe(subject, queue="dispatcher", cb=self._receive)
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _receive(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        with correlation(correlation_from_headers(msg.headers)):
            try:
                request = decode(msg.data, WebhookRequest)
            except msgspec.DecodeError as error:
                reply = WebhookReply(
                    ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error))
                )
            else:
                with LATENCY.labels(request.__struct_config__.tag).time():
                    reply = await self._run(request)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _run(self, request: Any) -> WebhookReply[Any]:
        try:
            return WebhookReply(ok=True, data=await self._handle(request))
        except Problem as problem:
            return WebhookReply(ok=False, error=problem.body())
        except Exception as error:
            log.error("webhook_api.failed", kind=request.__struct_config__.tag, error=repr(error))
            return WebhookReply(
                ok=False,
                error=ErrorBody(ErrorCode.SERVICE_UNAVAILABLE, "the dispatcher failed to answer"),
            )

    async def _handle(self, request: Any) -> Any:
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
