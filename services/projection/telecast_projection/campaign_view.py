"""The campaign list/detail read model: how each event changes it, and how it is read.

Every change is guarded by the aggregate version: an event is applied only on top of the
version before it, so a redelivered or re-published event changes nothing. A version that
skips ahead means an event is missing from the stream: that is an error, never ignored.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.campaigns import (
    CampaignContent,
    CampaignStatus,
    CampaignType,
    TargetAudience,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.events import (
    CampaignCancelled,
    CampaignCloned,
    CampaignCompleted,
    CampaignCreated,
    CampaignDeleted,
    CampaignEvent,
    CampaignFailed,
    CampaignPaused,
    CampaignResumed,
    CampaignScheduled,
    CampaignStarted,
    CampaignUpdated,
)
from telecast_libs.contracts.messages import ListCampaigns
from telecast_libs.contracts.views import (
    AudienceSummary,
    CampaignDetail,
    CampaignPage,
    CampaignStatistics,
    CampaignSummary,
    Execution,
    Pagination,
)
from telecast_projection.ab_results import ab_tests
from telecast_projection.errors import MissingEvent


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


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


_NOT_NULL = frozenset({"created_at", "updated_at", "name", "status", "type"})


def sort_clause(sort: str) -> str | None:
    """``-createdAt`` → ``created_at DESC``; None for a field that cannot be sorted on."""
    descending = sort.startswith("-")
    column = _SORTABLE.get(sort.lstrip("-+"))
    if column is None:
        return None
    direction = "DESC" if descending else "ASC"
    # Written so that an index can serve the page: NULLS LAST only where NULLs exist (it
    # defeats a backward index scan), and campaigns.id, not the select list's id::text.
    nulls = "" if column in _NOT_NULL else " NULLS LAST"
    return f"campaigns.{column} {direction}{nulls}, campaigns.id {direction}"


# Applying events -------------------------------------------------------------------------


async def apply(conn: psycopg.AsyncConnection, event: CampaignEvent) -> None:
    at = _iso(event.occurred_at)
    match event:
        case CampaignCreated() | CampaignCloned():
            await _created(conn, event)
        case CampaignUpdated():
            await _advance(
                conn,
                event,
                changes=event.data.changes,
                audience_count=_builtins(event.data.audience_count),
            )
        case CampaignDeleted():
            await _advance(conn, event, deleted=True)
        case CampaignScheduled():
            await _advance(conn, event, execution=to_builtins(event.data.execution))
        case CampaignStarted():
            await _advance(
                conn,
                event,
                execution=to_builtins(event.data.execution),
                audience_count=_builtins(event.data.audience_count),
            )
        case CampaignPaused() | CampaignFailed():
            # The reason says why a guard paused or an execution failed; an operator's pause
            # has none.
            await _advance(conn, event, execution={"pausedAt": at, "reason": event.data.reason})
        case CampaignResumed():
            # The reason of the pause no longer describes the campaign.
            await _advance(conn, event, execution={"resumedAt": at, "reason": None})
        case CampaignCompleted():
            execution = {"completedAt": at, "reason": event.data.reason}
            await _advance(conn, event, execution=execution)
        case CampaignCancelled():
            execution = {"cancelledAt": at, "reason": event.data.reason}
            await _advance(conn, event, execution=execution)


def _builtins(part: msgspec.Struct | None) -> Any:
    return to_builtins(part) if part is not None else None


async def _created(conn: psycopg.AsyncConnection, event: CampaignCreated | CampaignCloned) -> None:
    content, data = event.data.campaign, event.data
    cloned = data.cloned_from
    await conn.execute(
        """
        INSERT INTO projection.campaigns (id, version, name, description, type, status, budget,
            start_date, end_date, created_by, created_at, updated_at, content, cloned_from,
            audience_count, baseline)
        VALUES (%s, %s, %s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
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
            data.created_by,
            event.occurred_at,
            event.occurred_at,
            Jsonb(content),
            cloned.campaign_id if cloned else None,
            Jsonb(to_builtins(data.audience_count)) if data.audience_count else None,
            Jsonb(cloned.baseline) if cloned and cloned.baseline is not None else None,
        ),
    )


