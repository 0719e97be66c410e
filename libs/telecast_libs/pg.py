"""PostgreSQL helpers: a psycopg connection pool, advisory locks, the eventsourcing env."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg
from psycopg_pool import AsyncConnectionPool


async def open_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 10, name: str = "telecast"
) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        # A service must keep running while PostgreSQL restarts: the pool drops connections
        # that failed and reconnects in the background, and checks each connection before
        # handing it out (one empty round trip), so that the first uses after a restart do
        # not fail on connections the server closed.
        reconnect_timeout=3600,
        check=AsyncConnectionPool.check_connection,
    )
    await pool.open(wait=True, timeout=30)
    return pool


def eventsourcing_env(database_url: str, schema: str, pool_size: int = 5) -> dict[str, str]:
    """The eventsourcing library's PostgreSQL settings, derived from one ``DATABASE_URL``."""
    parts = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": unquote(parts.hostname or "127.0.0.1"),
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        # The library waits forever for its table lock by default; a stuck writer must
        # surface as an error instead of freezing every command behind it. (Its insert
        # function holds the value too: changing it is a migration of the campaign schema.)
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        # The event store's tables are the campaign schema's first migration: the library
        # must not create (or race to create) them when an application starts.
        "CREATE_TABLE": "n",
    }


async def try_advisory_lock(conn: psycopg.AsyncConnection, name: str) -> bool:
    """Take a session-level advisory lock named ``name`` if free.

    Held for as long as the connection lives; PostgreSQL releases it when the process or the
    connection dies, which is what makes it a safe way to elect one active worker.
    """
    cursor = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))
    row = await cursor.fetchone()
    return bool(row and row[0])
