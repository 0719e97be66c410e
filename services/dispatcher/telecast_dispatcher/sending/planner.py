"""Planning: an execution's audience, page by page, into work items on the queue.

The leader asks the campaign service where the audience's pages end (``audience.ranges``:
contact ids only, up to 20 pages of ``SEND_ITEM_SIZE`` a request), commits those items and
the cursor in one transaction, then publishes them. Memory holds one batch of page ends; a
crash resumes from the committed cursor, and an item committed but not published is
published by the sweeper. High-priority executions are planned first, a batch each in
turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import metrics, work
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.events import publish_planned
from telecast_dispatcher.sending.finish import finish_if_done
from telecast_libs.log import correlation, get_logger
from telecast_libs.nats import publish_pipelined
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

_PRIORITY_ORDER = "CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"
# Items planned per round trip to the campaign service (and per transaction).
PAGES_PER_BATCH = 20


class Planner:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        js: JetStreamContext,
        subjects: Subjects,
        campaigns: CampaignClient,
        item_size: int,
    ) -> None:
        self.pool = pool
        self.js = js
        self.subjects = subjects
        self.campaigns = campaigns
        self.item_size = item_size
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            executions = await self._to_plan()
            if not executions:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                except TimeoutError:
                    pass
                continue
            # One page of each, in priority order: a big low-priority audience does not
            # hold a high-priority one back.
            for row in executions:
                with correlation(row["correlation_id"]):
                    await self._plan_batch(row)

    async def _to_plan(self) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.cursor(row_factory=psycopg.rows.dict_row).execute(
                f"""
                SELECT execution_id, campaign_id, priority, planning_after, planned_items,
                       planned_recipients, messages, correlation_id
                FROM dispatcher.executions
                WHERE NOT planning_done AND campaign_state = 'active'
                ORDER BY {_PRIORITY_ORDER}, started_at
                LIMIT 32
                """
            )
            return await cursor.fetchall()

    async def _plan_batch(self, row: dict[str, Any]) -> None:
        """Up to ``PAGES_PER_BATCH`` items: one request for where the pages end, one
        transaction for the items and the cursor, publishes pipelined."""
        execution_id, campaign_id = str(row["execution_id"]), str(row["campaign_id"])
        if not row["messages"]:
            await self._refuse(row, "NO_MESSAGES", "the execution has no message to send")
            return
        after = row["planning_after"]
        answer = await self.campaigns.audience_ranges(
            campaign_id, execution_id, after, self.item_size, PAGES_PER_BATCH
        )
        done = answer.next is None
        first = row["planned_items"]
        items = []
        for offset, page in enumerate(answer.ranges):
            items.append(
                work.WorkItem(
                    execution_id=execution_id,
                    campaign_id=campaign_id,
                    item_no=first + offset,
                    generation=0,
                    after=after,
                    upto=page.upto,
                    recipients=page.count,
                    priority=row["priority"],
                )
            )
            after = page.upto
        recipients = sum(item.recipients for item in items)
        async with self.pool.connection() as conn, conn.transaction():
            if items:
                await conn.execute(
                    """
                    INSERT INTO dispatcher.work_items
                        (execution_id, item_no, after_id, upto_id, recipients)
                    SELECT %s, * FROM unnest(%s::int[], %s::uuid[], %s::uuid[], %s::int[])
                    ON CONFLICT DO NOTHING
                    """,
                    (
                        execution_id,
                        [item.item_no for item in items],
                        [item.after for item in items],
                        [item.upto for item in items],
                        [item.recipients for item in items],
                    ),
                )
            cursor = await conn.execute(
                """
                UPDATE dispatcher.executions
                SET planning_after = %s, planned_items = planned_items + %s,
                    planned_recipients = planned_recipients + %s, planning_done = %s,
                    planned_at = CASE WHEN %s THEN now() END, updated_at = now()
                WHERE execution_id = %s AND planned_items = %s AND NOT planning_done
                """,
                (after, len(items), recipients, done, done, execution_id, first),
            )
            if cursor.rowcount != 1:
                raise RuntimeError(f"execution {execution_id} was planned by someone else")
        metrics.PLANNED.inc(recipients)
        if items:
            await publish_pipelined(self.js, (work.message(self.subjects, item) for item in items))
            async with self.pool.connection() as conn:
                await conn.execute(
                    "UPDATE dispatcher.work_items SET published = true WHERE execution_id = %s "
                    "AND item_no BETWEEN %s AND %s AND generation = 0",
                    (execution_id, first, first + len(items) - 1),
                )
        if done:
            log.info(
                "execution.planned",
                execution_id=execution_id,
                items=first + len(items),
                recipients=row["planned_recipients"] + recipients,
            )
            await publish_planned(self.pool, self.js, self.subjects, execution_id)
            # An empty audience is finished as soon as it is planned.
            await finish_if_done(self.pool, self.campaigns, execution_id)

    async def _refuse(self, row: dict[str, Any], code: str, reason: str) -> None:
        """An execution that cannot be sent at all fails (the campaign records why)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE dispatcher.executions SET planning_done = true, failure_code = %s, "
                "updated_at = now() WHERE execution_id = %s",
                (code, row["execution_id"]),
            )
        log.error("execution.refused", execution_id=str(row["execution_id"]), code=code)
        await self.campaigns.fail(
            str(row["campaign_id"]),
            str(row["execution_id"]),
            reason,
            code,
            row["correlation_id"],
        )
