"""The dispatcher's NATS request/reply endpoints (webhook API, tracking), one scaffold.

Every replica answers (queue group ``dispatcher``); each request is answered in its own
task, and every failure is answered explicitly: a ``Problem`` with its code, anything
unexpected as ``telecast_libs.failures`` says (an outage or a bug), without internals
(``nats.micro`` would answer ``repr(error)``). A subclass names its subjects, the union of
requests it decodes, its reply type and ``handle``. A command is carried out only if the
gateway signed it (``telecast_libs.command_signing``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Histogram

from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.failures import failure_body
from telecast_libs.log import correlation, correlation_from_headers, get_logger

log = get_logger(__name__)


class RequestEndpoint:
    # What a subclass sets: a short name for logs, its requests and its reply type.
    name: str
    requests: Any
    reply: Any

    def __init__(
        self, nc: Client, subjects: list[str], latency: Histogram, verifier: CommandVerifier
    ) -> None:
        self.nc = nc
        self._subjects = subjects
        self._verifier = verifier
        self._latency = latency
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: Any) -> Any:
        """The answer's data, or raise a ``Problem``."""
        raise NotImplementedError

    async def start(self) -> None:
        for subject in self._subjects:
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
            refused = self._verifier.refusal(msg.subject, msg.data, msg.headers)
            if refused is not None:
                reply = self.reply(ok=False, error=refused)
            else:
                reply = await self._decided(msg.data)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _decided(self, data: bytes) -> Any:
        try:
            request = decode(data, self.requests)
        except msgspec.DecodeError as error:
            return self.reply(ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error)))
        with self._latency.labels(request.__struct_config__.tag).time():
            return await self._run(request)

    async def _run(self, request: Any) -> Any:
        try:
            return self.reply(ok=True, data=await self.handle(request))
        except Problem as problem:
            return self.reply(ok=False, error=problem.body())
        except Exception as error:
            body = failure_body(
                error,
                self.name,
                "the dispatcher's database is unavailable",
                # The kind only: a request may carry a webhook's secret or a recipient.
                kind=request.__struct_config__.tag,
            )
            return self.reply(ok=False, error=body)
