"""The ledger's SQL: rows per (execution, contact, step), claims, outcomes, item states."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from telecast_dispatcher.sending.events import DELIVERY_COLUMNS
from telecast_dispatcher.sending.outcomes import DELIVERY_UNCONFIRMED
from telecast_dispatcher.sending.work import WorkItem

FINAL = ("sent", "failed", "unconfirmed")


async def insert_pending(conn: psycopg.AsyncConnection, item: WorkItem, rows: list[Any]) -> None:
    """``rows``: (contact, step, message id, variation id). Existing rows are kept: a
    redelivered item does not reset what was done."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO dispatcher.deliveries
            (execution_id, contact_id, step, campaign_id, item_no, telegram_id, chat_kind,
             message_id, variation_id, segment_ids)
        SELECT %s, r.contact_id, r.step, %s, %s, r.telegram_id, r.chat_kind, r.message_id,
               r.variation_id, string_to_array(r.segments, ',')
        FROM unnest(%s::uuid[], %s::smallint[], %s::bigint[], %s::text[], %s::text[],
                    %s::text[], %s::text[]) AS r(contact_id, step, telegram_id, chat_kind,
                                                 message_id, variation_id, segments)
        ON CONFLICT (execution_id, contact_id, step) DO NOTHING
        """,
        (
            item.execution_id,
            item.campaign_id,
            item.item_no,
            [r[0].id for r in rows],
            [r[1] for r in rows],
            [r[0].telegram_id for r in rows],
            [r[0].chat_type for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            # Segment ids are UUIDs: no comma in them.
            [",".join(r[0].segments) for r in rows],
        ),
    )


async def unconfirm_lost(conn: psycopg.AsyncConnection, item: WorkItem) -> list[Any]:
    """Rows left ``sending`` by a replica that died: their sends may have happened, so they
    become ``unconfirmed`` (final, never sent again). Returns their event columns."""
    cursor = await conn.execute(
        f"""
        UPDATE dispatcher.deliveries d
        SET state = 'unconfirmed', code = %s, detail = %s, finished_at = now(), claim = NULL
        WHERE d.execution_id = %s AND d.item_no = %s AND d.state = 'sending'
        RETURNING {DELIVERY_COLUMNS}
        """,
        (
            DELIVERY_UNCONFIRMED.code,
            DELIVERY_UNCONFIRMED.message,
            item.execution_id,
            item.item_no,
        ),
    )
    lost = await cursor.fetchall()
    if lost:
        # Not counted by the error-rate guard: a crash is not the recipients' doing.
        await conn.execute(
            "UPDATE dispatcher.executions SET failed = failed + %s WHERE execution_id = %s",
            (len(lost), item.execution_id),
        )
    return lost


async def item_states(conn: psycopg.AsyncConnection, item: WorkItem) -> dict[tuple[str, int], str]:
    cursor = await conn.execute(
        "SELECT contact_id, step, state FROM dispatcher.deliveries "
        "WHERE execution_id = %s AND item_no = %s",
        (item.execution_id, item.item_no),
    )
    return {(str(row[0]), row[1]): row[2] for row in await cursor.fetchall()}


async def claim(
    conn: psycopg.AsyncConnection, item: WorkItem, token: uuid.UUID, contact_ids: list[str]
) -> set[tuple[str, int]]:
    """Claim the pending rows of these contacts (committed before any is sent)."""
    cursor = await conn.execute(
        """
        UPDATE dispatcher.deliveries SET state = 'sending', claim = %s
        WHERE execution_id = %s AND contact_id = ANY(%s::uuid[]) AND state = 'pending'
        RETURNING contact_id, step
        """,
        (token, item.execution_id, contact_ids),
    )
    return {(str(row[0]), row[1]) for row in await cursor.fetchall()}


async def set_item_state(conn: psycopg.AsyncConnection, item: WorkItem, state: str) -> None:
    # Only from queued: a resume (parked -> queued) or a cancel (-> dropped) decided by the
    # campaign's events wins over what a run that was halted thinks.
    await conn.execute(
        "UPDATE dispatcher.work_items SET state = %s "
        "WHERE execution_id = %s AND item_no = %s AND state = 'queued' AND generation = %s",
        (state, item.execution_id, item.item_no, item.generation),
    )


async def settle_halted(
    conn: psycopg.AsyncConnection, item: WorkItem, *, requeue: bool = True
) -> str:
    """Where an item a run stopped sending goes, by what the campaign's events say now.

    The execution's row is locked first, as the intake does when it applies a lifecycle
    event: so a resume either sees this item parked (and queues it again) or has already
    happened (and this queues it again itself); an item is never left parked while its
    campaign is active. With ``requeue`` False, an active campaign changes nothing and the
    answer is "active" (the halt's event is not applied yet: ask again)."""
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT campaign_state, guard_code FROM dispatcher.executions "
                "WHERE execution_id = %s FOR UPDATE",
                (item.execution_id,),
            )
        ).fetchone()
        state = row[0] if row else "cancelled"
        # A guard tripped and its pause is on its way: the item waits like a paused one.
        if state == "paused" or (state == "active" and row[1] is not None):
            settled = "parked"
            change = "state = 'parked'"
        elif state == "active" and not requeue:
            return "active"
        elif state == "active":
            settled = "requeued"
            change = "generation = generation + 1, published = false"
        else:
            settled = "dropped"
            change = "state = 'dropped'"
        await conn.execute(
            f"UPDATE dispatcher.work_items SET {change} "
            "WHERE execution_id = %s AND item_no = %s AND state = 'queued' AND generation = %s",
            (item.execution_id, item.item_no, item.generation),
        )
    return settled
