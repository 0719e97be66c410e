"""What recipients did with a campaign's messages: reads, clicks, conversions (receipts of
reads and clicks come through ``receipts``).

Each interaction is a row of ``dispatcher.interactions`` whose id makes it idempotent (a
click id, a conversion id, a receipt), attributed to the ledger: a click or a read to its
delivery, a conversion to the recipient's latest execution of the campaign and to every
message it was sent there (``arms``). ``first`` marks the recipient's first of its type in
the campaign. The row commits first; then its ``InteractionEvent`` is published with
``Nats-Msg-Id`` = its id and the row is marked published. The table is the outbox: what a
crash left unpublished, the sweeper publishes (``republish_interactions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import metrics
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.deliveries import ArmOf, InteractionEvent
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.tracking import (
    ClickRecorded,
    ConversionRecorded,
    RecordClick,
    RecordConversion,
    TrackingErrorCode,
    interaction_id,
)
from telecast_libs.log import get_logger
from telecast_libs.nats import publish_pipelined
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

READ, CLICKED, CONVERTED = "delivery.read", "delivery.clicked", "delivery.converted"

_COLUMNS = (
    "id, type, campaign_id, execution_id, contact_id, telegram_id, message_id, variation_id, "
    "arms, segment_ids, url, conversion_id, revenue, first, occurred_at, correlation_id"
)


@dataclass(frozen=True)
class Interaction:
    """A row of ``dispatcher.interactions``."""

    id: str
    type: str
    campaign_id: str
    execution_id: str
    contact_id: str
    telegram_id: int
    occurred_at: datetime
    message_id: str | None = None
    variation_id: str | None = None
    arms: tuple[ArmOf, ...] = ()
    segment_ids: tuple[str, ...] = ()
    url: str | None = None
    conversion_id: str | None = None
    revenue: float = 0.0
    first: bool = False
    correlation_id: str | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Interaction:
        (id_, type_, campaign_id, execution_id, contact_id, telegram_id, message_id) = row[:7]
        (variation_id, arms, segment_ids, url, conversion_id, revenue, first) = row[7:14]
        occurred_at, correlation_id = row[14:16]
        return cls(
            id=str(id_),
            type=type_,
            campaign_id=str(campaign_id),
            execution_id=str(execution_id),
            contact_id=str(contact_id),
            telegram_id=telegram_id,
            message_id=message_id,
            variation_id=variation_id,
            arms=tuple(ArmOf(a["messageId"], a.get("variationId")) for a in arms or ()),
            segment_ids=tuple(segment_ids or ()),
            url=url,
            conversion_id=conversion_id,
            revenue=revenue,
            first=first,
            occurred_at=occurred_at,
            correlation_id=correlation_id,
        )

    def event(self) -> InteractionEvent:
        return InteractionEvent(
            id=self.id,
            type=self.type,
            campaign_id=self.campaign_id,
            execution_id=self.execution_id,
            contact_id=self.contact_id,
            message_id=self.message_id,
            variation_id=self.variation_id,
            arms=list(self.arms),
            segment_ids=list(self.segment_ids),
            url=self.url,
            conversion_id=self.conversion_id,
            revenue=self.revenue,
            first=self.first,
            occurred_at=self.occurred_at,
            correlation_id=self.correlation_id,
        )


async def store(conn: psycopg.AsyncConnection, new: Interaction) -> tuple[Interaction, bool]:
    """Insert ``new`` (its ``first`` decided here) unless its id is recorded; the row as
    stored and whether it was inserted now. Call inside a transaction."""
    existing = await _load(conn, new.id)
    if existing is not None:
        return existing, False
    # Two first interactions at once: the second waits on this key and finds it taken.
    first = (
        await conn.execute(
            "INSERT INTO dispatcher.interaction_firsts (campaign_id, contact_id, type) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (new.campaign_id, new.contact_id, new.type),
        )
    ).rowcount == 1
    inserted = await conn.execute(
        f"INSERT INTO dispatcher.interactions ({_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO NOTHING",
        (
            new.id,
            new.type,
            new.campaign_id,
            new.execution_id,
            new.contact_id,
            new.telegram_id,
            new.message_id,
            new.variation_id,
            json.dumps(
                [{"messageId": a.message_id, "variationId": a.variation_id} for a in new.arms]
            ),
            list(new.segment_ids),
            new.url,
            new.conversion_id,
            new.revenue,
            first,
            new.occurred_at,
            new.correlation_id,
        ),
    )
    if inserted.rowcount == 0:  # the same id, recorded meanwhile by another request
        stored = await _load(conn, new.id)
        assert stored is not None
        return stored, False
    return Interaction(**{**new.__dict__, "first": first}), True


async def _load(conn: psycopg.AsyncConnection, id_: str) -> Interaction | None:
    row = await (
        await conn.execute(f"SELECT {_COLUMNS} FROM dispatcher.interactions WHERE id = %s", (id_,))
    ).fetchone()
    return None if row is None else Interaction.from_row(row)


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class Interactions:
    """Records interactions and publishes their events (one per dispatcher process)."""

    def __init__(self, pool: AsyncConnectionPool, js: JetStreamContext, subjects: Subjects):
        self.pool = pool
        self.js = js
        self.subjects = subjects

    # Clicks ------------------------------------------------------------------------------

    async def record_click(self, request: RecordClick) -> ClickRecorded:
        execution_id, contact_id = _uuid(request.execution_id), _uuid(request.contact_id)
        async with self.pool.connection() as conn, conn.transaction():
            delivery = None
            if execution_id and contact_id:
                delivery = await (
                    await conn.execute(
                        "SELECT campaign_id, telegram_id, variation_id, segment_ids "
                        "FROM dispatcher.deliveries "
                        "WHERE execution_id = %s AND contact_id = %s AND message_id = %s",
                        (execution_id, contact_id, request.message_id),
                    )
                ).fetchone()
            if delivery is None:
                raise Problem(
                    "the link names a delivery this dispatcher does not know",
                    code=TrackingErrorCode.LINK_NOT_FOUND,
                )
            campaign_id, telegram_id, variation_id, segment_ids = delivery
            stored, inserted = await store(
                conn,
                Interaction(
                    id=interaction_id("click", request.click_id),
                    type=CLICKED,
                    campaign_id=str(campaign_id),
                    execution_id=str(execution_id),
                    contact_id=str(contact_id),
                    telegram_id=telegram_id,
                    message_id=request.message_id,
                    variation_id=variation_id,
                    segment_ids=tuple(segment_ids or ()),
                    url=request.url,
                    occurred_at=request.occurred_at,
                    correlation_id=request.correlation_id,
                ),
            )
        if inserted:
            await self.publish_safely([stored])
        return ClickRecorded(id=stored.id, first=stored.first, recorded=inserted)

    # Conversions -------------------------------------------------------------------------

    async def record_conversion(self, request: RecordConversion) -> ConversionRecorded:
        conversion = request.conversion
        campaign_id = _uuid(request.campaign_id)
        if campaign_id is None:
            raise Problem(
                f"campaign {request.campaign_id} does not exist",
                code=ErrorCode.CAMPAIGN_NOT_FOUND,
            )
        id_ = interaction_id("conversion", campaign_id, request.conversion_id)
        async with self.pool.connection() as conn, conn.transaction():
            existing = await _load(conn, id_)
            if existing is None:
                rows = await self._sent_to(conn, campaign_id, conversion)
                execution_id, contact_id, telegram_id = rows[0][:3]
                arms = tuple(ArmOf(r[3], r[4]) for r in rows if r[0] == execution_id)
                segments: dict[str, None] = {}
                for row in rows:
                    if row[0] == execution_id:
                        segments.update(dict.fromkeys(row[5] or ()))
                stored, inserted = await store(
                    conn,
                    Interaction(
                        id=id_,
                        type=CONVERTED,
                        campaign_id=campaign_id,
                        execution_id=str(execution_id),
                        contact_id=str(contact_id),
                        telegram_id=telegram_id,
                        arms=arms,
                        segment_ids=tuple(segments),
                        conversion_id=request.conversion_id,
                        revenue=conversion.revenue,
                        occurred_at=conversion.occurred_at or datetime.now(UTC),
                        correlation_id=request.meta.correlation_id,
                    ),
                )
            else:
                stored, inserted = existing, False
        if inserted:
            await self.publish_safely([stored])
        return ConversionRecorded(
            id=stored.id,
            conversion_id=stored.conversion_id or request.conversion_id,
            campaign_id=stored.campaign_id,
            execution_id=stored.execution_id,
            contact_id=stored.contact_id,
            telegram_id=stored.telegram_id,
            revenue=stored.revenue,
            first=stored.first,
            arms=list(stored.arms),
            segment_ids=list(stored.segment_ids),
            occurred_at=stored.occurred_at,
            recorded=inserted,
        )

    async def _sent_to(
        self, conn: psycopg.AsyncConnection, campaign_id: str, conversion: Any
    ) -> list[tuple]:
        """The recipient's sent messages in the campaign, latest execution first."""
        select = (
            "SELECT d.execution_id, d.contact_id, d.telegram_id, d.message_id, d.variation_id, "
            "d.segment_ids FROM dispatcher.deliveries d "
            "JOIN dispatcher.executions e USING (execution_id) "
            "WHERE d.campaign_id = %s AND d.state = 'sent' AND "
        )
        order = " ORDER BY e.started_at DESC, d.execution_id, d.step"
        rows: list[tuple] = []
        if conversion.contact_id is not None:
            contact_id = _uuid(conversion.contact_id)
            if contact_id is not None:
                rows = await (
                    await conn.execute(
                        select + "d.contact_id = %s" + order, (campaign_id, contact_id)
                    )
                ).fetchall()
            who = f"contact {conversion.contact_id}"
        else:
            rows = await (
                await conn.execute(
                    select + "d.telegram_id = %s AND d.telegram_message_id IS NOT NULL" + order,
                    (campaign_id, conversion.telegram_id),
                )
            ).fetchall()
            who = f"Telegram user {conversion.telegram_id}"
        if not rows:
            raise Problem(
                f"campaign {campaign_id} has sent nothing to {who}: "
                "a conversion is attributed to the messages its recipient was sent",
                code=TrackingErrorCode.RECIPIENT_NOT_FOUND,
            )
        return [r for r in rows if r[1] == rows[0][1]]

    # Publishing --------------------------------------------------------------------------

    async def publish_safely(self, stored: list[Interaction]) -> None:
        try:
            await publish_interactions(self.pool, self.js, self.subjects, stored)
        except Exception as error:  # recorded: the sweeper publishes it
            metrics.PUBLISH_FAILURES.labels(events="interactions").inc()
            log.warning("interactions.publish_failed", count=len(stored), error=repr(error))