async def _advance(
    conn: psycopg.AsyncConnection,
    event: CampaignEvent,
    *,
    changes: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
    deleted: bool = False,
    audience_count: dict[str, Any] | None = None,
) -> None:
    """Apply one event on top of the version before it; anything else is a duplicate (no
    change) or proof that an event is missing (an error). A field an update names as None
    (JSON null) was removed: stored content holds no null, so stripping them removes it."""
    cursor = await conn.execute(
        """
        UPDATE projection.campaigns SET
            version = %(version)s,
            content = jsonb_strip_nulls(content || %(changes)s),
            name = (content || %(changes)s)->>'name',
            description = (content || %(changes)s)->>'description',
            type = (content || %(changes)s)->>'type',
            budget = ((content || %(changes)s)->>'budget')::double precision,
            start_date = ((content || %(changes)s)->>'startDate')::timestamptz,
            end_date = ((content || %(changes)s)->>'endDate')::timestamptz,
            status = coalesce(%(status)s, status),
            execution = CASE WHEN %(execution)s::jsonb IS NULL THEN execution
                ELSE coalesce(execution, '{}'::jsonb) || %(execution)s::jsonb END,
            updated_at = %(at)s,
            deleted_at = CASE WHEN %(deleted)s THEN %(at)s ELSE deleted_at END,
            audience_count = coalesce(%(audience_count)s::jsonb, audience_count)
        WHERE id = %(id)s AND version = %(version)s - 1
        """,
        {
            "id": event.aggregate_id,
            "version": event.aggregate_version,
            "changes": Jsonb(changes or {}),
            "status": event.status_after,
            "execution": Jsonb(execution) if execution is not None else None,
            "at": event.occurred_at,
            "deleted": deleted,
            "audience_count": Jsonb(audience_count) if audience_count is not None else None,
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
    created_by, created_at, updated_at, content, execution, cloned_from, audience_count,
    baseline"""

# A campaign not executed yet: every figure is a real zero.
_NO_STATISTICS = {
    "totalTasks": 0,
    "completedTasks": 0,
    "failedTasks": 0,
    "messagesSent": 0,
    "conversionsAchieved": 0,
    "totalCost": 0,
}


async def _statistics(conn: psycopg.AsyncConnection, ids: list[str]) -> dict[str, dict]:
    """The list's figures, from the delivery statistics: a task is one message to one
    recipient (``totalTasks`` once the audience is planned), completed whatever its
    outcome; ``messagesSent`` counts the messages Telegram took."""
    if not ids:
        return {}
    cursor = await conn.execute(
        "SELECT campaign_id::text, coalesce(planned_deliveries, 0), processed, failed, "
        "delivered, converters, cost FROM projection.delivery_stats "
        "WHERE campaign_id = ANY(%s::uuid[])",
        (ids,),
    )
    return {
        row[0]: {
            "totalTasks": max(row[1], row[2]),
            "completedTasks": row[2],
            "failedTasks": row[3],
            "messagesSent": row[4],
            "conversionsAchieved": row[5],
            "totalCost": round(row[6], 6),
        }
        for row in await cursor.fetchall()
    }


async def _ab_counts(conn: psycopg.AsyncConnection, campaign_id: str) -> dict:
    cursor = await conn.execute(
        "SELECT message_id, variation_id, recipients, clickers, converters, revenue "
        "FROM projection.delivery_variations WHERE campaign_id = %s",
        (campaign_id,),
    )
    return {(row[0], row[1]): row[2:] for row in await cursor.fetchall()}


def _content(row: dict[str, Any]) -> CampaignContent:
    """The stored content, decoded with the struct the campaign service stored it from.

    The stored form leaves defaults out (an empty ``segments`` or ``messages`` is absent), and
    an update that empties a field records it as null: decoding with the writer's own struct
    restores every default, so whatever the command side accepts, this side can render.
    """
    stored = {key: value for key, value in row["content"].items() if value is not None}
    return msgspec.convert(stored, CampaignContent)


def _statistics_of(row: dict[str, Any], statistics: dict | None) -> CampaignStatistics:
    shown = dict(statistics or _NO_STATISTICS)
    if row["baseline"]:
        carried = row["baseline"]
        shown["baseline"] = {
            "campaignId": carried["campaignId"],
            "countedAt": carried["countedAt"],
            **{k: v for k, v in carried["statistics"].items() if k != "baseline"},
        }
    return msgspec.convert(shown, CampaignStatistics)


def _common(row: dict[str, Any], content: CampaignContent, statistics: dict | None) -> dict:
    """The fields of a list item and a detail, as keyword arguments of their structs."""
    return {
        "id": row["id"],
        "name": row["name"],
        "type": CampaignType(row["type"]),
        "status": CampaignStatus(row["status"]),
        "version": row["version"],
        "description": row["description"],
        "goals": content.goals,
        "strategy": content.strategy,
        "budget": row["budget"],
        "start_date": row["start_date"],
        "end_date": row["end_date"],
        "statistics": _statistics_of(row, statistics),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _counted(row: dict[str, Any]) -> dict[str, Any]:
    """The audience's size as the last event that counted it carried (none: never counted,
    or it could not be counted in time)."""
    return row["audience_count"] or {}


def _audience(row: dict[str, Any], audience: TargetAudience, *, filters: bool) -> AudienceSummary:
    shown: dict[str, Any] = {"segments": audience.segments, **_counted(row)}
    if filters and audience.filters is not None:
        shown["filters"] = audience.filters
    return msgspec.convert(msgspec.to_builtins(shown), AudienceSummary)


def _summary(row: dict[str, Any], statistics: dict | None) -> CampaignSummary:
    content = _content(row)
    audience = content.target_audience or TargetAudience()
    return CampaignSummary(
        **_common(row, content, statistics),
        target_audience=_audience(row, audience, filters=False),
    )


def _detail(row: dict[str, Any], statistics: dict | None, ab_counts: dict) -> CampaignDetail:
    content = _content(row)
    audience = content.target_audience or TargetAudience()
    # A draft cancelled before it ran has no execution to show.
    execution = None
    if row["execution"] and "executionId" in row["execution"]:
        shown = {key: value for key, value in row["execution"].items() if value is not None}
        execution = msgspec.convert(shown, Execution)
    return CampaignDetail(
        **_common(row, content, statistics),
        target_audience=_audience(row, audience, filters=True),
        messages=content.messages,
        workflow=content.workflow,
        invitation=content.invitation,
        execution=execution,
        ab_tests=ab_tests(row["status"], row["content"].get("messages") or [], ab_counts),
        cloned_from=row["cloned_from"],
    )


async def get(conn: psycopg.AsyncConnection, campaign_id: str) -> CampaignDetail | None:
    try:
        uuid.UUID(campaign_id)
    except ValueError:
        return None  # not a UUID: no campaign has that id
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM projection.campaigns WHERE id = %s AND deleted_at IS NULL",
        (campaign_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    statistics = await _statistics(conn, [campaign_id])
    return _detail(row, statistics.get(campaign_id), await _ab_counts(conn, campaign_id))


_WORD = re.compile(r"\w+")


def search_query(search: str) -> str | None:
    """A tsquery matching every word of ``search`` as a word prefix ("bla fri" finds "Black
    Friday"); None when the search holds no word at all."""
    words = _WORD.findall(search.lower().replace("_", " "))
    return " & ".join(f"{word}:*" for word in words) or None


async def list_page(conn: psycopg.AsyncConnection, query: ListCampaigns) -> CampaignPage:
    order = sort_clause(query.sort)
    if order is None:
        raise Problem(
            f"cannot sort by {query.sort!r}",
            details=[{"field": "sort", "allowed": list(_SORTABLE)}],
            code=ErrorCode.VALIDATION_ERROR,
        )
    where = ["deleted_at IS NULL"]
    params: list[Any] = []
    if query.status:
        where.append("status = %s")
        params.append(query.status)
    if query.type:
        where.append("type = %s")
        params.append(query.type)
    if query.search:
        # A search without a single word matches nothing (rather than everything).
        where.append("search_vector @@ to_tsquery('simple', %s)")
        params.append(search_query(query.search) or "")
    condition = " AND ".join(where)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT count(*) AS total FROM projection.campaigns WHERE {condition}", params
    )
    total = (await cursor.fetchone())["total"]
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM projection.campaigns WHERE {condition} "
        f"ORDER BY {order} LIMIT %s OFFSET %s",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    rows = await cursor.fetchall()
    statistics = await _statistics(conn, [row["id"] for row in rows])
    return CampaignPage(
        campaigns=[_summary(row, statistics.get(row["id"])) for row in rows],
        pagination=Pagination(
            page=query.page,
            limit=query.limit,
            total=total,
            pages=math.ceil(total / query.limit),
        ),
    )
