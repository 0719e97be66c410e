"""A subscription's health: failed attempts in a row, and disabling one that keeps failing.

Test events do not count: they are an operator's probe, not the subscription's traffic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import psycopg

from telecast_dispatcher.webhooks.retries import DisablePolicy
from telecast_dispatcher.webhooks.sender import Attempt

_COUNT = """
UPDATE dispatcher.webhook_subscriptions SET
    consecutive_failures = CASE WHEN %(reset)s::boolean
        THEN %(trailing)s::int
        ELSE consecutive_failures + %(trailing)s::int END,
    failing_since = CASE WHEN %(trailing)s::int = 0 THEN NULL
        WHEN %(reset)s::boolean THEN %(since)s::timestamptz
        ELSE coalesce(failing_since, %(since)s::timestamptz) END,
    last_success_at = coalesce(%(success_at)s::timestamptz, last_success_at)
WHERE id = %(id)s
RETURNING active, consecutive_failures, failing_since
"""


async def record(
    conn: psycopg.AsyncConnection,
    policy: DisablePolicy,
    attempts: Iterable[tuple[uuid.UUID, Attempt]],
    now: datetime,
) -> list[tuple[uuid.UUID, str]]:
    """Count these attempts (in the order they ended) against their subscriptions; disable
    those that ``policy`` says to. Returns (subscription, reason) for each disabled."""
    by_subscription: dict[uuid.UUID, list[Attempt]] = {}
    for subscription, attempt in attempts:
        by_subscription.setdefault(subscription, []).append(attempt)
    disabled = []
    for subscription, ended in by_subscription.items():
        last_success = max((i for i, a in enumerate(ended) if a.ok), default=None)
        trailing = ended if last_success is None else ended[last_success + 1 :]
        row = await (
            await conn.execute(
                _COUNT,
                {
                    "id": subscription,
                    "reset": last_success is not None,
                    "trailing": len(trailing),
                    "since": trailing[0].started_at if trailing else None,
                    "success_at": now if last_success is not None else None,
                },
            )
        ).fetchone()
        if row is None or not row[0] or not trailing:
            continue
        reason = policy.reason(
            row[1],
            row[2],
            now,
            trailing[-1].error,
            gone=any(a.status_code == 410 for a in trailing),
        )
        if reason is None:
            continue
        await conn.execute(
            """
            UPDATE dispatcher.webhook_subscriptions
            SET active = false, disabled_reason = %s, disabled_at = %s, updated_at = %s
            WHERE id = %s
            """,
            (reason, now, now, subscription),
        )
        disabled.append((subscription, reason))
    return disabled
