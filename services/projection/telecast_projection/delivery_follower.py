"""Follows the dispatcher's delivery events into the statistics read models, exactly once.

Like the campaign follower: one replica applies (a PostgreSQL advisory lock of its own, so
the two streams are applied side by side), each batch and its stream position commit
together, and the durable consumer is re-created from the checkpoint at every start.
"""

from __future__ import annotations

import time

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram
from psycopg_pool import AsyncConnectionPool

from telecast_libs import following
from telecast_libs.leader import lead_forever
from telecast_libs.log import get_logger
from telecast_libs.streams import delivery_events_stream
from telecast_libs.subjects import Subjects
from telecast_projection import delivery_view

log = get_logger(__name__)

APPLIED = Counter(
    "telecast_projection_delivery_events_applied_total", "Delivery events applied to statistics"
)
LAG = Gauge(
    "telecast_projection_delivery_lag_events", "Delivery events in the stream not yet applied"
)
BATCH = Histogram(
    "telecast_projection_delivery_batch_seconds", "Time to apply and commit a batch of them"
)
LEADER = Gauge("telecast_projection_delivery_leader", "1 when this replica applies delivery events")

FAILED = Counter(
    "telecast_projection_delivery_apply_failures_total",
    "Batches of delivery events that could not be applied (retried from the checkpoint)",
)

CONSUMER = "delivery_read_model"
_LOCK = "telecast.projection.delivery_follower"


class DeliveryFollower:
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

    async def run(self) -> None:
        await lead_forever(
            self.database_url,
            _LOCK,
            lambda _lock: following.follow(
                self.js,
                self.pool,
                "projection",
                delivery_events_stream(self.subjects),
                self.subjects.durable(CONSUMER),
                None,
                self.batch_size,
                self._apply,
                on_batch=lambda seq, pending: LAG.set(pending),
            ),
            name="delivery_follower",
            on_leading=lambda leading: LEADER.set(1 if leading else 0),
        )

    async def _apply(self, conn: psycopg.AsyncConnection, batch: list[tuple[int, Msg]]) -> None:
        started = time.perf_counter()
        try:
            await delivery_view.apply(conn, batch)
        except Exception:
            # The batch rolls back and is retried from the checkpoint (see follower.py).
            FAILED.inc()
            log.exception(
                "delivery_follower.apply_failed",
                first_stream_seq=batch[0][0],
                last_stream_seq=batch[-1][0],
                events=len(batch),
            )
            raise
        APPLIED.inc(len(batch))
        BATCH.observe(time.perf_counter() - started)
