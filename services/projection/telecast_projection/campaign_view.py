"""The campaign list/detail read model: how each event changes it, and how it is read.

Every change is guarded by the aggregate version: an event is applied only on top of the
version before it, so a redelivered or re-published event changes nothing. A version that
skips ahead means an event is missing from the stream: that is an error, never ignored.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from telecast_libs.contracts.messages import EventEnvelope, ListCampaigns

from telecast_projection.errors import MissingEvent

_SORTABLE = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "name": "name",
    "status": "status",
    "type": "type",
    "budget": "budget",
    "startDate": "start_date",
    "endDate": "end_date",
}


def sort_clause(sort: str) -> str | None:
    """``-createdAt`` → ``created_at DESC``; None for a field that cannot be sorted on."""
    descending = sort.startswith("-")
    column = _SORTABLE.get(sort.lstrip("-+"))
    if column is None:
        return None
    direction = "DESC" if descending else "ASC"
    return f"{column} {direction} NULLS LAST, id {direction}"


def sortable_fields() -> list[str]:
    return list(_SORTABLE)


# Applying events -------------------------------------------------------------------------


async def apply(conn: psycopg.AsyncConnection, event: EventEnvelope) -> None:
    if event.type == "campaign.created":
        await _created(conn, event)
    elif event.type == "campaign.updated":
        await _changed(conn, event, event.data.get("changes", {}), deleted=False)
    elif event.type == "campaign.deleted":
        await _changed(conn, event, {}, deleted=True)


async def _created(conn: psycopg.AsyncConnection, event: EventEnvelope) -> None:
    content = event.data["campaign"]
    await conn.execute(
        """
        INSERT INTO projection.campaigns (id, version, name, description, type, status, budget,
            start_date, end_date, created_by, created_at, updated_at, content)
        VALUES (%s, %s, %s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (id) DO NOTHING
        """,
        (
            event.aggregate_id,
            event.aggregate_version,
            content["name"],
            content.get("description"),
            content["type"],
            content.get("budget"),
            content.get("startDate"),
            content.get("endDate"),
            event.data.get("createdBy"),
            event.occurred_at,
            event.occurred_at,
            Jsonb(content),
        ),
    )


async def _changed(
    conn: psycopg.AsyncConnection, event: EventEnvelope, changes: dict[str, Any], *, deleted: bool
) -> None:
    cursor = await conn.execute(
        """
        UPDATE projection.campaigns SET
            version = %(version)s,
            content = content || %(changes)s,
            name = (content || %(changes)s)->>'name',
            description = (content || %(changes)s)->>'description',
            type = (content || %(changes)s)->>'type',
            budget = ((content || %(changes)s)->>'budget')::double precision,
            start_date = ((content || %(changes)s)->>'startDate')::timestamptz,
            end_date = ((content || %(changes)s)->>'endDate')::timestamptz,
            updated_at = %(at)s,
            deleted_at = CASE WHEN %(deleted)s THEN %(at)s ELSE deleted_at END
        WHERE id = %(id)s AND version = %(version)s - 1
        """,
        {
            "id": event.aggregate_id,
            "version": event.aggregate_version,
            "changes": Jsonb(changes),
            "at": event.occurred_at,
            "deleted": deleted,
        },
    )
    if cursor.rowcount == 1:
        return
    row = await (
        await conn.execute(
            "SELECT version FROM projection.campaigns WHERE id = %s", (event.aggregate_id,)
        )
    ).fetchone()
    if row is None or row[0] < event.aggregate_version - 1:
        raise MissingEvent(
            f"{event.type} version {event.aggregate_version} of campaign {event.aggregate_id} "
            f"follows version {row[0] if row else 'none'}: an earlier event is missing"
        )
    # Otherwise the event was applied before: a redelivery, nothing to do.


# Reading ---------------------------------------------------------------------------------

_COLUMNS = """id::text, version, name, description, type, status, budget, start_date, end_date,
    created_by, created_at, updated_at, content"""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _statistics() -> dict[str, int]:
    # The dispatcher fills these once executions exist; until then no task has run.
    return {
        "totalTasks": 0,
        "completedTasks": 0,
        "failedTasks": 0,
        "messagesSent": 0,
        "conversionsAchieved": 0,
        "totalCost": 0,
    }


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    content = row["content"]
    audience = content.get("targetAudience") or {}
    item = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "type": row["type"],
        "status": row["status"],
        "goals": content.get("goals"),
        "targetAudience": {"segments": audience.get("segments", [])},
        "strategy": content.get("strategy"),
        "budget": row["budget"],
        "startDate": _iso(row["start_date"]),
        "endDate": _iso(row["end_date"]),
        "statistics": _statistics(),
        "createdBy": row["created_by"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "version": row["version"],
    }
    return {k: v for k, v in item.items() if v is not None}


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    content = row["content"]
    detail = _summary(row)
    detail["targetAudience"] = content.get("targetAudience") or {"segments": []}
    detail["messages"] = content.get("messages", [])
    if content.get("workflow"):
        detail["workflow"] = content["workflow"]
    return detail


async def get(conn: psycopg.AsyncConnection, campaign_id: str) -> dict[str, Any] | None:
    try:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            f"SELECT {_COLUMNS} FROM projection.campaigns WHERE id = %s AND deleted_at IS NULL",
            (campaign_id,),
        )
    except psycopg.errors.InvalidTextRepresentation:
        return None  # not a UUID: no campaign has that id
    row = await cursor.fetchone()
    return _detail(row) if row else None


def _like_pattern(search: str) -> str:
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_page(conn: psycopg.AsyncConnection, query: ListCampaigns) -> dict[str, Any]:
    order = sort_clause(query.sort)
    if order is None:
        raise ValueError(f"cannot sort by {query.sort!r}")
    where = ["deleted_at IS NULL"]
    params: list[Any] = []
    if query.status:
        where.append("status = %s")
        params.append(query.status)
    if query.type:
        where.append("type = %s")
        params.append(query.type)
    if query.search:
        where.append("search_text LIKE %s")
        params.append(_like_pattern(query.search))
    condition = " AND ".join(where)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(f"SELECT count(*) AS total FROM projection.campaigns WHERE {condition}", params)
    total = (await cursor.fetchone())["total"]
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM projection.campaigns WHERE {condition} "
        f"ORDER BY {order} LIMIT %s OFFSET %s",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    rows = await cursor.fetchall()
    return {
        "campaigns": [_summary(row) for row in rows],
        "pagination": {
            "page": query.page,
            "limit": query.limit,
            "total": total,
            "pages": math.ceil(total / query.limit) if total else 0,
        },
    }
