"""Queries over NATS request/reply, answered from the read models."""

from __future__ import annotations

from functools import partial
from typing import Any

from nats.aio.client import Client
from prometheus_client import Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.messages import AwaitPosition
from telecast_libs.contracts.views import PositionReached
from telecast_libs.request_endpoint import RequestEndpoint
from telecast_libs.subjects import Subjects
from telecast_projection.follower import Follower
from telecast_projection.views import ANSWERS, Answer

LATENCY = Histogram("telecast_projection_query_seconds", "Query latency", ["kind"])


def query_endpoint(
    pool: AsyncConnectionPool, nc: Client, subjects: Subjects, follower: Follower
) -> RequestEndpoint:
    """Every read model query (``ANSWERS``, each on a connection of the pool) and the
    read-your-writes wait (``AwaitPosition``, on the follower)."""

    async def await_position(query: AwaitPosition) -> PositionReached:
        reached = await follower.wait_for(query.position, query.timeout_ms / 1000)
        return PositionReached(reached=reached)

    handlers = {
        AwaitPosition: await_position,
        **{query: partial(_on_connection, pool, answer) for query, answer in ANSWERS.items()},
    }
    areas = sorted({query.__struct_config__.tag.split(".")[0] for query in handlers})
    return RequestEndpoint(
        nc,
        name="query",
        subjects=[subjects.queries(area) for area in areas],
        queue="projection",
        handlers=handlers,
        latency=LATENCY,
        unavailable="the read model is unavailable",
        about=lambda query: {"query": to_builtins(query)},
    )


async def _on_connection(pool: AsyncConnectionPool, answer: Answer, query: Any) -> Any:
    async with pool.connection() as conn:
        return await answer(conn, query)
