"""The dispatcher's PostgreSQL schema: its consumers' checkpoints and each part's tables."""

from __future__ import annotations

import psycopg

from telecast_dispatcher.sending import schema as sending_schema
from telecast_dispatcher.webhooks import schema as webhook_schema

SCHEMA = "dispatcher"

_CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS dispatcher.checkpoints (
    consumer text PRIMARY KEY,
    stream_seq bigint NOT NULL,
    position bigint NOT NULL
);
"""


async def prepare_database(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # Replicas starting together must not race on CREATE … IF NOT EXISTS.
        await conn.execute("SELECT pg_advisory_lock(hashtext('telecast.dispatcher.schema'))")
        async with conn.transaction():
            await conn.execute("CREATE SCHEMA IF NOT EXISTS dispatcher")
            await conn.execute(_CHECKPOINTS)
            await webhook_schema.create_tables(conn)
            await sending_schema.create_tables(conn)