async def publish_interactions(
    pool: AsyncConnectionPool,
    js: JetStreamContext,
    subjects: Subjects,
    stored: list[Interaction],
) -> None:
    """Publish the events of committed interactions (pipelined), then mark them published."""
    if not stored:
        return
    await publish_pipelined(
        js,
        (
            (subjects.event(row.type), encode(row.event()), {"Nats-Msg-Id": row.id})
            for row in stored
        ),
    )
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE dispatcher.interactions SET published = true WHERE id = ANY(%s::uuid[])",
            ([row.id for row in stored],),
        )


async def republish_interactions(
    pool: AsyncConnectionPool,
    js: JetStreamContext,
    subjects: Subjects,
    *,
    older_than_seconds: float,
    execution_id: str | None = None,
    batch: int = 1000,
) -> int:
    """Publish interactions recorded but not published (older than ``older_than_seconds``:
    a younger one is still on its way); with ``execution_id``, all of that execution's
    again. Returns how many events were published."""
    total, after = 0, "00000000-0000-0000-0000-000000000000"
    while True:
        async with pool.connection() as conn:
            if execution_id is None:
                cursor = await conn.execute(
                    f"SELECT {_COLUMNS} FROM dispatcher.interactions WHERE NOT published "
                    "AND recorded_at < now() - make_interval(secs => %s) "
                    "ORDER BY recorded_at LIMIT %s",
                    (older_than_seconds, batch),
                )
            else:
                cursor = await conn.execute(
                    f"SELECT {_COLUMNS} FROM dispatcher.interactions "
                    "WHERE execution_id = %s AND id > %s ORDER BY id LIMIT %s",
                    (execution_id, after, batch),
                )
            found = [Interaction.from_row(row) for row in await cursor.fetchall()]
        if not found:
            return total
        await publish_interactions(pool, js, subjects, found)
        total += len(found)
        after = found[-1].id
        if len(found) < batch:
            return total
