"""The ledger is the outbox of the delivery events.

A delivery's outcome commits first; then its event is published with ``Nats-Msg-Id`` = the
delivery's id, and the row is marked published. A crash between the two leaves the row
unpublished, and the sweeper (or ``republish-deliveries``) publishes it again: JetStream
drops the duplicate within its window, and consumers are idempotent beyond it.
A recipient who blocked the bot is reported to the audience at the same time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import metrics
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.deliveries import DeliveryEvent, ExecutionPlanned, delivery_event_id
from telecast_libs.log import get_logger
from telecast_libs.nats import publish_pipelined
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

BLOCKED_CODE = "USER_BLOCKED"

# The ledger columns a delivery event is made of (``RETURNING`` and ``SELECT`` lists use it).
DELIVERY_COLUMNS = (
    "d.execution_id, d.contact_id, d.step, d.campaign_id, d.telegram_id, d.chat_kind, "
    "d.message_id, d.variation_id, d.state, d.code, d.detail, d.account, "
    "d.telegram_message_id, d.attempts, d.finished_at, d.segment_ids, d.cost"
)


def delivery_event(row: Any, correlation_id: str | None) -> DeliveryEvent:
    (
        execution_id,
        contact_id,
        step,
        campaign_id,
        telegram_id,
        chat_kind,
        message_id,
        variation_id,
        state,
        code,
        detail,
        account,
        telegram_message_id,
        attempts,
        finished_at,
        segment_ids,
        cost,
    ) = row
    execution_id, contact_id = str(execution_id), str(contact_id)
    return DeliveryEvent(
        id=delivery_event_id(execution_id, contact_id, message_id),
        type="delivery.sent" if state == "sent" else "delivery.failed",
        campaign_id=str(campaign_id),
        execution_id=execution_id,
        contact_id=contact_id,
        telegram_id=telegram_id,
        chat_kind=chat_kind,
        message_id=message_id,
        step=step,
        variation_id=variation_id,
        code=code,
        message=detail,
        account=account,
        telegram_message_id=telegram_message_id,
        attempts=attempts,
        occurred_at=finished_at,
        segment_ids=list(segment_ids or ()),
        cost=cost,
        correlation_id=correlation_id,
    )


async def publish_deliveries(
    pool: AsyncConnectionPool,
    js: JetStreamContext,
    subjects: Subjects,
    campaigns: CampaignClient,
    rows: list[Any],
    correlation: dict[str, str | None],
) -> None:
    """Publish the events of committed outcomes (pipelined), then mark them published."""
    if not rows:
        return
    events = [delivery_event(row, correlation.get(str(row[0]))) for row in rows]
    await publish_pipelined(
        js,
        ((subjects.event(e.type), encode(e), {"Nats-Msg-Id": e.id}) for e in events),
    )
    async with pool.connection() as conn:
        await conn.execute(
            """
            UPDATE dispatcher.deliveries d SET published = true
            FROM unnest(%s::uuid[], %s::uuid[], %s::smallint[]) AS p(execution_id, contact_id, step)
            WHERE d.execution_id = p.execution_id AND d.contact_id = p.contact_id
              AND d.step = p.step
            """,
            ([row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]),
        )
    for event in events:
        if event.code == BLOCKED_CODE and event.step == 0:
            try:
                await campaigns.mark_blocked(event.telegram_id, event.correlation_id)
            except Exception as error:  # feedback only: the outcome itself is recorded
                log.warning("contact.mark_blocked_failed", error=repr(error))


async def republish_deliveries(
    pool: AsyncConnectionPool,
    js: JetStreamContext,
    subjects: Subjects,
    campaigns: CampaignClient,
    *,
    older_than_seconds: float,
    execution_id: str | None = None,
    batch: int = 1000,
) -> int:
    """Publish outcomes committed but not published (older than ``older_than_seconds``: a
    younger one is still on its way); with ``execution_id``, publish all of that
    execution's outcomes again. Returns how many events were published."""
    total = 0
    after: tuple[Any, ...] | None = None
    while True:
        async with pool.connection() as conn:
            if execution_id is None:
                cursor = await conn.execute(
                    f"""
                    SELECT {DELIVERY_COLUMNS}, e.correlation_id FROM dispatcher.deliveries d
                    JOIN dispatcher.executions e USING (execution_id)
                    WHERE NOT d.published AND d.state IN ('sent', 'failed', 'unconfirmed')
                      AND d.finished_at < now() - make_interval(secs => %s)
                    ORDER BY d.finished_at LIMIT %s
                    """,
                    (older_than_seconds, batch),
                )
            else:
                cursor = await conn.execute(
                    f"""
                    SELECT {DELIVERY_COLUMNS}, e.correlation_id FROM dispatcher.deliveries d
                    JOIN dispatcher.executions e USING (execution_id)
                    WHERE d.execution_id = %s AND d.state IN ('sent', 'failed', 'unconfirmed')
                      AND (d.contact_id, d.step) > (%s::uuid, %s::smallint)
                    ORDER BY d.contact_id, d.step LIMIT %s
                    """,
                    (
                        execution_id,
                        after[0] if after else "00000000-0000-0000-0000-000000000000",
                        after[1] if after else -1,
                        batch,
                    ),
                )
            found = await cursor.fetchall()
        if not found:
            return total
        rows = [row[:-1] for row in found]
        correlation = {str(row[0]): row[-1] for row in found}
        await publish_deliveries(pool, js, subjects, campaigns, rows, correlation)
        total += len(rows)
        after = (found[-1][1], found[-1][2])
        if len(found) < batch:
            return total


async def count_unpublished(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM dispatcher.deliveries "
                "WHERE NOT published AND state IN ('sent', 'failed', 'unconfirmed')"
            )
        ).fetchone()
    metrics.UNPUBLISHED.set(row[0])
    return row[0]


async def publish_planned(
    pool: AsyncConnectionPool, js: JetStreamContext, subjects: Subjects, execution_id: str
) -> None:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT campaign_id, planned_recipients, jsonb_array_length(messages), "
                "correlation_id, planned_at FROM dispatcher.executions "
                "WHERE execution_id = %s AND planning_done",
                (execution_id,),
            )
        ).fetchone()
    if row is None:
        return
    campaign_id, recipients, messages, correlation_id, at = row
    event = ExecutionPlanned(
        id=f"planned:{execution_id}",
        type="execution.planned",
        campaign_id=str(campaign_id),
        execution_id=execution_id,
        recipients=recipients,
        deliveries=recipients * messages,
        occurred_at=at or datetime.now(UTC),
        correlation_id=correlation_id,
    )
    await js.publish(subjects.event(event.type), encode(event), headers={"Nats-Msg-Id": event.id})
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE dispatcher.executions SET planned_published = true WHERE execution_id = %s",
            (execution_id,),
        )
