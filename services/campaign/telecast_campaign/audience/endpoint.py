"""Audience requests over NATS request/reply: contacts, counts, estimates, audience pages.

Unlike campaign commands, these do not go through the event store: each request type has a
handler (registered with ``@handles``) that works on PostgreSQL directly. A handler returns
the reply's data or raises a ``Problem``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from nats.aio.client import Client
from prometheus_client import Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs.command_signing import CommandVerifier
from telecast_libs.request_endpoint import RequestEndpoint, kind_of
from telecast_libs.subjects import Subjects

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
    """The registered handlers on the shared request endpoint, each given the pool."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        nc: Client,
        subjects: Subjects,
        verifier: CommandVerifier,
    ) -> None:
        self._endpoint = RequestEndpoint(
            nc,
            name="audience",
            subjects=[
                subjects.command(_kind(t)) if verb == "cmd" else subjects.query(_kind(t))
                for t, (_, verb) in _HANDLERS.items()
            ],
            queue="campaign-audience",
            handlers={t: partial(handler, pool) for t, (handler, _) in _HANDLERS.items()},
            latency=LATENCY,
            unavailable="the audience store is unavailable",
            verifier=verifier,
            # Not the request: an import carries contacts' data.
            about=lambda request: {
                **kind_of(request),
                "campaign_id": getattr(request, "campaign_id", None),
            },
        )

    async def start(self) -> None:
        await self._endpoint.start()

    async def stop(self) -> None:
        await self._endpoint.stop()


def _kind(request_type: type) -> str:
    return request_type.__struct_config__.tag
