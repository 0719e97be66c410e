"""An execution is finished when it is planned and every item is done: the campaign
service is told, and records the completion (``campaign.completed``)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_libs.failpoints import failpoint
from telecast_libs.log import get_logger

log = get_logger(__name__)

DONE_CODE = "ALL_RECIPIENTS_DONE"


async def finish_if_done(pool: AsyncConnectionPool, campaigns: CampaignClient, execution_id: str):
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """
            UPDATE dispatcher.executions e SET finished_at = now(), updated_at = now()
            WHERE execution_id = %(id)s AND planning_done AND finished_at IS NULL
              AND failure_code IS NULL AND campaign_state IN ('active', 'paused')
              AND NOT EXISTS (
                  SELECT 1 FROM dispatcher.work_items w
                  WHERE w.execution_id = %(id)s AND w.state IN ('queued', 'parked'))
            RETURNING execution_id
            """,
            {"id": execution_id},
        )
        finished = await cursor.fetchone() is not None
    if finished:
        await tell_finished(pool, campaigns, execution_id)


async def tell_finished(pool: AsyncConnectionPool, campaigns: CampaignClient, execution_id: str):
    """Ask the campaign service to record the completion (again after a crash: a campaign
    already completed answers that it is, which is fine)."""
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT campaign_id, correlation_id, sent, failed, planned_recipients "
                "FROM dispatcher.executions WHERE execution_id = %s",
                (execution_id,),
            )
        ).fetchone()
    campaign_id, correlation_id, sent, failed, recipients = row
    reason = (
        f"every recipient has an outcome: {recipients} recipients, "
        f"{sent} messages sent, {failed} failed"
    )
    # False (already completed, or gone) counts as told: the event that got there first
    # stands, and asking again would only be refused again.
    await campaigns.complete(str(campaign_id), reason, DONE_CODE, correlation_id)
    failpoint("dispatcher.before_told")
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE dispatcher.executions SET told_at = now() WHERE execution_id = %s",
            (execution_id,),
        )
    log.info("execution.finished", execution_id=execution_id, sent=sent, failed=failed)
