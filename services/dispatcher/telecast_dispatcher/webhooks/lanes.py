"""Lanes: one subscription's deliveries for one campaign, sent strictly in stream order.

Exactly one pending delivery per lane is its head (``head``); only heads are ever sent, so
the worker finds due work with an index scan however long the backlog. A lane's head moves
on when it succeeds or is given up (``promote``). The intake (adding deliveries) and the
worker (finishing them) both take the lane's transaction lock before deciding who is head,
so neither can miss the other's commit and strand a lane without a head.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

import psycopg

Lane = tuple[uuid.UUID, str]

# The oldest pending delivery of each lane becomes its head, unless the lane has one.
_PROMOTE = """
UPDATE dispatcher.webhook_deliveries d SET head = true
FROM unnest(%(subscriptions)s::uuid[], %(lanes)s::text[]) AS l (subscription_id, lane),
LATERAL (
    SELECT n.id FROM dispatcher.webhook_deliveries n
    WHERE n.subscription_id = l.subscription_id AND n.lane = l.lane AND n.status = 'pending'
    ORDER BY n.seq, n.id LIMIT 1) AS next
WHERE d.id = next.id
  AND NOT EXISTS (
    SELECT 1 FROM dispatcher.webhook_deliveries h
    WHERE h.subscription_id = l.subscription_id AND h.lane = l.lane
      AND h.status = 'pending' AND h.head)
"""


def lock_key(lane: Lane) -> int:
    """A signed 64-bit advisory lock key for the lane."""
    digest = hashlib.blake2b(f"webhook-lane:{lane[0]}:{lane[1]}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


async def lock(conn: psycopg.AsyncConnection, lanes: Iterable[Lane]) -> None:
    """Take the lanes' transaction locks, in one global order (no deadlock between the
    intake and the worker)."""
    keys = sorted({lock_key(lane) for lane in lanes})
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,)
        )


async def promote(conn: psycopg.AsyncConnection, lanes: Iterable[Lane]) -> None:
    """Give each lane that has pending deliveries and no head its oldest one as head.
    Call with the lanes locked."""
    unique = sorted(set(lanes))
    if unique:
        await conn.execute(
            _PROMOTE,
            {
                "subscriptions": [subscription for subscription, _ in unique],
                "lanes": [lane for _, lane in unique],
            },
        )
