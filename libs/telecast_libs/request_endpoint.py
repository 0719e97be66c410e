"""A service's NATS request/reply endpoint: requests decoded, dispatched to a handler table,
each answered as a ``Reply``.

Every replica answers (a queue group); each request is answered in its own task, so that a
slow one (an import batch, a query waiting for a position) does not hold up the others.
Every failure is answered explicitly: a ``Problem`` with its code, anything unexpected as
``telecast_libs.failures`` says (an outage or a bug), without internals (``nats.micro``
would answer ``repr(error)``). Where a verifier is given, a command is carried out only if a
sender the service trusts signed it (``telecast_libs.command_signing``); queries pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Union

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Histogram

from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.replies import Reply
from telecast_libs.failures import failure_body
from telecast_libs.log import correlation, correlation_from_headers

# A request's handler: the answer's data, or raise a ``Problem``.
Handler = Callable[[Any], Awaitable[Any]]

# How long a stop waits for the requests in flight to be answered.
_STOP_GRACE_SECONDS = 5.0


def kind_of(request: Any) -> dict[str, Any]:
    """What an unexpected failure logs about a request by default: its kind only (a request
    may carry a secret or a contact's data)."""
    return {"kind": request.__struct_config__.tag}


class RequestEndpoint:
    """Answers the requests of ``handlers`` (request type → handler) on ``subjects``.

    ``name`` starts the log events of unexpected failures (``<name>.failed``,
    ``<name>.unavailable``, with what ``about`` says of the request); ``unavailable`` is the
    message an outage is answered with; ``latency`` (labelled by the request's kind) times
    each handler.
    """

    def __init__(
        self,
        nc: Client,
        *,
        name: str,
        subjects: Iterable[str],
        queue: str,
        handlers: Mapping[type, Handler],
        latency: Histogram,
        unavailable: str,
        verifier: CommandVerifier | None = None,
        about: Callable[[Any], dict[str, Any]] = kind_of,
    ) -> None:
        self.nc = nc
        self.name = name
        self._subjects = list(subjects)
        self._queue = queue
        self._handlers = dict(handlers)
        # The tagged union of every request handled: one decode picks the type.
        self._requests: Any = Union[tuple(self._handlers)]  # noqa: UP007 (built at run time)
        self._latency = latency
        self._unavailable = unavailable
        self._verifier = verifier
        self._about = about
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for subject in self._subjects:
            self._subscriptions.append(
                await self.nc.subscribe(subject, queue=self._queue, cb=self._receive)
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=_STOP_GRACE_SECONDS)

    async def _receive(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        with correlation(correlation_from_headers(msg.headers)):
            refused = (
                self._verifier.refusal(msg.subject, msg.data, msg.headers)
                if self._verifier is not None
                else None
            )
            if refused is not None:
                reply: Reply[Any] = Reply(ok=False, error=refused)
            else:
                reply = await self._decided(msg.data)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _decided(self, data: bytes) -> Reply[Any]:
        try:
            request = decode(data, self._requests)
        except msgspec.DecodeError as error:  # not JSON, or not a request handled here
            return Reply(ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error)))
        with self._latency.labels(request.__struct_config__.tag).time():
            return await self._run(request)

    async def _run(self, request: Any) -> Reply[Any]:
        try:
            return Reply(ok=True, data=await self._handlers[type(request)](request))
        except Problem as problem:
            return Reply(ok=False, error=problem.body())
        except Exception as error:
            body = failure_body(error, self.name, self._unavailable, **self._about(request))
            return Reply(ok=False, error=body)
