"""The template read model: how template events change it, and how it is read.

As for campaigns, every change is guarded by the aggregate version: an event is applied only
on top of the version before it, so a redelivered or re-published event changes nothing, and
one that skips ahead raises ``MissingEvent``. A deleted template keeps a tombstone row.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from telecast_libs.content.rendering import TemplateError, parse
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.events import (
    TemplateCreated,
    TemplateDeleted,
    TemplateEvent,
    TemplateUpdated,
)
from telecast_libs.contracts.templates import ListTemplates, TemplatePage, TemplateView
from telecast_libs.contracts.views import Pagination
from telecast_projection.campaign_view import search_query
from telecast_projection.errors import MissingEvent

# Applying events -------------------------------------------------------------------------


async def apply(conn: psycopg.AsyncConnection, event: TemplateEvent) -> None:
    match event:
        case TemplateCreated():
            template = event.data.template
            await conn.execute(
                """
                INSERT INTO projection.templates
                    (id, version, name, content, created_by, created_at, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (id) DO NOTHING
                """,
                (
                    event.aggregate_id,
                    event.aggregate_version,
                    template["name"],
                    Jsonb(template),
                    event.data.created_by,
                    event.occurred_at,
                    event.occurred_at,
                ),
            )
        case TemplateUpdated():
            await _advance(conn, event, event.data.changes, deleted=False)
        case TemplateDeleted():
            await _advance(conn, event, {}, deleted=True)


async def _advance(
    conn: psycopg.AsyncConnection, event: TemplateEvent, changes: dict[str, Any], deleted: bool
) -> None:
    # A null in the changes removes the key ("media": null removes the media).
    cursor = await conn.execute(
        """
        UPDATE projection.templates SET
            version = %(version)s,
            content = jsonb_strip_nulls(content || %(changes)s),
            name = (content || %(changes)s)->>'name',
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
            "SELECT version FROM projection.templates WHERE id = %s", (event.aggregate_id,)
        )
    ).fetchone()
    if row is None or row[0] < event.aggregate_version - 1:
        raise MissingEvent(
            f"{event.type} version {event.aggregate_version} of template {event.aggregate_id} "
            f"follows version {row[0] if row else 'none'}: an earlier event is missing"
        )
    # Otherwise the event was applied before: a redelivery, nothing to do.


# Reading ---------------------------------------------------------------------------------

_COLUMNS = "id::text, version, content, created_by, created_at, updated_at"


def _view(row: dict[str, Any]) -> TemplateView:
    content = row["content"]
    try:
        placeholders = parse(content["content"]).fields
    except TemplateError:
        placeholders = []  # stored templates were checked; this is only a safeguard
    fields = {
        **content,
        "id": row["id"],
        "version": row["version"],
        "placeholders": placeholders,
        "createdBy": row["created_by"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }
    return msgspec.convert({k: v for k, v in fields.items() if v is not None}, TemplateView)


async def get(conn: psycopg.AsyncConnection, template_id: str) -> TemplateView:
    """The template, or NOT_FOUND when there is none (or it was deleted)."""
    row = None
    try:
        uuid.UUID(template_id)
    except ValueError:
        pass  # not a UUID: no template has that id
    else:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            f"SELECT {_COLUMNS} FROM projection.templates WHERE id = %s AND deleted_at IS NULL",
            (template_id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise Problem(f"template {template_id} does not exist", code=ErrorCode.NOT_FOUND)
    return _view(row)


async def list_page(conn: psycopg.AsyncConnection, query: ListTemplates) -> TemplatePage:
    """Newest first; ``search`` matches words by prefix in the name and the content."""
    where, params = ["deleted_at IS NULL"], []
    if query.search:
        where.append("search_vector @@ to_tsquery('simple', %s)")
        params.append(search_query(query.search) or "")
    condition = " AND ".join(where)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT count(*) AS total FROM projection.templates WHERE {condition}", params
    )
    total = (await cursor.fetchone())["total"]
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM projection.templates WHERE {condition} "
        "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return TemplatePage(
        templates=[_view(row) for row in await cursor.fetchall()],
        pagination=Pagination(
            page=query.page,
            limit=query.limit,
            total=total,
            pages=math.ceil(total / query.limit),
        ),
    )
