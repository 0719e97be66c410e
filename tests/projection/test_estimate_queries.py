"""When an execution completes: the shared estimator (no server), and what the projection
adds to it (the campaign's messages, its sample, the work queued ahead) on a real
PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telecast_libs.estimates import estimated_completion
from telecast_projection import campaign_view, execution_estimate, statistics_view
from telecast_projection.bootstrap import prepare_database
from tests.projection.test_statistics_view import created_campaign

NOW = datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=UTC)
WHOLE = NOW.replace(microsecond=0)


def test_messages_at_a_rate_take_their_time() -> None:
    assert estimated_completion(NOW, 100, 10.0) == WHOLE + timedelta(seconds=10)


def test_a_start_later_and_the_work_ahead_push_it_back() -> None:
    later = WHOLE + timedelta(hours=1)
    assert estimated_completion(NOW, 100, 10.0, starts_at=later) == later + timedelta(seconds=10)
    # 300 messages ahead take 30 s: the execution starts after them.
    assert estimated_completion(NOW, 100, 10.0, ahead=300) == WHOLE + timedelta(seconds=40)
    # Work ahead that is sent before a later start does not delay it.
    assert estimated_completion(NOW, 100, 10.0, starts_at=later, ahead=300) == later + timedelta(
        seconds=10
    )


@pytest.mark.parametrize(("messages", "rate"), [(0, 10.0), (-5, 10.0), (100, 0.0)])
def test_nothing_left_or_no_rate_has_no_estimate(messages: int, rate: float) -> None:
    assert estimated_completion(NOW, messages, rate) is None


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    await prepare_database(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


async def _campaign(
    conn: psycopg.AsyncConnection,
    status: str,
    execution: dict,
    messages: int = 1,
    planned: int | None = None,
    processed: int = 0,
) -> str:
    campaign = str(uuid.uuid4())
    content = {"messages": [{"content": f"m{n}"} for n in range(messages)]}
    await campaign_view.apply(conn, created_campaign(campaign, content))
    await conn.execute(
        "UPDATE projection.campaigns SET status = %s, execution = %s WHERE id = %s",
        (status, psycopg.types.json.Jsonb(execution), campaign),
    )
    if planned is not None:
        await conn.execute(
            "INSERT INTO projection.delivery_stats (campaign_id, planned_deliveries, processed) "
            "VALUES (%s, %s, %s)",
            (campaign, planned, processed),
        )
    return campaign


async def test_the_estimate_counts_messages_samples_and_the_work_ahead(
    conn: psycopg.AsyncConnection,
) -> None:
    # Campaigns other tests of the session left running are not part of this one's queue.
    await conn.execute(
        "UPDATE projection.campaigns SET status = 'completed' WHERE status = 'active'"
    )
    # Running: 1000 planned, 400 done (high); 500 planned, none done (low); a paused one.
    await _campaign(conn, "active", {"priority": "high"}, planned=1000, processed=400)
    await _campaign(conn, "active", {"priority": "low"}, planned=500)
    await _campaign(conn, "paused", {"priority": "high"}, planned=800)
    normal = await _campaign(conn, "active", {"priority": "normal"}, messages=2)
    answer = await execution_estimate.estimate(conn, normal, 50, 10.0, now=NOW)
    assert answer is not None
    # 50 recipients x 2 messages, after the high one's 600 left; the low one waits.
    assert (answer.messages, answer.queued) == (100, 600)
    assert answer.estimated_completion == WHOLE + timedelta(seconds=70)
    low = await _campaign(conn, "active", {"priority": "low"})
    answer = await execution_estimate.estimate(conn, low, 50, 10.0, now=NOW)
    assert answer is not None and answer.queued == 1100
    start = "2026-03-01T13:00:00Z"
    scheduled = await _campaign(
        conn, "scheduled", {"priority": "normal", "scheduledAt": start, "targetPercentage": 30}
    )
    answer = await execution_estimate.estimate(conn, scheduled, 50, 10.0, now=NOW)
    assert answer is not None and answer.messages == 15  # 30 % of 50
    # 1.5 s after its start, in whole seconds.
    assert answer.estimated_completion == datetime.fromisoformat(start) + timedelta(seconds=1)
    assert await execution_estimate.estimate(conn, str(uuid.uuid4()), 5, 1.0) is None
    assert await execution_estimate.estimate(conn, "not-a-uuid", 5, 1.0) is None


async def test_progress_uses_the_same_estimator(conn: psycopg.AsyncConnection) -> None:
    # 1000 planned, 300 done, at 10 per second over the last 10 s: 70 s to go.
    campaign = await _campaign(conn, "active", {"priority": "normal"}, planned=1000, processed=300)
    second = NOW.replace(microsecond=0)
    await conn.execute(
        "INSERT INTO projection.delivery_seconds (campaign_id, second, processed) "
        "SELECT %s, %s::timestamptz - s * interval '1 second', 10 FROM generate_series(1, 10) s",
        (campaign, second),
    )
    progress = await statistics_view.progress(conn, campaign, now=NOW)
    assert progress is not None
    assert progress.estimated_completion == estimated_completion(NOW, 700, 10.0)
