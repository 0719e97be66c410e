"""The session fixtures isolate a test session in its own database and namespace."""

from __future__ import annotations

import nats
import psycopg

from telecast_devenv.jetstream import delete_streams


def test_the_database_is_the_sessions_own(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT current_database()").fetchone()
    assert row is not None and row[0].startswith("telecast_t_")


async def test_only_the_namespaces_streams_are_deleted(nats_url: str, namespace: str) -> None:
    # A prefix of its own: other tests of the session may have streams in the namespace.
    prefix = f"{namespace.upper()}_PROBE_"
    ours, theirs = f"{prefix}1", f"X{prefix}1"
    connection = await nats.connect(nats_url)
    try:
        jetstream = connection.jetstream()
        await jetstream.add_stream(name=ours, subjects=[f"{namespace}.probe"])
        await jetstream.add_stream(name=theirs, subjects=[f"x{namespace}.probe"])
        try:
            assert await delete_streams(nats_url, prefix) == [ours]
            names = [info.config.name for info in await jetstream.streams_info()]
            assert theirs in names and ours not in names
        finally:
            await jetstream.delete_stream(theirs)
    finally:
        await connection.close()
