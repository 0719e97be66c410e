"""Queries over NATS request/reply, answered from the read models."""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs.contracts.base import decode, encode, to_builtins
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.messages import (
    AwaitPosition,
    ReadModelQuery,
    kinds,
)
from telecast_libs.contracts.views import PositionReached, QueryReply
from telecast_libs.failures import failure_body
from telecast_libs.log import correlation, correlation_from_headers, get_logger
from telecast_libs.subjects import Subjects
from telecast_projection.follower import Follower
from telecast_projection.views import ANSWERS

log = get_logger(__name__)

LATENCY = Histogram("telecast_projection_query_seconds", "Query latency", ["kind"])


class QueryEndpoint:
    def __init__(
        self, pool: AsyncConnectionPool, nc: Client, subjects: Subjects, follower: Follower
    ) -> None:
        self.pool = pool
        self.nc = nc
        self.subjects = subjects
        self.follower = follower
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for area in sorted({kind.split(".")[0] for kind in kinds(ReadModelQuery)}):
            self._subscriptions.append(
                await self.nc.subscribe(
                    self.subjects.queries(area), queue="projection", cb=self._receive
                )
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()

    async def _receive(self, msg: Msg) -> None:
        # Answer each query in its own task: one waiting for a position must not hold up
        # the others behind it.
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        with correlation(correlation_from_headers(msg.headers)):
            try:
                query = decode(msg.data, ReadModelQuery)
            except msgspec.ValidationError as error:
                problem = ErrorBody(ErrorCode.VALIDATION_ERROR, str(error))
                reply = QueryReply(ok=False, error=problem)
            else:
                with LATENCY.labels(type(query).__name__).time():
                    reply = await self._run(query)
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

    async def _run(self, query: ReadModelQuery) -> QueryReply:
        try:
            if isinstance(query, AwaitPosition):
                reached = await self.follower.wait_for(query.position, query.timeout_ms / 1000)
                return QueryReply(ok=True, data=PositionReached(reached=reached))
            async with self.pool.connection() as conn:
                return QueryReply(ok=True, data=await ANSWERS[type(query)](conn, query))
        except Problem as problem:
            return QueryReply(ok=False, error=problem.body())
        except Exception as error:
            body = failure_body(
                error, "query", "the read model is unavailable", query=to_builtins(query)
            )
            return QueryReply(ok=False, error=body)
