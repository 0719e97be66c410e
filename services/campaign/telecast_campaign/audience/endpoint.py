"""Audience requests over NATS request/reply: contacts, counts, estimates, audience pages.

Unlike campaign commands, these do not go through the event store: each request type has a
handler (registered with ``@handles``) that works on PostgreSQL directly. A handler returns
the reply's data or raises a ``Problem``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Union

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.views import QueryReply
from telecast_libs.failures import failure_body
from telecast_libs.log import correlation, correlation_from_headers, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

LATENCY = Histogram("telecast_audience_request_seconds", "Audience request latency", ["kind"])

Handler = Callable[[AsyncConnectionPool, Any], Awaitable[Any]]
_HANDLERS: dict[type, tuple[Handler, str]] = {}


def handles(request_type: type, verb: str = "query") -> Callable[[Handler], Handler]:
    """Register the handler of a request type; ``verb`` is "cmd" or "query" (its subject)."""

    def register(handler: Handler) -> Handler:
        _HANDLERS[request_type] = (handler, verb)
        return handler

    return register


class AudienceEndpoint:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        nc: Client,
        subjects: Subjects,
        verifier: CommandVerifier,
    ) -> None:
        self.pool = pool
        self.nc = nc
        self.subjects = subjects
        self.verifier = verifier
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._union: Any = None

    async def start(self) -> None:
        if not _HANDLERS:
            return
        self._union = Union[tuple(_HANDLERS)]  # noqa: UP007 (built at run time)
        for request_type, (_, verb) in _HANDLERS.items():
            kind = request_type.__struct_config__.tag
            subject = self.subjects.command(kind) if verb == "cmd" else self.subjects.query(kind)
            self._subscriptions.append(
                await self.nc.subscribe(subject, queue="campaign-audience", cb=self._receive)
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()

    async def _receive(self, msg: Msg) -> None:
        # Each request in its own task: a long import batch must not hold up a count.
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        with correlation(correlation_from_headers(msg.headers)):
            refused = self.verifier.refusal(msg.subject, msg.data, msg.headers)
            if refused is not None:
                reply = QueryReply(ok=False, error=refused)
            else:
                reply = await self._handle(msg.data)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _handle(self, data: bytes) -> QueryReply:
        try:
            request = decode(data, self._union)
        except msgspec.ValidationError as error:
            return QueryReply(ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error)))
        kind = request.__struct_config__.tag
        handler, _ = _HANDLERS[type(request)]
        with LATENCY.labels(kind).time():
            try:
                return QueryReply(ok=True, data=await handler(self.pool, request))
            except Problem as problem:
                return QueryReply(ok=False, error=problem.body())
            except Exception as error:
                body = failure_body(
                    error,
                    "audience",
                    "the audience store is unavailable",
                    # Not the request: an import carries contacts' data.
                    kind=kind,
                    campaign_id=getattr(request, "campaign_id", None),
                )
                return QueryReply(ok=False, error=body)
