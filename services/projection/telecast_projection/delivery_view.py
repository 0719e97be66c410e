"""The dispatcher's delivery and interaction events, pre-aggregated for statistics and
progress: a query never reads one row per delivery.

A batch of events is summed in memory (per campaign, hour, second, error code, variation
and segment) and written with one upsert per table, in the transaction that saves the
stream position: a redelivered batch is skipped by its position, a replay from the start
gives the same sums. An event the stream holds twice (re-published from the dispatcher's
ledger after JetStream's duplicate window) is counted once: every event's id is kept in
``delivery_applied`` and only ids new to it are summed.

Tables (per campaign): ``delivery_stats`` (totals), ``delivery_errors`` (failed by code),
``delivery_hours`` (every figure of the statistics by hour: the timeline, and the overview of
a period), ``delivery_seconds`` (the last two minutes, for the current rate),
``delivery_variations`` (A/B arms) and ``delivery_segments`` (by segment and hour).
Recipients who read, clicked or converted count in the hour of their first such event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
import psycopg
from nats.aio.msg import Msg

from telecast_libs.contracts.base import decode
from telecast_libs.contracts.deliveries import DeliveryEvent, ExecutionPlanned, InteractionEvent
from telecast_libs.log import get_logger

log = get_logger(__name__)

# The rate window is 10 s; two minutes are kept so that a slow batch never loses it.
SECONDS_KEPT = 120
_OWN = ""  # the variation key of a message's own content


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@dataclass
class _Stats:
    execution_id: str | None = None
    processed: int = 0
    delivered: int = 0
    delivered_recipients: int = 0
    failed: int = 0
    reads: int = 0
    readers: int = 0
    clicks: int = 0
    clickers: int = 0
    conversions: int = 0
    converters: int = 0
    revenue: float = 0.0
    cost: float = 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def saw(self, moment: datetime) -> None:
        self.first_at = moment if self.first_at is None else min(self.first_at, moment)
        self.last_at = moment if self.last_at is None else max(self.last_at, moment)


@dataclass
class Batch:
    """The sums of one batch of events, by the key of each table."""

    stats: dict[str, _Stats] = field(default_factory=lambda: defaultdict(_Stats))
    planned: dict[str, ExecutionPlanned] = field(default_factory=dict)
    errors: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    # processed, delivered, failed, reads, clicks, conversions, revenue,
    # delivered_recipients, readers, clickers, converters
    hours: dict[tuple[str, datetime], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0])
    )
    seconds: dict[tuple[str, datetime], int] = field(default_factory=lambda: defaultdict(int))
    # delivered, recipients, failed, clickers, converters, revenue
    variations: dict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0, 0, 0.0])
    )
    # delivered, recipients, converters, revenue; by campaign, segment and hour
    segments: dict[tuple[str, str, datetime], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0.0])
    )

    def delivery(self, event: DeliveryEvent) -> None:
        campaign = event.campaign_id
        stats = self.stats[campaign]
        stats.execution_id = event.execution_id
        stats.processed += 1
        stats.saw(event.occurred_at)
        sent = event.type == "delivery.sent"
        hour = self.hours[(campaign, _hour(event.occurred_at))]
        hour[0] += 1
        self.seconds[(campaign, _second(event.occurred_at))] += 1
        arm = self.variations[(campaign, event.message_id, event.variation_id or _OWN)]
        if sent:
            stats.delivered += 1
            stats.cost += event.cost
            hour[1] += 1
            arm[0] += 1
            first_message = event.step == 0
            if first_message:
                stats.delivered_recipients += 1
                hour[7] += 1
            arm[1] += 1
            for segment in event.segment_ids:
                counts = self.segments[(campaign, segment, _hour(event.occurred_at))]
                counts[0] += 1
                counts[1] += 1 if first_message else 0
        else:
            stats.failed += 1
            hour[2] += 1
            arm[2] += 1
            code = event.code or "UNKNOWN"
            entry = self.errors.setdefault((campaign, code), [event.message or code, 0])
            entry[1] += 1

    def interaction(self, event: InteractionEvent) -> None:
        campaign = event.campaign_id
        stats = self.stats[campaign]
        stats.execution_id = event.execution_id
        stats.saw(event.occurred_at)
        hour = self.hours[(campaign, _hour(event.occurred_at))]
        first = 1 if event.first else 0
        if event.type == "delivery.read":
            stats.reads += 1
            stats.readers += first
            hour[3] += 1
            hour[8] += first
        elif event.type == "delivery.clicked":
            stats.clicks += 1
            stats.clickers += first
            hour[4] += 1
            hour[9] += first
            if event.message_id is not None:
                key = (campaign, event.message_id, event.variation_id or _OWN)
                self.variations[key][3] += first
        elif event.type == "delivery.converted":
            stats.conversions += 1
            stats.converters += first
            stats.revenue += event.revenue
            hour[5] += 1
            hour[6] += event.revenue
            hour[10] += first
            for arm in event.arms:
                counts = self.variations[(campaign, arm.message_id, arm.variation_id or _OWN)]
                counts[4] += first
                counts[5] += event.revenue
            for segment in event.segment_ids:
                counts = self.segments[(campaign, segment, _hour(event.occurred_at))]
                counts[2] += first
                counts[3] += event.revenue


Event = DeliveryEvent | ExecutionPlanned | InteractionEvent


def decode_batch(batch: list[tuple[int, Msg]]) -> list[Event]:
    events: list[Event] = []
    for seq, message in batch:
        kind = message.subject.rpartition(".events.")[2]
        try:
            if kind in ("delivery.sent", "delivery.failed"):
                events.append(decode(message.data, DeliveryEvent))
            elif kind == "execution.planned":
                events.append(decode(message.data, ExecutionPlanned))
            elif kind.startswith("delivery."):
                events.append(decode(message.data, InteractionEvent))
        except msgspec.DecodeError as error:
            # One malformed event must not stop the statistics of every campaign.
            log.error("delivery_view.undecodable_event", stream_seq=seq, error=str(error))
    return events


def read_batch(events: list[Event]) -> Batch:
    sums = Batch()
    for event in events:
        if isinstance(event, DeliveryEvent):
            sums.delivery(event)
        elif isinstance(event, ExecutionPlanned):
            sums.planned[event.campaign_id] = event
        else:
            sums.interaction(event)
    return sums


async def apply(conn: psycopg.AsyncConnection, batch: list[tuple[int, Msg]]) -> None:
    events = decode_batch(batch)
    if not events:
        return
    cursor = await conn.execute(
        """
        INSERT INTO projection.delivery_applied (id)
        SELECT DISTINCT unnest(%s::text[]) ON CONFLICT DO NOTHING RETURNING id
        """,
        ([event.id for event in events],),
    )
    new = {row[0] for row in await cursor.fetchall()}
    fresh = []
    for event in events:
        if event.id in new:
            new.discard(event.id)  # the first of duplicates within the batch
            fresh.append(event)
    await write(conn, read_batch(fresh))


async def write(conn: psycopg.AsyncConnection, sums: Batch) -> None:
    if sums.stats:
        rows = list(sums.stats.items())
        columns = (
            "processed",
            "delivered",
            "delivered_recipients",
            "failed",
            "reads",
            "readers",
            "clicks",
            "clickers",
            "conversions",
            "converters",
            "revenue",
            "cost",
        )
        await conn.execute(
            f"""
            INSERT INTO projection.delivery_stats
                (campaign_id, execution_id, {", ".join(columns)}, first_at, last_at)
            SELECT * FROM unnest(
                %s::uuid[], %s::uuid[], {
                ", ".join(
                    "%s::double precision[]" if c in ("revenue", "cost") else "%s::bigint[]"
                    for c in columns
                )
            }, %s::timestamptz[], %s::timestamptz[])
            ON CONFLICT (campaign_id) DO UPDATE SET
                execution_id = coalesce(EXCLUDED.execution_id, delivery_stats.execution_id),
                {", ".join(f"{c} = delivery_stats.{c} + EXCLUDED.{c}" for c in columns)},
                first_at = least(delivery_stats.first_at, EXCLUDED.first_at),
                last_at = greatest(delivery_stats.last_at, EXCLUDED.last_at)
            """,
            [
                [campaign for campaign, _ in rows],
                [stats.execution_id for _, stats in rows],
                *([getattr(stats, c) for _, stats in rows] for c in columns),
                [stats.first_at for _, stats in rows],
                [stats.last_at for _, stats in rows],
            ],
        )
    if sums.planned:
        planned = list(sums.planned.values())
        await conn.execute(
            """
            INSERT INTO projection.delivery_stats
                (campaign_id, execution_id, planned_recipients, planned_deliveries)
            SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[])
            ON CONFLICT (campaign_id) DO UPDATE SET
                execution_id = EXCLUDED.execution_id,
                planned_recipients = EXCLUDED.planned_recipients,
                planned_deliveries = EXCLUDED.planned_deliveries
            """,
            [
                [p.campaign_id for p in planned],
                [p.execution_id for p in planned],
                [p.recipients for p in planned],
                [p.deliveries for p in planned],
            ],
        )
    if sums.errors:
        keys = list(sums.errors)
        await conn.execute(
            """
            INSERT INTO projection.delivery_errors (campaign_id, code, message, count)
            SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::bigint[])
            ON CONFLICT (campaign_id, code) DO UPDATE
            SET count = delivery_errors.count + EXCLUDED.count
            """,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [sums.errors[k][0] for k in keys],
                [sums.errors[k][1] for k in keys],
            ],
        )
    if sums.hours:
        keys = list(sums.hours)
        values = [sums.hours[k] for k in keys]
        await conn.execute(
            """
            INSERT INTO projection.delivery_hours
                (campaign_id, hour, processed, delivered, failed, reads, clicks, conversions,
                 revenue, delivered_recipients, readers, clickers, converters)
            SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::bigint[], %s::bigint[],
                                 %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                                 %s::double precision[], %s::bigint[], %s::bigint[],
                                 %s::bigint[], %s::bigint[])
            ON CONFLICT (campaign_id, hour) DO UPDATE SET
                processed = delivery_hours.processed + EXCLUDED.processed,
                delivered = delivery_hours.delivered + EXCLUDED.delivered,
                failed = delivery_hours.failed + EXCLUDED.failed,
                reads = delivery_hours.reads + EXCLUDED.reads,
                clicks = delivery_hours.clicks + EXCLUDED.clicks,
                conversions = delivery_hours.conversions + EXCLUDED.conversions,
                revenue = delivery_hours.revenue + EXCLUDED.revenue,
                delivered_recipients =
                    delivery_hours.delivered_recipients + EXCLUDED.delivered_recipients,
                readers = delivery_hours.readers + EXCLUDED.readers,
                clickers = delivery_hours.clickers + EXCLUDED.clickers,
                converters = delivery_hours.converters + EXCLUDED.converters
            """,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                *([int(v[i]) for v in values] for i in range(6)),
                [float(v[6]) for v in values],
                *([int(v[i]) for v in values] for i in range(7, 11)),
            ],
        )
    if sums.seconds:
        keys = list(sums.seconds)
        await conn.execute(
            """
            INSERT INTO projection.delivery_seconds (campaign_id, second, processed)
            SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::bigint[])
            ON CONFLICT (campaign_id, second) DO UPDATE
            SET processed = delivery_seconds.processed + EXCLUDED.processed
            """,
            [[k[0] for k in keys], [k[1] for k in keys], [sums.seconds[k] for k in keys]],
        )
        latest: dict[str, datetime] = {}
        for campaign, second in keys:
            latest[campaign] = max(latest.get(campaign, second), second)
        await conn.execute(
            """
            DELETE FROM projection.delivery_seconds s
            USING unnest(%s::uuid[], %s::timestamptz[]) AS l(campaign_id, before)
            WHERE s.campaign_id = l.campaign_id AND s.second < l.before
            """,
            [
                list(latest),
                [moment - timedelta(seconds=SECONDS_KEPT) for moment in latest.values()],
            ],
        )
    if sums.variations:
        keys = list(sums.variations)
        values = [sums.variations[k] for k in keys]
        await conn.execute(
            """
            INSERT INTO projection.delivery_variations
                (campaign_id, message_id, variation_id, delivered, recipients, failed,
                 clickers, converters, revenue)
            SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::bigint[],
                                 %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                                 %s::double precision[])
            ON CONFLICT (campaign_id, message_id, variation_id) DO UPDATE SET
                delivered = delivery_variations.delivered + EXCLUDED.delivered,
                recipients = delivery_variations.recipients + EXCLUDED.recipients,
                failed = delivery_variations.failed + EXCLUDED.failed,
                clickers = delivery_variations.clickers + EXCLUDED.clickers,
                converters = delivery_variations.converters + EXCLUDED.converters,
                revenue = delivery_variations.revenue + EXCLUDED.revenue
            """,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                *([int(v[i]) for v in values] for i in range(5)),
                [float(v[5]) for v in values],
            ],
        )
    if sums.segments:
        keys = list(sums.segments)
        values = [sums.segments[k] for k in keys]
        await conn.execute(
            """
            INSERT INTO projection.delivery_segments
                (campaign_id, segment_id, hour, delivered, recipients, converters, revenue)
            SELECT * FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::bigint[],
                                 %s::bigint[], %s::bigint[], %s::double precision[])
            ON CONFLICT (campaign_id, segment_id, hour) DO UPDATE SET
                delivered = delivery_segments.delivered + EXCLUDED.delivered,
                recipients = delivery_segments.recipients + EXCLUDED.recipients,
                converters = delivery_segments.converters + EXCLUDED.converters,
                revenue = delivery_segments.revenue + EXCLUDED.revenue
            """,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                *([int(v[i]) for v in values] for i in range(3)),
                [float(v[3]) for v in values],
            ],
        )


TABLES = """
-- The id of every event applied: an event the stream holds twice counts once.
CREATE TABLE IF NOT EXISTS projection.delivery_applied (id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS projection.delivery_stats (
    campaign_id uuid PRIMARY KEY,
    execution_id uuid,
    -- From execution.planned: the whole audience is queued.
    planned_recipients bigint,
    planned_deliveries bigint,
    -- processed = delivered + failed (messages the dispatcher finished with).
    processed bigint NOT NULL DEFAULT 0,
    delivered bigint NOT NULL DEFAULT 0,
    delivered_recipients bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    reads bigint NOT NULL DEFAULT 0,
    readers bigint NOT NULL DEFAULT 0,
    clicks bigint NOT NULL DEFAULT 0,
    clickers bigint NOT NULL DEFAULT 0,
    conversions bigint NOT NULL DEFAULT 0,
    converters bigint NOT NULL DEFAULT 0,
    revenue double precision NOT NULL DEFAULT 0,
    cost double precision NOT NULL DEFAULT 0,
    first_at timestamptz,
    last_at timestamptz
);
CREATE TABLE IF NOT EXISTS projection.delivery_errors (
    campaign_id uuid NOT NULL,
    code text NOT NULL,
    message text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (campaign_id, code)
);
CREATE TABLE IF NOT EXISTS projection.delivery_hours (
    campaign_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    processed bigint NOT NULL,
    delivered bigint NOT NULL,
    failed bigint NOT NULL,
    reads bigint NOT NULL,
    clicks bigint NOT NULL,
    conversions bigint NOT NULL,
    revenue double precision NOT NULL,
    -- Recipients: first messages delivered, and first reads, clicks and conversions.
    delivered_recipients bigint NOT NULL,
    readers bigint NOT NULL,
    clickers bigint NOT NULL,
    converters bigint NOT NULL,
    PRIMARY KEY (campaign_id, hour)
);
CREATE TABLE IF NOT EXISTS projection.delivery_seconds (
    campaign_id uuid NOT NULL,
    second timestamptz NOT NULL,
    processed bigint NOT NULL,
    PRIMARY KEY (campaign_id, second)
);
CREATE TABLE IF NOT EXISTS projection.delivery_variations (
    campaign_id uuid NOT NULL,
    message_id text NOT NULL,
    variation_id text NOT NULL,
    delivered bigint NOT NULL,
    recipients bigint NOT NULL,
    failed bigint NOT NULL,
    clickers bigint NOT NULL,
    converters bigint NOT NULL,
    revenue double precision NOT NULL,
    PRIMARY KEY (campaign_id, message_id, variation_id)
);
CREATE TABLE IF NOT EXISTS projection.delivery_segments (
    campaign_id uuid NOT NULL,
    segment_id text NOT NULL,
    hour timestamptz NOT NULL,
    delivered bigint NOT NULL,
    recipients bigint NOT NULL,
    converters bigint NOT NULL,
    revenue double precision NOT NULL,
    PRIMARY KEY (campaign_id, segment_id, hour)
);
"""

DROPPED = (
    "projection.delivery_applied, projection.delivery_stats, projection.delivery_errors, "
    "projection.delivery_hours, projection.delivery_seconds, projection.delivery_variations, "
    "projection.delivery_segments"
)
