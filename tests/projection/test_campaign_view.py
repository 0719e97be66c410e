"""The campaign read model against a real PostgreSQL: each event applied exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest

from telecast_libs.contracts.events import DomainEvent, event_from
from telecast_libs.contracts.messages import ListCampaigns
from telecast_projection import campaign_view
from telecast_projection.bootstrap import prepare_database
from telecast_projection.errors import MissingEvent

AT = datetime(2026, 1, 1, tzinfo=UTC)


def event(campaign_id: str, version: int, type_: str, data: dict) -> DomainEvent:
    return event_from(
        type_,
        id=str(uuid.uuid4()),
        aggregate_id=campaign_id,
        aggregate_version=version,
        occurred_at=AT,
        position=version,
        data=data,
    )


def created(campaign_id: str, name: str = "Summer", **content: object) -> DomainEvent:
    campaign = {"name": name, "type": "message", **content}
    return event(campaign_id, 1, "campaign.created", {"campaign": campaign, "createdBy": "op"})


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    await prepare_database(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


async def test_a_redelivered_event_changes_nothing(conn: psycopg.AsyncConnection) -> None:
    cid = str(uuid.uuid4())
    await campaign_view.apply(conn, created(cid))
    rename = event(cid, 2, "campaign.updated", {"changes": {"name": "Renamed"}})
    await campaign_view.apply(conn, rename)
    await campaign_view.apply(conn, rename)
    await campaign_view.apply(conn, created(cid, name="Summer again"))
    detail = await campaign_view.get(conn, cid)
    assert detail is not None
    assert (detail.name, detail.version) == ("Renamed", 2)


async def test_an_event_whose_predecessor_is_missing_is_an_error(
    conn: psycopg.AsyncConnection,
) -> None:
    cid = str(uuid.uuid4())
    await campaign_view.apply(conn, created(cid))
    with pytest.raises(MissingEvent):
        await campaign_view.apply(
            conn, event(cid, 3, "campaign.updated", {"changes": {"name": "Skipped ahead"}})
        )
    with pytest.raises(MissingEvent):
        await campaign_view.apply(conn, event(str(uuid.uuid4()), 2, "campaign.deleted", {}))


async def test_a_deleted_campaign_is_gone_and_stays_gone_on_replay(
    conn: psycopg.AsyncConnection,
) -> None:
    cid = str(uuid.uuid4())
    await campaign_view.apply(conn, created(cid, name="Doomed"))
    await campaign_view.apply(conn, event(cid, 2, "campaign.deleted", {}))
    await campaign_view.apply(conn, created(cid, name="Doomed"))  # a late re-publish
    assert await campaign_view.get(conn, cid) is None
    page = await campaign_view.list_page(conn, ListCampaigns(search="doomed"))
    assert page.pagination.total == 0


async def test_search_matches_word_prefixes_case_and_punctuation_aside(
    conn: psycopg.AsyncConnection,
) -> None:
    tag = uuid.uuid4().hex[:8]
    await campaign_view.apply(conn, created(str(uuid.uuid4()), name=f"{tag} Black Friday!"))
    await campaign_view.apply(
        conn, created(str(uuid.uuid4()), name=f"{tag} Cyber Monday", description="blacklist")
    )

    async def names(search: str) -> list[str]:
        page = await campaign_view.list_page(conn, ListCampaigns(search=search, sort="name"))
        return [c.name for c in page.campaigns]

    assert await names(f"{tag} FRI") == [f"{tag} Black Friday!"]
    assert await names(f"{tag} black") == [f"{tag} Black Friday!", f"{tag} Cyber Monday"]
    assert await names(f"%{tag}% blacklist") == [f"{tag} Cyber Monday"]
    assert await names("%_%") == []


async def test_a_search_uses_the_full_text_index(database_url: str) -> None:
    await prepare_database(database_url)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        # 20,000 campaigns, in a transaction that is rolled back: the planner must choose
        # the search index over a scan, also right after the rows were written.
        await conn.execute(
            """
            INSERT INTO projection.campaigns (id, version, name, type, status, created_at,
                updated_at, content)
            SELECT gen_random_uuid(), 1, 'campaign ' || md5(n::text), 'message', 'draft',
                now(), now(), '{}'::jsonb
            FROM generate_series(1, 20000) AS n
            """
        )
        await conn.execute("ANALYZE projection.campaigns")
        plan = await (
            await conn.execute(
                "EXPLAIN SELECT id FROM projection.campaigns WHERE deleted_at IS NULL "
                "AND search_vector @@ to_tsquery('simple', %s)",
                (campaign_view.search_query("c4ca42"),),
            )
        ).fetchall()
        await conn.rollback()
    assert "campaigns_search" in " ".join(row[0] for row in plan)


async def test_a_failed_execution_shows_as_paused_with_its_reason(
    conn: psycopg.AsyncConnection,
) -> None:
    cid = str(uuid.uuid4())
    execution = {"executionId": "x1", "testMode": False, "targetPercentage": 100}
    stream = [
        created(cid),
        event(cid, 2, "campaign.started", {"execution": {**execution, "priority": "normal"}}),
        event(
            cid,
            3,
            "campaign.failed",
            {"reason": "no usable account", "code": "NO_SENDER", "executionId": "x1"},
        ),
    ]
    for item in stream:
        await campaign_view.apply(conn, item)
    detail = await campaign_view.get(conn, cid)
    assert detail is not None and detail.execution is not None
    assert (detail.status, detail.execution.reason) == ("paused", "no usable account")
    assert detail.execution.paused_at == AT
    page = await campaign_view.list_page(conn, ListCampaigns(status="paused", search="summer"))
    assert cid in [summary.id for summary in page.campaigns]

    await campaign_view.apply(conn, event(cid, 4, "campaign.resumed", {}))
    await campaign_view.apply(conn, event(cid, 5, "campaign.paused", {}))
    detail = await campaign_view.get(conn, cid)
    assert detail is not None and detail.execution is not None
    # The resume cleared the failure's reason, and an operator's pause gives none.
    assert (detail.status, detail.execution.reason) == ("paused", None)
    await campaign_view.apply(conn, event(cid, 6, "campaign.resumed", {}))
    await campaign_view.apply(
        conn, event(cid, 7, "campaign.paused", {"reason": "budget exhausted", "code": "BUDGET"})
    )
    detail = await campaign_view.get(conn, cid)
    assert detail is not None and detail.execution is not None
    assert (detail.status, detail.execution.reason) == ("paused", "budget exhausted")


async def test_a_removed_field_goes_and_the_carried_count_follows_the_last_count(
    conn: psycopg.AsyncConnection,
) -> None:
    cid, tag = str(uuid.uuid4()), uuid.uuid4().hex[:8]
    first = {"totalCount": 5, "countedAt": "2026-01-01T00:00:00Z"}
    campaign = {
        "name": f"Carried {tag}",
        "type": "message",
        "description": "d",
        "goals": {"revenue": 5, "conversionRate": 1},
    }
    creation = event(cid, 1, "campaign.created", {"campaign": campaign, "audienceCount": first})
    await campaign_view.apply(conn, creation)
    # An update that removed fields (null) and counted nothing keeps the count it had.
    removed = {"description": None, "goals": {"conversionRate": 1}}
    await campaign_view.apply(conn, event(cid, 2, "campaign.updated", {"changes": removed}))
    page = await campaign_view.list_page(conn, ListCampaigns(search=f"carried {tag}"))
    [row] = page.campaigns
    assert row.description is None and row.goals is not None and row.goals.revenue is None
    assert (row.target_audience.total_count, row.target_audience.counted_at) == (5, AT)
    recount = {"totalCount": 9, "countedAt": "2026-01-02T00:00:00Z"}
    await campaign_view.apply(
        conn,
        event(
            cid,
            3,
            "campaign.updated",
            {"changes": {"name": f"Carried {tag}"}, "audienceCount": recount},
        ),
    )
    [row] = (await campaign_view.list_page(conn, ListCampaigns(search=f"carried {tag}"))).campaigns
    assert row.target_audience.total_count == 9
    detail = await campaign_view.get(conn, cid)
    assert detail is not None and detail.target_audience.total_count == 9
