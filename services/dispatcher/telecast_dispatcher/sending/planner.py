"""Planning: an execution's audience, page by page, into work items on the queue.

The leader pages through the audience (keyset order, one page per item) and, for each page,
commits the item's row and the cursor in one transaction, then publishes the item. Memory
holds one page; a crash resumes from the committed cursor, and an item committed but not
published is published by the sweeper. High-priority executions are planned first.
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
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

_PRIORITY_ORDER = "CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"


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
                    await self._plan_page(row)

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

    async def _plan_page(self, row: dict[str, Any]) -> None:
        execution_id, campaign_id = str(row["execution_id"]), str(row["campaign_id"])
        if not row["messages"]:
            await self._refuse(row, "NO_MESSAGES", "the execution has no message to send")
            return
        after = row["planning_after"]
        page = await self.campaigns.audience_page(campaign_id, execution_id, after, self.item_size)
        contacts = page.contacts
        done = page.next is None
        async with self.pool.connection() as conn, conn.transaction():
            if contacts:
                await conn.execute(
                    """
                    INSERT INTO dispatcher.work_items
                        (execution_id, item_no, after_id, upto_id, recipients)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT DO NOTHING
                    """,
                    (execution_id, row["planned_items"], after, contacts[-1].id, len(contacts)),
                )
            cursor = await conn.execute(
                """
                UPDATE dispatcher.executions
                SET planning_after = %s, planned_items = planned_items + %s,
                    planned_recipients = planned_recipients + %s, planning_done = %s,
                    planned_at = CASE WHEN %s THEN now() END, updated_at = now()
                WHERE execution_id = %s AND planned_items = %s AND NOT planning_done
                """,
                (
                    contacts[-1].id if contacts else after,
                    1 if contacts else 0,
                    len(contacts),
                    done,
                    done,
                    execution_id,
                    row["planned_items"],
                ),
            )
            if cursor.rowcount != 1:
                raise RuntimeError(f"execution {execution_id} was planned by someone else")
        metrics.PLANNED.inc(len(contacts))
        if contacts:
            item = work.WorkItem(
                execution_id=execution_id,
                campaign_id=campaign_id,
                item_no=row["planned_items"],
                generation=0,
                after=after,
                upto=contacts[-1].id,
                recipients=len(contacts),
                priority=row["priority"],
            )
            await work.publish(self.js, self.subjects, item)
            async with self.pool.connection() as conn:
                await conn.execute(
                    "UPDATE dispatcher.work_items SET published = true "
                    "WHERE execution_id = %s AND item_no = %s AND generation = 0",
                    (execution_id, item.item_no),
                )
        if done:
            recipients = row["planned_recipients"] + len(contacts)
            log.info(
                "execution.planned",
                execution_id=execution_id,
                items=row["planned_items"] + (1 if contacts else 0),
                recipients=recipients,
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
