"""The segment read model: how segment events change it, and how it is read.

As for campaigns, every change is guarded by the aggregate version: an event is applied only
on top of the version before it, so a redelivered or re-published event changes nothing, and
one that skips ahead raises ``MissingEvent``. A deleted segment keeps a tombstone row, so a
late re-publish of its creation cannot bring it back.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.events import (
    SegmentCreated,
    SegmentDeleted,
    SegmentEvent,
    SegmentUpdated,
)
from telecast_libs.contracts.segments import (
    SEGMENT_NOT_FOUND,
    ListSegments,
    SegmentPage,
    SegmentView,
)
from telecast_libs.contracts.views import Pagination
from telecast_projection.campaign_view import search_query
from telecast_projection.errors import MissingEvent

# Applying events -------------------------------------------------------------------------


async def apply(conn: psycopg.AsyncConnection, event: SegmentEvent) -> None:
    match event:
        case SegmentCreated():
            segment = event.data.segment
            await conn.execute(
                """
                INSERT INTO projection.segments (id, version, name, description, filter,
                    created_by, created_at, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (id) DO NOTHING
                """,
                (
                    event.aggregate_id,
                    event.aggregate_version,
                    segment.name,
                    segment.description,
                    Jsonb(segment.filter),
                    event.data.created_by,
                    event.occurred_at,
                    event.occurred_at,
                ),
            )
        case SegmentUpdated():
            await _advance(conn, event, event.data.changes, deleted=False)
        case SegmentDeleted():
            await _advance(conn, event, {}, deleted=True)


async def _advance(
    conn: psycopg.AsyncConnection, event: SegmentEvent, changes: dict[str, Any], deleted: bool
) -> None:
    cursor = await conn.execute(
        """
        UPDATE projection.segments SET
            version = %(version)s,
            name = coalesce(%(name)s, name),
            description = CASE WHEN %(has_description)s THEN %(description)s
                ELSE description END,
            filter = coalesce(%(filter)s, filter),
            updated_at = %(at)s,
            deleted_at = CASE WHEN %(deleted)s THEN %(at)s ELSE deleted_at END
        WHERE id = %(id)s AND version = %(version)s - 1
        """,
        {
            "id": event.aggregate_id,
            "version": event.aggregate_version,
            "name": changes.get("name"),
            "has_description": "description" in changes,
            "description": changes.get("description"),
            "filter": Jsonb(changes["filter"]) if "filter" in changes else None,
            "at": event.occurred_at,
            "deleted": deleted,
        },
    )
    if cursor.rowcount == 1:
        return
    row = await (
        await conn.execute(
            "SELECT version FROM projection.segments WHERE id = %s", (event.aggregate_id,)
        )
    ).fetchone()
    if row is None or row[0] < event.aggregate_version - 1:
        raise MissingEvent(
            f"{event.type} version {event.aggregate_version} of segment {event.aggregate_id} "
            f"follows version {row[0] if row else 'none'}: an earlier event is missing"
        )
    # Otherwise the event was applied before: a redelivery, nothing to do.


# Reading ---------------------------------------------------------------------------------

_COLUMNS = "id::text, version, name, description, filter, created_by, created_at, updated_at"


def _view(row: dict[str, Any]) -> SegmentView:
    return SegmentView(
        id=row["id"],
        name=row["name"],
        filter=row["filter"],
        version=row["version"],
        description=row["description"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get(conn: psycopg.AsyncConnection, segment_id: str) -> SegmentView:
    """The segment, or SEGMENT_NOT_FOUND when there is none (or it was deleted)."""
    row = None
    try:
        uuid.UUID(segment_id)
    except ValueError:
        pass  # not a UUID: no segment has that id
    else:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            f"SELECT {_COLUMNS} FROM projection.segments WHERE id = %s AND deleted_at IS NULL",
            (segment_id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise Problem(f"segment {segment_id} does not exist", code=SEGMENT_NOT_FOUND)
    return _view(row)


async def list_page(conn: psycopg.AsyncConnection, query: ListSegments) -> SegmentPage:
    """Newest first; ``search`` matches words by prefix in the name and the description."""
    where, params = ["deleted_at IS NULL"], []
    if query.search:
        # A search without a single word matches nothing (rather than everything).
        where.append("search_vector @@ to_tsquery('simple', %s)")
        params.append(search_query(query.search) or "")
    condition = " AND ".join(where)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT count(*) AS total FROM projection.segments WHERE {condition}", params
    )
    total = (await cursor.fetchone())["total"]
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM projection.segments WHERE {condition} "
        "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return SegmentPage(
        segments=[_view(row) for row in await cursor.fetchall()],
        pagination=Pagination(
            page=query.page,
            limit=query.limit,
            total=total,
            pages=math.ceil(total / query.limit),
        ),
    )
