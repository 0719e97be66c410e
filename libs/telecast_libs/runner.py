"""How a service that speaks NATS runs: its ops server (health, readiness, metrics) up, its
parts started, then at SIGINT or SIGTERM an orderly stop, its connections closed last.

Each service's ``bootstrap.py`` builds its parts and says how they start and stop, in its own
order (an endpoint stops taking requests before the work behind it stops, say); this module
is the frame around them, the same for every service.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import psycopg
from nats.aio.client import Client
from psycopg_pool import AsyncConnectionPool

from telecast_libs.log import get_logger
from telecast_libs.ops import ReadinessCheck, serve_ops

log = get_logger(__name__)


def readiness_checks(
    pool: AsyncConnectionPool, nc: Client, own_connection_to: str | None = None
) -> dict[str, ReadinessCheck]:
    """Ready when PostgreSQL answers and NATS is connected and answers. PostgreSQL is asked
    on the pool, or on a connection of its own to ``own_connection_to`` (a database URL)
    where the pool may be busy for long (the campaign service's contact imports): a busy
    pool is not a service down."""

    async def postgres_ready() -> None:
        if own_connection_to is None:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
            return
        async with await psycopg.AsyncConnection.connect(
            own_connection_to, connect_timeout=2
        ) as conn:
            await conn.execute("SELECT 1")

    async def nats_ready() -> None:
        if not nc.is_connected:
            raise ConnectionError("NATS is not connected")
        await nc.flush(timeout=1)

    return {"postgres": postgres_ready, "nats": nats_ready}


async def stop_signalled() -> None:
    """Wait for SIGINT or SIGTERM (and take the handlers off again)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel background tasks and wait until they have ended."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class ServiceSettings(Protocol):
    """What the runner reads of a service's settings."""

    metrics_host: str
    metrics_port: int
    telecast_namespace: str


async def run_service(
    name: str,
    settings: ServiceSettings,
    pool: AsyncConnectionPool,
    nc: Client,
    *,
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    ready_on_own_connection_to: str | None = None,
    **about: Any,
) -> None:
    """Serve ops on the metrics address, ``start``, log ``<name>.started`` with the
    namespace and ``about``, wait for SIGINT or SIGTERM, log ``<name>.stopping``, ``stop``;
    then close the ops server, drain NATS and close the pool. ``ready_on_own_connection_to``:
    see ``readiness_checks``."""
    checks = readiness_checks(pool, nc, ready_on_own_connection_to)
    ops = await serve_ops(settings.metrics_host, settings.metrics_port, checks)
    await start()
    log.info(f"{name}.started", namespace=settings.telecast_namespace, **about)
    await stop_signalled()
    log.info(f"{name}.stopping")
    await stop()
    ops.close()
    await nc.drain()
    await pool.close()
