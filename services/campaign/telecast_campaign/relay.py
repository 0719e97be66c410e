"""The outbox relay: follows the event store's notification log and publishes to JetStream.

One relay is active per database at a time (a PostgreSQL advisory lock elects it), so any
number of campaign replicas can run. The relay publishes each event with ``Nats-Msg-Id`` set
to the event's derived id, then saves its position: a crash in between re-publishes events
that JetStream then drops as duplicates, and a read model skips anything it already applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from telecast_campaign.application import Campaigns
from telecast_campaign.events import to_envelope
from telecast_libs.contracts.base import encode
from telecast_libs.failpoints import failpoint
from telecast_libs.leader import lead_forever
from telecast_libs.log import CORRELATION_HEADER, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

PUBLISHED = Counter("telecast_relay_published_total", "Events published to JetStream")
POSITION = Gauge("telecast_relay_position", "Last notification id the relay published")
LAG = Gauge("telecast_relay_lag_events", "Stored events not yet published")
LEADER = Gauge("telecast_relay_leader", "1 when this replica runs the relay")

_LOCK = "telecast.campaign.relay"


class RelayPosition:
    """Where the relay has got to in the notification log, kept in PostgreSQL (one row, made
    by the campaign schema's first migration)."""

    def __init__(self, schema: str) -> None:
        self.table = psycopg.sql.Identifier(schema, "relay_position")

    async def load(self, conn: psycopg.AsyncConnection) -> int:
        cursor = await conn.execute(psycopg.sql.SQL("SELECT position FROM {}").format(self.table))
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def save(self, conn: psycopg.AsyncConnection, position: int) -> None:
        await conn.execute(
            psycopg.sql.SQL("UPDATE {} SET position = %s").format(self.table), (position,)
        )


class OutboxRelay:
    def __init__(
        self,
        app: Campaigns,
        js: JetStreamContext,
        subjects: Subjects,
        database_url: str,
        position: RelayPosition,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
    ) -> None:
        self.app = app
        self.js = js
        self.subjects = subjects
        self.database_url = database_url
        self.position = position
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Called after a local save: publish now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        await lead_forever(
            self.database_url,
            _LOCK,
            self._relay,
            name="relay",
            on_leading=lambda leading: LEADER.set(1 if leading else 0),
        )

    async def _relay(self, conn: psycopg.AsyncConnection) -> None:
        """Publish from the saved position on, saving it on the lock's connection."""
        position = await self.position.load(conn)
        log.info("relay.position", position=position)
        while True:
            self._wakeup.clear()
            notifications = await asyncio.to_thread(self._read, position + 1)
            if notifications:
                await self._publish(notifications)
                failpoint("relay.after_publish")
                position = notifications[-1].id
                await self.position.save(conn, position)
                POSITION.set(position)
                if len(notifications) == self.batch_size:
                    # A backlog: worth one query to say how large it is.
                    latest = await asyncio.to_thread(self.app.recorder.max_notification_id)
                    LAG.set(max(0, (latest or 0) - position))
                continue  # until the log is drained
            LAG.set(0)
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
            except TimeoutError:
                pass
            # The lock's connection, checked at every idle poll (the leader checks it every
            # few seconds): when PostgreSQL restarts, the relay starts over at once rather
            # than at its next save.
            await conn.execute("SELECT 1")

    def _read(self, start: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(start=start, limit=self.batch_size)

    async def _publish(self, notifications: Sequence[Notification]) -> None:
        # Sequential publishes, each acknowledged before the next: the stream keeps the
        # notification log's order even when a publish fails and is retried.
        for notification in notifications:
            envelope = to_envelope(self.app.mapper.to_domain_event(notification), notification.id)
            headers = {"Nats-Msg-Id": envelope.id}
            if envelope.correlation_id:
                headers[CORRELATION_HEADER] = envelope.correlation_id
            await self.js.publish(
                self.subjects.event(envelope.type),
                encode(envelope),
                headers=headers,
                timeout=10,
            )
            PUBLISHED.inc()
