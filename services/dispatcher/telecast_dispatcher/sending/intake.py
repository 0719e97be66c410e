"""Campaign events -> the dispatcher's executions: what to send, and whether to go on.

Applied by the leader in one transaction with the stream position (``following.follow``):
a started execution becomes a row to plan; pause, failure, resume, cancel and completion
change its ``campaign_state``; resume queues the items a pause set aside again; cancel and
completion drop what was not sent. The campaign's budget and type are kept from its
created/updated events, since the started event does not repeat them.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from nats.aio.msg import Msg
from psycopg.types.json import Jsonb

from telecast_libs.contracts.events import (
    SENDING_STATE_AFTER,
    CampaignCloned,
    CampaignCreated,
    CampaignStarted,
    CampaignUpdated,
    DomainEvent,
    decode_event,
)
from telecast_libs.log import get_logger

log = get_logger(__name__)


async def apply(conn: psycopg.AsyncConnection, batch: list[tuple[int, Msg]]) -> bool:
    """Apply a batch of campaign events; True if an execution started (the planner has
    work)."""
    started = False
    for seq, message in batch:
        try:
            event = decode_event(message.data)
        except msgspec.DecodeError as error:
            log.error("sending_intake.undecodable_event", stream_seq=seq, error=str(error))
            continue
        if event is not None:
            started |= await apply_event(conn, event)
    return started


async def apply_event(conn: psycopg.AsyncConnection, event: DomainEvent) -> bool:
    match event:
        case CampaignCreated() | CampaignCloned():
            await _keep_facts(conn, event, event.data.campaign, True)
        case CampaignUpdated() if event.data.changes.keys() & {"type", "budget", "invitation"}:
            await _keep_facts(conn, event, event.data.changes, False)
        case CampaignStarted():
            await _start(conn, event)
            return True
        case _ if event.type in SENDING_STATE_AFTER:
            await _change_state(conn, event, SENDING_STATE_AFTER[event.type])
    return False


async def _keep_facts(
    conn: psycopg.AsyncConnection, event: DomainEvent, content: dict[str, Any], whole: bool
) -> None:
    # An update names only what changed: keep the rest.
    await conn.execute(
        """
        INSERT INTO dispatcher.campaign_facts (campaign_id, version, type, budget, invitation)
        VALUES (%(id)s, %(version)s, %(type)s, %(budget)s, %(invitation)s)
        ON CONFLICT (campaign_id) DO UPDATE SET
            version = EXCLUDED.version,
            type = CASE WHEN %(whole)s OR %(has_type)s THEN EXCLUDED.type
                        ELSE dispatcher.campaign_facts.type END,
            budget = CASE WHEN %(whole)s OR %(has_budget)s THEN EXCLUDED.budget
                          ELSE dispatcher.campaign_facts.budget END,
            invitation = CASE WHEN %(whole)s OR %(has_invitation)s THEN EXCLUDED.invitation
                              ELSE dispatcher.campaign_facts.invitation END
        WHERE dispatcher.campaign_facts.version < EXCLUDED.version
        """,
        {
            "id": event.aggregate_id,
            "version": event.aggregate_version,
            "type": content.get("type"),
            "budget": content.get("budget"),
            "invitation": Jsonb(content["invitation"]) if content.get("invitation") else None,
            "whole": whole,
            "has_type": "type" in content,
            "has_budget": "budget" in content,
            "has_invitation": "invitation" in content,
        },
    )


async def _start(conn: psycopg.AsyncConnection, event: CampaignStarted) -> None:
    execution = event.data.execution
    await conn.execute(
        """
        INSERT INTO dispatcher.executions
            (execution_id, campaign_id, priority, test_mode, campaign_type, messages, budget,
             invitation, correlation_id, campaign_state, campaign_version, started_at)
        SELECT %(execution_id)s, %(campaign_id)s, %(priority)s, %(test_mode)s, f.type,
               %(messages)s, f.budget,
               CASE WHEN f.type = 'invitation' THEN f.invitation END,
               %(correlation_id)s, 'active', %(version)s, %(started_at)s
        FROM (SELECT 1) AS one
        LEFT JOIN dispatcher.campaign_facts f ON f.campaign_id = %(campaign_id)s
        ON CONFLICT (execution_id) DO NOTHING
        """,
        {
            "execution_id": execution.execution_id,
            "campaign_id": event.aggregate_id,
            "priority": execution.priority,
            "test_mode": execution.test_mode,
            "messages": Jsonb(event.data.messages or []),
            "correlation_id": event.correlation_id,
            "version": event.aggregate_version,
            "started_at": execution.started_at or event.occurred_at,
        },
    )
    log.info(
        "execution.received",
        campaign_id=event.aggregate_id,
        execution_id=execution.execution_id,
        priority=execution.priority,
    )


async def _change_state(conn: psycopg.AsyncConnection, event: DomainEvent, state: str) -> None:
    cursor = await conn.execute(
        """
        UPDATE dispatcher.executions
        SET campaign_state = %(state)s, campaign_version = %(version)s, updated_at = now(),
            guard_sent = CASE WHEN %(state)s = 'active' THEN 0 ELSE guard_sent END,
            guard_failed = CASE WHEN %(state)s = 'active' THEN 0 ELSE guard_failed END,
            guard_code = CASE WHEN %(state)s = 'active' THEN NULL ELSE guard_code END,
            guard_reason = CASE WHEN %(state)s = 'active' THEN NULL ELSE guard_reason END
        WHERE campaign_id = %(campaign_id)s AND campaign_version < %(version)s
          AND campaign_state IN ('active', 'paused')
        RETURNING execution_id
        """,
        {"state": state, "version": event.aggregate_version, "campaign_id": event.aggregate_id},
    )
    executions = [row[0] for row in await cursor.fetchall()]
    if not executions:
        return
    if state == "active":
        # What the pause set aside goes back on the queue, as a new message (generation).
        await conn.execute(
            """
            UPDATE dispatcher.work_items
            SET state = 'queued', generation = generation + 1, published = false
            WHERE execution_id = ANY(%s) AND state = 'parked'
            """,
            (executions,),
        )
    elif state in ("cancelled", "completed"):
        await conn.execute(
            """
            UPDATE dispatcher.work_items SET state = 'dropped'
            WHERE execution_id = ANY(%s) AND state IN ('queued', 'parked')
            """,
            (executions,),
        )
    log.info(
        "execution.state",
        campaign_id=event.aggregate_id,
        state=state,
        event_type=event.type,
        # A resume and a delete say no reason.
        reason=getattr(event.data, "reason", None),
    )
