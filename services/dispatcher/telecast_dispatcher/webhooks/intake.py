"""Turns the campaign event stream into webhook deliveries: the outbox.

For each event and each active subscription that wants it, one delivery row (unique per
subscription and event id) is written in the same transaction as the stream position the
batch reaches (``telecast_libs.following``), so a crash anywhere loses no event and records
none twice. One intake runs at a time (``telecast_libs.leader``); other replicas stand by.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec
import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.webhooks import lanes, metrics, payload
from telecast_libs import following
from telecast_libs.contracts.events import CampaignEvent, decode_event
from telecast_libs.leader import lead_forever
from telecast_libs.log import get_logger
from telecast_libs.streams import campaign_events_stream
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

CONSUMER = "webhook_intake"
_LOCK = "telecast.dispatcher.webhook_intake"


@dataclass(frozen=True)
class Subscriber:
    """What the intake needs of a subscription to decide whether it wants an event."""

    id: uuid.UUID
    events: frozenset[str]
    campaign_ids: frozenset[str] | None
    created_at: datetime

    def wants(self, event: CampaignEvent) -> bool:
        # Only what happens after the subscription exists: a lagging intake must not send
        # a new subscriber the past.
        return (
            event.type in self.events
            and (self.campaign_ids is None or event.aggregate_id in self.campaign_ids)
            and event.occurred_at >= self.created_at
        )


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
        self._enqueued = 0

    async def run(self) -> None:
        await lead_forever(
            self.database_url,
            _LOCK,
            lambda _lock: following.follow(
                self.js,
                self.pool,
                "dispatcher",
                campaign_events_stream(self.subjects),
                self.durable,
                self.subjects.campaign_events,
                self.batch_size,
                self._enqueue,
                on_batch=self._applied,
            ),
            name="webhook_intake",
            on_leading=lambda leading: metrics.LEADER.labels("intake").set(1 if leading else 0),
        )

    def _applied(self, stream_seq: int, pending: int) -> None:
        # After the commit: the worker may send what was enqueued.
        metrics.INTAKE_POSITION.set(stream_seq)
        metrics.INTAKE_LAG.set(pending)
        if self._enqueued:
            metrics.ENQUEUED.labels("event").inc(self._enqueued)
            self._enqueued = 0
            self.on_enqueued()

    async def _enqueue(self, conn: psycopg.AsyncConnection, batch: list[tuple[int, Msg]]) -> None:
        """One delivery row per (subscriber, event) of the batch, in the follower's
        transaction."""
        subscribers = await _active_subscribers(conn)
        events: list[tuple[int, CampaignEvent]] = []
        for seq, message in batch:
            try:
                event = decode_event(message.data)
            except msgspec.DecodeError as error:
                # One malformed message must not hold up every webhook behind it.
                log.error("webhook_intake.undecodable_event", stream_seq=seq, error=str(error))
                continue
            if event is None:
                # A type this version does not know: no subscription can have chosen it.
                log.info("webhook_intake.unknown_event_skipped", stream_seq=seq)
            else:
                events.append((seq, event))
        facts = await _campaign_facts(conn, {e.aggregate_id for _, e in events})
        changed: set[str] = set()
        rows = []
        for seq, event in events:
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
                self._enqueued += len(rows)
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
