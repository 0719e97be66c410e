"""The template read model against a real PostgreSQL: each event applied exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest

from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.events import DomainEvent, event_from
from telecast_libs.contracts.templates import ListTemplates
from telecast_projection import template_view
from telecast_projection.bootstrap import prepare_database
from telecast_projection.errors import MissingEvent

AT = datetime(2026, 1, 1, tzinfo=UTC)
PHOTO = {"type": "photo", "url": "https://cdn.example.com/a.jpg"}


def event(template_id: str, version: int, type_: str, data: dict) -> DomainEvent:
    return event_from(
        type_,
        id=str(uuid.uuid4()),
        aggregate_id=template_id,
        aggregate_version=version,
        occurred_at=AT,
        position=version,
        data=data,
    )


def created(template_id: str, name: str = "Welcome", **content: object) -> DomainEvent:
    template = {
        "name": name,
        "content": "Hi {{firstName|there}}, {{attributes.tier}}",
        "parseMode": "html",
        "buttons": [],
        **content,
    }
    return event(template_id, 1, "template.created", {"template": template, "createdBy": "op"})


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    await prepare_database(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


async def test_events_build_the_view_once_each(conn: psycopg.AsyncConnection) -> None:
    tid = str(uuid.uuid4())
    await template_view.apply(conn, created(tid, media=PHOTO))
    change = event(tid, 2, "template.updated", {"changes": {"name": "Hello", "media": None}})
    await template_view.apply(conn, change)
    await template_view.apply(conn, change)
    await template_view.apply(conn, created(tid, name="Again"))
    view = await template_view.get(conn, tid)
    assert (view.name, view.version) == ("Hello", 2)
    assert view.media is None
    assert view.placeholders == ["firstName", "attributes.tier"]
    assert view.created_by == "op"


async def test_a_gap_is_an_error_and_a_deleted_template_stays_gone(
    conn: psycopg.AsyncConnection,
) -> None:
    tid = str(uuid.uuid4())
    await template_view.apply(conn, created(tid, name="Doomed zebra"))
    with pytest.raises(MissingEvent):
        await template_view.apply(conn, event(tid, 3, "template.deleted", {}))
    await template_view.apply(conn, event(tid, 2, "template.deleted", {}))
    await template_view.apply(conn, created(tid, name="Doomed zebra"))
    with pytest.raises(Problem) as caught:
        await template_view.get(conn, tid)
    assert caught.value.code == "NOT_FOUND"
    page = await template_view.list_page(conn, ListTemplates(search="zebra"))
    assert page.pagination.total == 0


async def test_list_searches_name_and_content_newest_first(conn: psycopg.AsyncConnection) -> None:
    tag = uuid.uuid4().hex[:8]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await template_view.apply(conn, created(first, name=f"Spring {tag}"))
    later = created(second, name=f"Autumn {tag}", content=f"Leaves fall {tag}x")
    later.occurred_at = datetime(2026, 2, 1, tzinfo=UTC)
    await template_view.apply(conn, later)
    page = await template_view.list_page(conn, ListTemplates(search=tag, limit=1))
    assert page.pagination.total == 2 and page.pagination.pages == 2
    assert [t.id for t in page.templates] == [second]
    by_content = await template_view.list_page(conn, ListTemplates(search=f"leaves {tag}x"))
    assert [t.id for t in by_content.templates] == [second]
    with pytest.raises(Problem):
        await template_view.get(conn, "not-a-uuid")
