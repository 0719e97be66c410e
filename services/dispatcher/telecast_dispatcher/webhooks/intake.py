"""Turns the campaign event stream into webhook deliveries: the outbox.

For each event and each active subscription that wants it, one delivery row (unique per
subscription and event id) is written in the same transaction as the stream position the
batch reaches; messages are acknowledged after that commit. The durable consumer is
re-created from the checkpoint in PostgreSQL at every (re)start, so a crash anywhere loses
no event and records none twice. One intake runs at a time (a PostgreSQL advisory lock
elects it); other replicas stand by.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec
import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.webhooks import lanes, metrics, payload
from telecast_libs import nats as tnats
from telecast_libs.contracts.base import decode
from telecast_libs.contracts.messages import EventEnvelope
from telecast_libs.log import get_logger
from telecast_libs.pg import try_advisory_lock
from telecast_libs.streams import campaign_events_stream
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

CONSUMER = "webhook_intake"
_LOCK = "telecast.dispatcher.webhook_intake"
# Without a message for this long while the stream has more, the pull subscription is
# re-created: nats.py pull subscriptions may not resume after a server restart (#504).
_STALL_SECONDS = 5.0


@dataclass(frozen=True)
class Subscriber:
    """What the intake needs of a subscription to decide whether it wants an event."""

    id: uuid.UUID
    events: frozenset[str]
    campaign_ids: frozenset[str] | None
    created_at: datetime

    def wants(self, event: EventEnvelope) -> bool:
        # Only what happens after the subscription exists: a lagging intake must not send
        # a new subscriber the past.
        return (
            event.type in self.events
            and (self.campaign_ids is None or event.aggregate_id in self.campaign_ids)
            and event.occurred_at >= self.created_at
        )


async def load_checkpoint(conn: psycopg.AsyncConnection, consumer: str) -> tuple[int, int]:
    row = await (
        await conn.execute(
            "SELECT stream_seq, position FROM dispatcher.checkpoints WHERE consumer = %s",
            (consumer,),
        )
    ).fetchone()
    return (row[0], row[1]) if row else (0, 0)


class WebhookIntake:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        js: JetStreamContext,
        subjects: Subjects,
        database_url: str,
        batch_size: int,
        on_enqueued: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.js = js
        self.subjects = subjects
        self.database_url = database_url
        self.batch_size = batch_size
        self.on_enqueued = on_enqueued
        self.durable = subjects.durable(CONSUMER)

    async def run(self) -> None:
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("webhook_intake.restarting", error=repr(error))
            metrics.LEADER.labels("intake").set(0)
            await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as lock_conn:
            while not await try_advisory_lock(lock_conn, _LOCK):
                await asyncio.sleep(1.0)
            metrics.LEADER.labels("intake").set(1)
            while True:
                await self._follow()

    async def _follow(self) -> None:
        stream = self.subjects.campaign_events_stream
        await tnats.ensure_stream(self.js, campaign_events_stream(self.subjects))
        async with self.pool.connection() as conn:
            stream_seq, position = await load_checkpoint(conn, self.durable)
        await tnats.recreate_consumer(
            self.js,
            stream,
            ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=stream_seq + 1,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=60,
                max_ack_pending=self.batch_size * 4,
                filter_subject=self.subjects.campaign_events,
            ),
        )
        subscription = await self.js.pull_subscribe_bind(self.durable, stream=stream)
        log.info("webhook_intake.following", stream_seq=stream_seq)
        idle_since = time.monotonic()
        try:
            while True:
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=1.0)
                except TimeoutError:  # nats.errors.TimeoutError, or asyncio's from within
                    if time.monotonic() - idle_since > _STALL_SECONDS:
                        idle_since = time.monotonic()
                        if await self._stalled():
                            return  # re-create the consumer from the checkpoint
                    continue
                if not messages:  # nats.py can end a fetch with none (a status message)
                    continue
                idle_since = time.monotonic()
                stream_seq, position = await self._enqueue(messages, stream_seq, position)
        finally:
            await subscription.unsubscribe()

    async def _stalled(self) -> bool:
        # Ask the consumer, not the stream: the stream may hold events of other aggregates
        # that this consumer's filter leaves out.
        consumer = await self.js.consumer_info(self.subjects.campaign_events_stream, self.durable)
        behind = consumer.num_pending or 0
        metrics.INTAKE_LAG.set(behind)
        if behind > 0:
            log.warning("webhook_intake.stalled", behind=behind)
        return behind > 0

    async def _enqueue(self, messages: list, stream_seq: int, position: int) -> tuple[int, int]:
        enqueued = 0
        async with self.pool.connection() as conn, conn.transaction():
            subscribers = await _active_subscribers(conn)
            events: list[tuple[int, EventEnvelope]] = []
            for message in messages:
                seq = message.metadata.sequence.stream
                if seq <= stream_seq:
                    continue  # a redelivery of what the checkpoint already holds
                stream_seq = seq
                try:
                    events.append((seq, decode(message.data, EventEnvelope)))
                except msgspec.DecodeError as error:
                    # One malformed message must not hold up every webhook behind it.
                    log.error("webhook_intake.undecodable_event", stream_seq=seq, error=str(error))
            facts = await _campaign_facts(conn, {e.aggregate_id for _, e in events})
            changed: set[str] = set()
            rows = []
            for seq, event in events:
                position = max(position, event.position)
                facts[event.aggregate_id] = payload.evolve(facts.get(event.aggregate_id), event)
                changed.add(event.aggregate_id)
                wanting = [s for s in subscribers if s.wants(event)]
                if not wanting:
                    continue
                body = payload.event_body(event, facts[event.aggregate_id])
                rows += [
                    (
                        uuid.uuid4(),
                        subscriber.id,
                        event.id,
                        event.type,
                        event.aggregate_id,
                        event.aggregate_id,
                        seq,
                        body,
                        event.correlation_id,
                    )
                    for subscriber in wanting
                ]
            async with conn.cursor() as cursor:
                if rows:
                    await cursor.executemany(
                        """
                        INSERT INTO dispatcher.webhook_deliveries
                            (id, subscription_id, event_id, event_type, kind, campaign_id, lane,
                             seq, body, correlation_id, status, round_started_at,
                             next_attempt_at, created_at)
                        VALUES (%s, %s, %s, %s, 'event', %s, %s, %s, %s, %s, 'pending',
                                now(), now(), now())
                        ON CONFLICT (subscription_id, event_id) DO NOTHING
                        """,
                        rows,
                    )
                    enqueued = len(rows)
                    touched = {(row[1], row[5]) for row in rows}
                    await lanes.lock(conn, touched)
                    await lanes.promote(conn, touched)
                if changed:
                    await cursor.executemany(
                        """
                        INSERT INTO dispatcher.webhook_campaigns (id, version, facts)
                        VALUES (%s, %s, %s)
                        ON CONFLICT (id) DO UPDATE
                        SET version = EXCLUDED.version, facts = EXCLUDED.facts
                        WHERE dispatcher.webhook_campaigns.version < EXCLUDED.version
                        """,
                        [(cid, facts[cid]["version"], Jsonb(facts[cid])) for cid in changed],
                    )
            await conn.execute(
                """
                INSERT INTO dispatcher.checkpoints (consumer, stream_seq, position)
                VALUES (%s, %s, %s)
                ON CONFLICT (consumer) DO UPDATE
                SET stream_seq = EXCLUDED.stream_seq, position = EXCLUDED.position
                """,
                (self.durable, stream_seq, position),
            )
        for message in messages:
            await message.ack()
        if enqueued:
            metrics.ENQUEUED.labels("event").inc(enqueued)
            self.on_enqueued()
        metrics.INTAKE_POSITION.set(stream_seq)
        metrics.INTAKE_LAG.set(messages[-1].metadata.num_pending or 0)
        return stream_seq, position


async def _active_subscribers(conn: psycopg.AsyncConnection) -> list[Subscriber]:
    cursor = await conn.execute(
        "SELECT id, events, campaign_ids, created_at FROM dispatcher.webhook_subscriptions "
        "WHERE active"
    )
    return [
        Subscriber(
            id=row[0],
            events=frozenset(row[1]),
            campaign_ids=frozenset(row[2]) if row[2] is not None else None,
            created_at=row[3],
        )
        for row in await cursor.fetchall()
    ]


async def _campaign_facts(conn: psycopg.AsyncConnection, ids: set[str]) -> dict[str, dict]:
    if not ids:
        return {}
    cursor = await conn.execute(
        "SELECT id, facts FROM dispatcher.webhook_campaigns WHERE id = ANY(%s)", (list(ids),)
    )
    return {row[0]: row[1] for row in await cursor.fetchall()}
