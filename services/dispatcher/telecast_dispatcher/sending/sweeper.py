"""The leader's housekeeping: what a crash or a resume left to do, done again.

- work items committed but not on the queue (a crash after commit; a resume; a halted item
  that must go back) are published;
- outcomes committed but not published are published (the ledger is the outbox), and so
  are interactions (reads, clicks, conversions) recorded but not published;
- executions planned but whose ``execution.planned`` was not published, and executions
  finished but whose completion the campaign service was not told, are told;
- when Telegram has taken every configured account out of use, the executions that are
  running fail (``campaign.failed``): nothing can send them;
- when the work queue holds nothing (no message waiting, none being worked on) for
  ``LOST_AFTER_SECONDS`` while items of running executions are queued and published, the
  queue lost them (JetStream is a transport): they are queued again as a new generation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import events, metrics, work
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.finish import finish_if_done, tell_finished
from telecast_dispatcher.tracking import interactions
from telecast_libs.log import get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

# An outcome younger than this is still on its way through the normal path.
_UNPUBLISHED_AFTER_SECONDS = 10.0
# How long the work queue must look empty while items wait before they count as lost.
LOST_AFTER_SECONDS = 30.0


class Sweeper:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        js: JetStreamContext,
        subjects: Subjects,
        campaigns: CampaignClient,
        accounts: list[str],
        interval: float = 2.0,
    ) -> None:
        self.pool = pool
        self.js = js
        self.subjects = subjects
        self.campaigns = campaigns
        self.accounts = accounts
        self.interval = interval
        self.wake = asyncio.Event()
        self._queue_empty_since: float | None = None

    async def run(self) -> None:
        while True:
            await self.sweep()
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), self.interval)
            except TimeoutError:
                pass

    async def sweep(self) -> None:
        """Each step on its own: one that fails (NATS or the campaign service away, a bug)
        is logged and counted, and the others still run; the next sweep tries it again."""
        for step in (
            self.publish_items,
            self.publish_outcomes,
            self.publish_interactions,
            self.tell_planned,
            self.finish_done,
            self.tell_finished,
            self.pause_guarded,
            self.fail_if_no_account,
            self.requeue_lost_items,
        ):
            try:
                await step()
            except Exception as error:
                metrics.SWEEP_FAILURES.labels(step=step.__name__).inc()
                log.error("sweep.step_failed", step=step.__name__, error=repr(error), exc_info=True)

    async def _each(self, step: str, rows: list[Any], act: Callable[..., Awaitable[Any]]) -> None:
        """``act(*row)`` for every row; one that fails does not keep the others waiting."""
        for row in rows:
            try:
                await act(*row)
            except Exception as error:
                metrics.SWEEP_FAILURES.labels(step=step).inc()
                log.error(f"{step}.failed", row=[str(v) for v in row], error=repr(error))

    async def _rows(self, sql: str) -> list[Any]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(sql)).fetchall()

    async def publish_outcomes(self) -> None:
        await events.republish_deliveries(
            self.pool,
            self.js,
            self.subjects,
            self.campaigns,
            older_than_seconds=_UNPUBLISHED_AFTER_SECONDS,
        )
        await events.count_unpublished(self.pool)

    async def tell_planned(self) -> None:
        """Executions planned whose ``execution.planned`` was not published."""
        rows = await self._rows(
            "SELECT execution_id FROM dispatcher.executions "
            "WHERE planning_done AND NOT planned_published AND failure_code IS NULL"
        )
        await self._each(
            "tell_planned",
            rows,
            lambda execution_id: events.publish_planned(
                self.pool, self.js, self.subjects, str(execution_id)
            ),
        )

    async def finish_done(self) -> None:
        """Executions whose every item is done but that are not marked finished."""
        rows = await self._rows(
            "SELECT execution_id FROM dispatcher.executions "
            "WHERE planning_done AND finished_at IS NULL AND failure_code IS NULL "
            "AND campaign_state IN ('active', 'paused')"
        )
        await self._each(
            "finish_done",
            rows,
            lambda execution_id: finish_if_done(self.pool, self.campaigns, str(execution_id)),
        )

    async def tell_finished(self) -> None:
        """Executions finished whose completion the campaign service has not acknowledged
        (its answer was lost, or the process died before recording it)."""
        rows = await self._rows(
            "SELECT execution_id FROM dispatcher.executions "
            "WHERE finished_at IS NOT NULL AND told_at IS NULL"
        )
        await self._each(
            "tell_finished",
            rows,
            lambda execution_id: tell_finished(self.pool, self.campaigns, str(execution_id)),
        )

    async def publish_interactions(self) -> None:
        """Interactions a crash (or NATS being away) left unpublished: their table is the
        outbox of their events."""
        count = await interactions.republish_interactions(
            self.pool, self.js, self.subjects, older_than_seconds=_UNPUBLISHED_AFTER_SECONDS
        )
        if count:
            log.info("interactions.republished", count=count)

    async def pause_guarded(self) -> None:
        """A guard tripped but the campaign is still active (its pause was lost): again."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT campaign_id, guard_code, guard_reason, correlation_id "
                    "FROM dispatcher.executions WHERE guard_code IS NOT NULL "
                    "AND campaign_state = 'active' AND updated_at < now() - interval '5 seconds'"
                )
            ).fetchall()
        await self._each(
            "pause_guarded",
            rows,
            lambda campaign_id, code, reason, correlation_id: self.campaigns.pause(
                str(campaign_id), reason or code, code, correlation_id
            ),
        )

    async def publish_items(self) -> None:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"""
                    SELECT {work.ITEM_COLUMNS} FROM dispatcher.work_items w
                    JOIN dispatcher.executions e USING (execution_id)
                    WHERE w.state = 'queued' AND NOT w.published
                      AND e.campaign_state = 'active'
                    ORDER BY w.execution_id, w.item_no LIMIT 1000
                    """
                )
            ).fetchall()
        for row in rows:
            item = work.from_row(row)
            await work.publish(self.js, self.subjects, item)
            async with self.pool.connection() as conn:
                await conn.execute(
                    "UPDATE dispatcher.work_items SET published = true "
                    "WHERE execution_id = %s AND item_no = %s AND generation = %s",
                    (item.execution_id, item.item_no, item.generation),
                )
        if rows:
            log.info("items.published", count=len(rows))

    async def fail_if_no_account(self) -> None:
        async with self.pool.connection() as conn:
            retired = {
                row[0]
                for row in await (
                    await conn.execute("SELECT account FROM dispatcher.account_states")
                ).fetchall()
            }
            if not self.accounts or not set(self.accounts) <= retired:
                return
            running = await (
                await conn.execute(
                    "SELECT execution_id, campaign_id, correlation_id "
                    "FROM dispatcher.executions WHERE campaign_state = 'active' "
                    "AND finished_at IS NULL"
                )
            ).fetchall()
        reason = (
            "every sending account has been taken out of use by Telegram "
            f"({', '.join(sorted(retired))}); restore one and resume"
        )

        async def fail(execution_id: Any, campaign_id: Any, correlation_id: str | None) -> None:
            log.error("execution.no_account", execution_id=str(execution_id))
            await self.campaigns.fail(
                str(campaign_id), str(execution_id), reason, "NO_SENDING_ACCOUNT", correlation_id
            )

        await self._each("fail_if_no_account", running, fail)

    async def requeue_lost_items(self) -> None:
        waiting = 0
        for priority in work.PRIORITIES:
            info = await self.js.consumer_info(
                self.subjects.work_stream, self.subjects.durable(f"work_{priority}")
            )
            waiting += (info.num_pending or 0) + (info.num_ack_pending or 0)
        if waiting:
            self._queue_empty_since = None
            return
        async with self.pool.connection() as conn:
            (queued,) = await (
                await conn.execute(
                    "SELECT count(*) FROM dispatcher.work_items w "
                    "JOIN dispatcher.executions e USING (execution_id) "
                    "WHERE w.state = 'queued' AND w.published AND e.campaign_state = 'active' "
                    "AND e.guard_code IS NULL"
                )
            ).fetchone()
        now = time.monotonic()
        if not queued:
            self._queue_empty_since = None
            return
        if self._queue_empty_since is None:
            self._queue_empty_since = now
            return
        if now - self._queue_empty_since < LOST_AFTER_SECONDS:
            return
        self._queue_empty_since = None
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                """
                UPDATE dispatcher.work_items w
                SET published = false, generation = w.generation + 1
                FROM dispatcher.executions e
                WHERE e.execution_id = w.execution_id AND w.state = 'queued' AND w.published
                  AND e.campaign_state = 'active' AND e.guard_code IS NULL
                """
            )
        log.warning("work.lost_items_requeued", items=cursor.rowcount)
        await self.publish_items()
