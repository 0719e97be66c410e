"""The projection service's composition root: settings, connections, follower, queries."""

from __future__ import annotations

import asyncio

import psycopg
from nats.aio.subscription import Subscription

from telecast_libs import nats as tnats
from telecast_libs.log import configure_logging, get_logger
from telecast_libs.migrations import require_current
from telecast_libs.pg import open_pool
from telecast_libs.runner import cancel, run_service
from telecast_libs.settings import load_settings
from telecast_libs.subjects import subjects_for
from telecast_projection.delivery_follower import DeliveryFollower
from telecast_projection.follower import Follower
from telecast_projection.migrations import HISTORY
from telecast_projection.queries import query_endpoint
from telecast_projection.rebuild import rebuild_subject
from telecast_projection.schema import create_schema
from telecast_projection.settings import ProjectionSettings

log = get_logger(__name__)


async def prepare_database(database_url: str) -> None:
    """Make the read model's tables, or drop and make them anew when their version changed
    (the schema itself is migrated before the service starts)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # Replicas starting together must not race to drop or make the tables.
        await conn.execute("SELECT pg_advisory_lock(hashtext('telecast.projection.schema'))")
        async with conn.transaction():
            if await create_schema(conn):
                log.warning("projection.rebuilding", reason="the read model's tables changed")


async def serve(settings: ProjectionSettings) -> None:
    subjects = subjects_for(settings.telecast_namespace)
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    await prepare_database(settings.database_url)
    pool = await open_pool(settings.database_url, max_size=10, name="projection")
    nc = await tnats.connect(settings, name="telecast-projection")
    follower = Follower(
        pool, nc.jetstream(), subjects, settings.database_url, settings.projection_batch_size
    )
    deliveries = DeliveryFollower(
        pool, nc.jetstream(), subjects, settings.database_url, settings.projection_batch_size
    )
    queries = query_endpoint(pool, nc, subjects, follower)
    following: list[asyncio.Task[None]] = []
    rebuilds: Subscription | None = None

    def follow() -> None:
        following[:] = [
            asyncio.create_task(follower.run()),
            asyncio.create_task(deliveries.run()),
        ]

    async def rebuild(_message: object) -> None:
        # Stop applying, let the schema preparation drop and recreate the read models (one
        # replica does it, under the schema lock), then replay from the checkpoints it
        # reset.
        log.warning("projection.rebuild_requested")
        await cancel(following)
        await prepare_database(settings.database_url)
        follower.position = 0  # read-your-writes waits for the replay to reach a write
        follow()

    async def start() -> None:
        nonlocal rebuilds
        follow()
        rebuilds = await nc.subscribe(rebuild_subject(subjects), cb=rebuild)
        await queries.start()

    async def stop() -> None:
        await queries.stop()
        if rebuilds is not None:
            await rebuilds.unsubscribe()
        await cancel(following)

    await run_service("projection", settings, pool, nc, start=start, stop=stop)


def main() -> None:
    settings = load_settings(ProjectionSettings)
    configure_logging("projection", settings.log_format, settings.log_level)
    asyncio.run(serve(settings))
