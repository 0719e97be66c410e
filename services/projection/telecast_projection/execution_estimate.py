"""When a campaign's execution, just started or scheduled, will complete: the answer behind
``estimatedCompletion`` in the execute answer (``EstimateExecution``).

Its messages are the recipients the campaign service counted times the campaign's
messages (a scheduled execution's audience is counted as it is now, and sampled by its
``targetPercentage`` here; a started one's was recorded at its start). Ahead of it: what
the active executions of the same or a higher priority have left, as far as they are
planned (``execution.planned``, within a second or so of their start). A higher priority
goes first, so lower ones do not delay it. Everything goes at ``rate``, the sending
accounts' summed rate, through ``telecast_libs.estimates`` as progress does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from telecast_libs.contracts.views import ExecutionEstimate
from telecast_libs.estimates import estimated_completion

_RANK = "CASE {} WHEN 'high' THEN 0 WHEN 'low' THEN 2 ELSE 1 END"


async def estimate(
    conn: psycopg.AsyncConnection,
    campaign_id: str,
    recipients: int,
    rate: float,
    now: datetime | None = None,
) -> ExecutionEstimate | None:
    try:
        uuid.UUID(campaign_id)
    except ValueError:
        return None
    cursor = await conn.execute(
        """
        SELECT status, coalesce(jsonb_array_length(content->'messages'), 0), execution
        FROM projection.campaigns WHERE id = %s AND deleted_at IS NULL
        """,
        (campaign_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    status, per_recipient, execution = row
    execution = execution or {}
    if status == "scheduled":
        recipients = recipients * int(execution.get("targetPercentage", 100)) // 100
    messages = recipients * per_recipient
    cursor = await conn.execute(
        f"""
        SELECT coalesce(sum(greatest(s.planned_deliveries - s.processed, 0)), 0)
        FROM projection.campaigns c
        JOIN projection.delivery_stats s ON s.campaign_id = c.id
        WHERE c.status = 'active' AND c.deleted_at IS NULL AND c.id <> %s
          AND {_RANK.format("c.execution->>'priority'")} <= {_RANK.format("%s")}
        """,
        (campaign_id, execution.get("priority", "normal")),
    )
    (queued,) = await cursor.fetchone() or (0,)
    scheduled_at = execution.get("scheduledAt") if status == "scheduled" else None
    return ExecutionEstimate(
        messages=messages,
        queued=int(queued),
        estimated_completion=estimated_completion(
            now or datetime.now(UTC),
            messages,
            rate,
            starts_at=datetime.fromisoformat(scheduled_at) if scheduled_at else None,
            ahead=int(queued),
        ),
    )
