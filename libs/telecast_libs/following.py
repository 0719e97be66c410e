"""Follow a JetStream stream with the position kept in PostgreSQL.

The durable consumer is re-created from the checkpoint at every (re)start, each batch's
effects and the checkpoint commit in one transaction, and messages are acknowledged after
that commit: a crash anywhere loses no message and applies none twice. The checkpoint lives
in the follower's service schema, in a table ``<schema>.checkpoints (consumer text primary
key, stream_seq bigint, position bigint)``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from telecast_libs import nats as tnats
from telecast_libs.log import get_logger

log = get_logger(__name__)

# Without a message for this long while the consumer has more, the pull subscription is
# re-created: nats.py pull subscriptions may not resume after a server restart (#504).
_STALL_SECONDS = 5.0

# Applies a batch of new messages (stream sequence, message) inside the open transaction.
Apply = Callable[[psycopg.AsyncConnection, list[tuple[int, Msg]]], Awaitable[None]]


def _table(schema: str) -> sql.Composable:
    return sql.Identifier(schema, "checkpoints")


async def load_checkpoint(
    conn: psycopg.AsyncConnection, schema: str, consumer: str
) -> tuple[int, int]:
    query = sql.SQL("SELECT stream_seq, position FROM {} WHERE consumer = %s").format(
        _table(schema)
    )
    row = await (await conn.execute(query, (consumer,))).fetchone()
    return (row[0], row[1]) if row else (0, 0)


async def save_checkpoint(
    conn: psycopg.AsyncConnection, schema: str, consumer: str, stream_seq: int, position: int = 0
) -> None:
    query = sql.SQL(
        """
        INSERT INTO {} (consumer, stream_seq, position) VALUES (%s, %s, %s)
        ON CONFLICT (consumer) DO UPDATE
        SET stream_seq = EXCLUDED.stream_seq, position = EXCLUDED.position
        """
    ).format(_table(schema))
    await conn.execute(query, (consumer, stream_seq, position))


async def follow(
    js: JetStreamContext,
    pool: AsyncConnectionPool,
    schema: str,
    stream: StreamConfig,
    durable: str,
    filter_subject: str | None,
    batch_size: int,
    apply: Apply,
    on_batch: Callable[[int, int], None] = lambda seq, pending: None,
) -> None:
    """Apply the stream's messages until an error (the caller restarts it, under its
    leader); a stalled subscription is re-created from the checkpoint here."""
    while True:
        await _follow_until_stalled(
            js, pool, schema, stream, durable, filter_subject, batch_size, apply, on_batch
        )


async def _follow_until_stalled(
    js: JetStreamContext,
    pool: AsyncConnectionPool,
    schema: str,
    stream: StreamConfig,
    durable: str,
    filter_subject: str | None,
    batch_size: int,
    apply: Apply,
    on_batch: Callable[[int, int], None],
) -> None:
    await tnats.ensure_stream(js, stream)
    async with pool.connection() as conn:
        stream_seq, _ = await load_checkpoint(conn, schema, durable)
    await tnats.recreate_consumer(
        js,
        stream.name,
        ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=stream_seq + 1,
            # One ack for the whole batch, after its commit: acking the last message acks
            # every one before it.
            ack_policy=AckPolicy.ALL,
            ack_wait=60,
            max_ack_pending=batch_size * 4,
            filter_subject=filter_subject,
        ),
    )
    subscription = await js.pull_subscribe_bind(durable, stream=stream.name)
    log.info("stream.following", consumer=durable, stream_seq=stream_seq)
    idle_since = time.monotonic()
    try:
        while True:
            try:
                messages = await subscription.fetch(batch_size, timeout=1.0)
            except TimeoutError:  # nats.errors.TimeoutError, or asyncio's from within
                if time.monotonic() - idle_since > _STALL_SECONDS:
                    idle_since = time.monotonic()
                    info = await js.consumer_info(stream.name, durable)
                    if (info.num_pending or 0) > 0:
                        log.warning("stream.stalled", consumer=durable, behind=info.num_pending)
                        return  # re-created from the checkpoint by follow
                continue
            if not messages:  # nats.py can end a fetch with none (a status message)
                continue
            idle_since = time.monotonic()
            fresh = []
            for message in messages:
                seq = message.metadata.sequence.stream
                if seq > stream_seq:  # else a redelivery of what the checkpoint holds
                    fresh.append((seq, message))
                    stream_seq = seq
            async with pool.connection() as conn, conn.transaction():
                if fresh:
                    await apply(conn, fresh)
                await save_checkpoint(conn, schema, durable, stream_seq)
            await messages[-1].ack()
            on_batch(stream_seq, messages[-1].metadata.num_pending or 0)
    finally:
        await subscription.unsubscribe()
