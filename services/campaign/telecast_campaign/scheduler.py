"""Starts scheduled executions when they are due and completes campaigns at their endDate.

The schedule is itself derived from the event store: the scheduler follows the notification
log (like the relay) and keeps what is due, and its position, in PostgreSQL in one
transaction. So a schedule survives any restart, and a start that fell due while the
services were down happens at once on recovery (the event records that it was late).
One scheduler is active per database (an advisory lock), however many campaign replicas run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

import psycopg
from prometheus_client import Counter, Gauge

from telecast_campaign.application import Campaigns
from telecast_campaign.domain.campaign import Campaign
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.messages import (
    Actor,
    CommandMeta,
    CommandResult,
    CompleteCampaign,
    StartScheduledExecution,
)
from telecast_libs.leader import lead_forever
from telecast_libs.log import get_logger, new_correlation_id

log = get_logger(__name__)

FIRED = Counter("telecast_scheduler_fired_total", "Scheduled actions taken", ["kind", "outcome"])
DUE = Gauge("telecast_scheduler_entries", "Entries in the schedule")

_LOCK = "telecast.campaign.scheduler"
SYSTEM = Actor(id="system:scheduler", role="system")


class Scheduler:
    def __init__(
        self,
        app: Campaigns,
        database_url: str,
        schema: str,
        on_saved: Callable[[], None],
        *,
        interval: float = 0.5,
    ) -> None:
        self.app = app
        self.database_url = database_url
        self.schema = schema
        self.on_saved = on_saved
        self.interval = interval

    async def run(self) -> None:
        await lead_forever(self.database_url, _LOCK, self._schedule, name="scheduler")

    async def _schedule(self, conn: psycopg.AsyncConnection) -> None:
        """Keep the schedule and fire what is due, on the lock's connection."""
        while True:
            await self._follow(conn)
            await self._fire(conn)
            await asyncio.sleep(self.interval)

    async def _follow(self, conn: psycopg.AsyncConnection) -> None:
        """Bring the schedule up to date with the events stored since last time."""
        while True:
            row = await (
                await conn.execute(f"SELECT position FROM {self.schema}.schedule_position")
            ).fetchone()
            position = row[0]
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications, start=position + 1, limit=500
            )
            if not notifications:
                return
            async with conn.transaction():
                for notification in notifications:
                    event = self.app.mapper.to_domain_event(notification)
                    await self._note(conn, event)
                await conn.execute(
                    f"UPDATE {self.schema}.schedule_position SET position = %s",
                    (notifications[-1].id,),
                )

    async def _note(self, conn: psycopg.AsyncConnection, event: object) -> None:
        campaign_id = event.originator_id  # type: ignore[attr-defined]
        table = f"{self.schema}.schedule"
        if isinstance(event, Campaign.ExecutionScheduled):
            await self._put(conn, campaign_id, "start", event.execution["scheduledAt"])
        elif isinstance(event, Campaign.ExecutionStarted):
            await conn.execute(
                f"DELETE FROM {table} WHERE campaign_id = %s AND kind = 'start'", (campaign_id,)
            )
        elif isinstance(event, Campaign.Completed | Campaign.Cancelled | Campaign.Deleted):
            await conn.execute(f"DELETE FROM {table} WHERE campaign_id = %s", (campaign_id,))
            return
        if isinstance(event, Campaign.Created):
            end = event.content.get("endDate")
        elif isinstance(event, Campaign.Updated) and "endDate" in event.changes:
            end = event.changes["endDate"]
        else:
            return
        if end is None:
            await conn.execute(
                f"DELETE FROM {table} WHERE campaign_id = %s AND kind = 'end'", (campaign_id,)
            )
        else:
            await self._put(conn, campaign_id, "end", end)

    async def _put(
        self, conn: psycopg.AsyncConnection, campaign_id: uuid.UUID, kind: str, due: str
    ) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.schedule (campaign_id, kind, due_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (campaign_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at",
            (campaign_id, kind, datetime.fromisoformat(due)),
        )

    async def _fire(self, conn: psycopg.AsyncConnection) -> None:
        """Act on every entry that is due: start executions, complete ended campaigns."""
        due = await (
            await conn.execute(
                f"SELECT campaign_id, kind FROM {self.schema}.schedule "
                "WHERE due_at <= now() ORDER BY due_at LIMIT 100"
            )
        ).fetchall()
        count = await (
            await conn.execute(f"SELECT count(*) FROM {self.schema}.schedule")
        ).fetchone()
        DUE.set(count[0])
        for campaign_id, kind in due:
            meta = CommandMeta(actor=SYSTEM, correlation_id=new_correlation_id())
            command = (
                StartScheduledExecution(meta=meta, campaign_id=str(campaign_id))
                if kind == "start"
                else CompleteCampaign(
                    meta=meta,
                    campaign_id=str(campaign_id),
                    reason="endDate reached",
                    code="END_DATE",
                )
            )
            (outcome,) = await asyncio.to_thread(self.app.handle, [command])
            if isinstance(outcome, CommandResult):
                FIRED.labels(kind, "done").inc()
                log.info("scheduler.fired", kind=kind, campaign_id=str(campaign_id))
                self.on_saved()
                # The event itself removes the entry when the schedule follows it.
                continue
            assert isinstance(outcome, Problem)
            FIRED.labels(kind, outcome.code).inc()
            if kind == "end" and outcome.code == "INVALID_STATE_TRANSITION":
                # Not running (a draft whose endDate passed, say): nothing to complete. If it
                # is executed later, its endDate is already past and it is kept as it is.
                await conn.execute(
                    f"DELETE FROM {self.schema}.schedule WHERE campaign_id = %s AND kind = 'end'",
                    (campaign_id,),
                )
            elif outcome.code != "VERSION_CONFLICT":
                log.warning(
                    "scheduler.refused", kind=kind, campaign_id=str(campaign_id), code=outcome.code
                )
                await conn.execute(
                    f"DELETE FROM {self.schema}.schedule WHERE campaign_id = %s AND kind = %s",
                    (campaign_id, kind),
                )
