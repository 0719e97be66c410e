"""Follows the campaign event stream and applies it to the read models, exactly once.

Each batch of events and the stream position it reaches are written in one transaction; the
messages are acknowledged only after that commit. The follower's durable consumer is
re-created from the checkpoint in PostgreSQL whenever the follower (re)starts, so JetStream's
own delivery state never decides what is applied: PostgreSQL does.

One follower applies events at a time (a PostgreSQL advisory lock elects it); other replicas
answer queries only.

An event that cannot be applied (a bug, or a missing predecessor) rolls its batch back: the
follower logs it at error level with its ids, counts it in
``telecast_projection_apply_failures_total`` and retries from the checkpoint every second.
Nothing after it is applied until the cause is fixed: skipping it would lose it for good.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge, Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs import nats as tnats
from telecast_libs.contracts.events import DomainEvent, decode_event
from telecast_libs.leader import lead_forever
from telecast_libs.log import correlation, get_logger
from telecast_libs.streams import campaign_events_stream
from telecast_libs.subjects import Subjects
from telecast_projection.views import apply

log = get_logger(__name__)

APPLIED = Counter("telecast_projection_events_applied_total", "Events applied to read models")
SKIPPED = Counter("telecast_projection_events_skipped_total", "Redelivered events skipped")
LAG = Gauge("telecast_projection_lag_events", "Events in the stream not yet applied")
POSITION = Gauge("telecast_projection_position", "Last notification position applied")
BATCH = Histogram(
    "telecast_projection_batch_seconds", "Time to apply and commit one batch of events"
)
LEADER = Gauge("telecast_projection_leader", "1 when this replica applies events")
FAILED = Counter(
    "telecast_projection_apply_failures_total",
    "Events that could not be applied (the follower retries them from its checkpoint)",
)

CONSUMER = "campaign_read_model"
_LOCK = "telecast.projection.follower"
# Without a message for this long while the stream has more, the pull subscription is
# re-created: nats.py pull subscriptions may not resume after a server restart (#504).
_STALL_SECONDS = 5.0


class Checkpoint:
    def __init__(self, stream_seq: int, position: int) -> None:
        self.stream_seq = stream_seq
        self.position = position


async def load_checkpoint(conn: psycopg.AsyncConnection, consumer: str) -> Checkpoint:
    row = await (
        await conn.execute(
            "SELECT stream_seq, position FROM projection.checkpoints WHERE consumer = %s",
            (consumer,),
        )
    ).fetchone()
    return Checkpoint(row[0], row[1]) if row else Checkpoint(0, 0)


class Follower:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        js: JetStreamContext,
        subjects: Subjects,
        database_url: str,
        batch_size: int,
    ) -> None:
        self.pool = pool
        self.js = js
        self.subjects = subjects
        self.database_url = database_url
        self.batch_size = batch_size
        self.durable = subjects.durable(CONSUMER)
        self.applied = asyncio.Condition()
        self.position = 0
        self.leading = False

    async def run(self) -> None:
        await lead_forever(
            self.database_url, _LOCK, self._follow_forever, name="follower", on_leading=self._led
        )

    def _led(self, leading: bool) -> None:
        LEADER.set(1 if leading else 0)
        self.leading = leading

    async def _follow_forever(self, _lock: psycopg.AsyncConnection) -> None:
        while True:
            await self._follow()

    async def _follow(self) -> None:
        stream = self.subjects.campaign_events_stream
        await tnats.ensure_stream(self.js, campaign_events_stream(self.subjects))
        async with self.pool.connection() as conn:
            checkpoint = await load_checkpoint(conn, self.durable)
        await self._notify(checkpoint.position)
        await tnats.recreate_consumer(
            self.js,
            stream,
            ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=checkpoint.stream_seq + 1,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=60,
                max_ack_pending=self.batch_size * 4,
            ),
        )
        subscription = await self.js.pull_subscribe_bind(self.durable, stream=stream)
        log.info("follower.following", stream_seq=checkpoint.stream_seq)
        idle_since = time.monotonic()
        try:
            while True:
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=1.0)
                except TimeoutError:  # nats.errors.TimeoutError, or asyncio's from within
                    if time.monotonic() - idle_since > _STALL_SECONDS:
                        idle_since = time.monotonic()
                        if await self._stalled(checkpoint):
                            return  # re-create the consumer from the checkpoint
                    continue
                if not messages:  # nats.py can end a fetch with none (a status message)
                    continue
                idle_since = time.monotonic()
                checkpoint = await self._apply(messages, checkpoint)
        finally:
            await subscription.unsubscribe()

    async def _stalled(self, checkpoint: Checkpoint) -> bool:
        info = await self.js.stream_info(self.subjects.campaign_events_stream)
        behind = info.state.last_seq - checkpoint.stream_seq
        LAG.set(max(0, behind))
        if behind > 0:
            log.warning("follower.stalled", behind=behind)
        return behind > 0

    async def _apply(self, messages: list, checkpoint: Checkpoint) -> Checkpoint:
        started = time.perf_counter()
        stream_seq, position = checkpoint.stream_seq, checkpoint.position
        applied = 0
        async with self.pool.connection() as conn, conn.transaction():
            for message in messages:
                seq = message.metadata.sequence.stream
                if seq <= stream_seq:
                    SKIPPED.inc()
                    continue
                event = self._decode(message.data, seq)
                if event is None:
                    # A type this version does not know (a newer campaign service's): no
                    # read model here is about it.
                    log.info("follower.unknown_event_skipped", stream_seq=seq)
                    stream_seq = seq
                    continue
                with correlation(event.correlation_id):
                    try:
                        await apply(conn, event)
                    except Exception:
                        # The batch rolls back and is retried from the checkpoint: until the
                        # cause is fixed, the read models stand still at this event. Said
                        # loudly, with what a reader needs to find it in the event store.
                        FAILED.inc()
                        log.exception(
                            "follower.apply_failed",
                            stream_seq=seq,
                            event_id=event.id,
                            event_type=event.type,
                            aggregate_id=event.aggregate_id,
                            aggregate_version=event.aggregate_version,
                            position=event.position,
                        )
                        raise
                stream_seq, position = seq, max(position, event.position)
                applied += 1
            await conn.execute(
                """
                INSERT INTO projection.checkpoints (consumer, stream_seq, position)
                VALUES (%s, %s, %s)
                ON CONFLICT (consumer) DO UPDATE
                SET stream_seq = EXCLUDED.stream_seq, position = EXCLUDED.position
                """,
                (self.durable, stream_seq, position),
            )
        for message in messages:
            await message.ack()
        APPLIED.inc(applied)
        BATCH.observe(time.perf_counter() - started)
        pending = messages[-1].metadata.num_pending
        LAG.set(pending or 0)
        POSITION.set(position)
        await self._notify(position)
        return Checkpoint(stream_seq, position)

    def _decode(self, data: bytes, seq: int) -> DomainEvent | None:
        try:
            return decode_event(data)
        except msgspec.ValidationError:
            FAILED.inc()
            log.exception(
                "follower.undecodable_event",
                stream_seq=seq,
                data=data[:500].decode(errors="replace"),
            )
            raise

    async def _notify(self, position: int) -> None:
        async with self.applied:
            self.position = max(self.position, position)
            self.applied.notify_all()

    async def wait_for(self, position: int, timeout: float) -> bool:
        """True once the read model holds ``position`` (a notification id), within timeout."""
        deadline = time.monotonic() + timeout
        while self.position < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.leading:
                # This replica applies the events: it is told of every commit.
                async with self.applied:
                    try:
                        await asyncio.wait_for(self.applied.wait(), remaining)
                    except TimeoutError:
                        return self.position >= position
            else:
                # Another replica applies them: its checkpoint is in PostgreSQL.
                async with self.pool.connection() as conn:
                    stored = await load_checkpoint(conn, self.durable)
                if stored.position >= position:
                    return True
                await asyncio.sleep(min(remaining, 0.02))
        return True
