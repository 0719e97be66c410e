"""Statistics and progress against a known scripted run, on a real PostgreSQL.

Every figure of the answers is checked against what the script did: counts, rates, the
hourly and daily buckets, the segments, the error list, the current rate and the ETA.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telecast_libs.contracts.base import encode
from telecast_libs.contracts.deliveries import (
    ArmOf,
    DeliveryEvent,
    ExecutionPlanned,
    InteractionEvent,
)
from telecast_libs.contracts.events import DomainEvent, event_from
from telecast_libs.contracts.messages import ListCampaigns
from telecast_libs.contracts.views import (
    OVERVIEW_METRICS,
    PERFORMANCE_METRICS,
    CampaignStatistics,
    CampaignStatisticsReport,
    Overview,
    Performance,
    statistics_selection,
)
from telecast_projection import campaign_view, delivery_view, statistics_view
from telecast_projection.bootstrap import prepare_database

START = datetime(2026, 3, 1, 9, 58, tzinfo=UTC)
SEGMENT_A, SEGMENT_B = str(uuid.uuid4()), str(uuid.uuid4())


def created_campaign(campaign_id: str, content: dict) -> DomainEvent:
    return event_from(
        "campaign.created",
        id=str(uuid.uuid4()),
        aggregate_id=campaign_id,
        aggregate_version=1,
        occurred_at=START,
        position=1,
        data={"campaign": {"name": "Scripted", "type": "message", **content}, "createdBy": "op"},
    )


@dataclass
class Message:
    """What the follower hands the view: a subject and the encoded event."""

    subject: str
    data: bytes


def message(event: object) -> Message:
    return Message(f"ns.events.{event.type}", encode(event))  # type: ignore[attr-defined]


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    await prepare_database(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


def delivery(
    campaign: str,
    execution: str,
    n: int,
    at: datetime,
    *,
    failed: str | None = None,
    variation: str | None = None,
    segments: tuple[str, ...] = (),
    step: int = 0,
) -> DeliveryEvent:
    contact = str(uuid.UUID(int=n))
    return DeliveryEvent(
        id=str(uuid.uuid4()),
        type="delivery.failed" if failed else "delivery.sent",
        campaign_id=campaign,
        execution_id=execution,
        contact_id=contact,
        telegram_id=1000 + n,
        chat_kind="private",
        message_id="msg1",
        step=step,
        variation_id=variation,
        code=failed,
        message="User has blocked the bot" if failed else None,
        occurred_at=at,
        segment_ids=list(segments),
        cost=0 if failed else 0.5,
    )


async def scripted_run(conn: psycopg.AsyncConnection) -> tuple[str, str]:
    """A campaign whose 10 recipients (in two segments, two variations) got:
    - 8 delivered, 2 failed (USER_BLOCKED), across two hours of one day and into the next;
    - 3 readers (one read twice), 2 clickers (one clicked twice), 1 conversion of 40.0;
    - planned: 10 recipients, 10 messages."""
    campaign, execution = str(uuid.uuid4()), str(uuid.uuid4())
    content = {
        "targetAudience": {"segments": [SEGMENT_A, SEGMENT_B]},
        "messages": [
            {
                "id": "msg1",
                "content": "A",
                "variations": [{"id": "B", "content": "B", "weight": 50}],
            }
        ],
    }
    await campaign_view.apply(conn, created_campaign(campaign, content))
    events: list[object] = [
        ExecutionPlanned(
            id=f"planned:{execution}",
            type="execution.planned",
            campaign_id=campaign,
            execution_id=execution,
            recipients=10,
            deliveries=10,
            occurred_at=START,
        )
    ]
    for n in range(10):
        at = START + timedelta(minutes=n)  # 09:58 … 10:07: two hours
        failed = "USER_BLOCKED" if n in (3, 7) else None
        variation = "B" if n % 2 else None
        segments = (SEGMENT_A,) if n < 6 else (SEGMENT_A, SEGMENT_B)
        events.append(
            delivery(
                campaign, execution, n, at, failed=failed, variation=variation, segments=segments
            )
        )

    def interaction(kind: str, n: int, first: bool, **extra: object) -> InteractionEvent:
        return InteractionEvent(
            id=str(uuid.uuid4()),
            type=kind,
            campaign_id=campaign,
            execution_id=execution,
            contact_id=str(uuid.UUID(int=n)),
            message_id="msg1",
            variation_id="B" if n % 2 else None,
            first=first,
            occurred_at=START + timedelta(days=1),
            **extra,  # type: ignore[arg-type]
        )

    events += [
        interaction("delivery.read", 0, True),
        interaction("delivery.read", 0, False),
        interaction("delivery.read", 1, True),
        interaction("delivery.read", 2, True),
        interaction("delivery.clicked", 1, True, url="https://example.com"),
        interaction("delivery.clicked", 1, False, url="https://example.com"),
        interaction("delivery.clicked", 8, True, url="https://example.com"),
        interaction(
            "delivery.converted",
            9,
            True,
            revenue=40.0,
            conversion_id="order-1",
            arms=[ArmOf(message_id="msg1", variation_id="B")],
            segment_ids=[SEGMENT_A, SEGMENT_B],
        ),
    ]
    # Applied in two batches, as a follower would.
    batch = [(seq, message(event)) for seq, event in enumerate(events, start=1)]
    await delivery_view.apply(conn, batch[:6])  # type: ignore[arg-type]
    await delivery_view.apply(conn, batch[6:])  # type: ignore[arg-type]
    return campaign, execution


async def test_every_figure_of_the_statistics(conn: psycopg.AsyncConnection) -> None:
    campaign, _ = await scripted_run(conn)
    now = START + timedelta(days=1, hours=1)
    report = await statistics_view.statistics(conn, campaign, "all", None, now=now)
    assert report is not None
    assert report.overview is not None and report.performance is not None
    overview = report.overview
    assert (overview.messages_sent, overview.delivered) == (10, 8)
    assert (overview.read, overview.clicked, overview.converted) == (3, 2, 1)
    assert overview.revenue == 40.0
    performance = report.performance
    assert performance.delivery_rate == 80.0
    assert performance.read_rate == 37.5  # 3 of 8 recipients delivered to
    assert performance.click_rate == 25.0
    assert performance.conversion_rate == 12.5
    # Daily for "all": the sends on day one, the conversion on day two.
    assert [(p.date, p.sent, p.delivered, p.conversions) for p in report.timeline or []] == [
        ("2026-03-01", 10, 8, 0),
        ("2026-03-02", 0, 0, 1),
    ]
    # Segment A has all 10 (8 delivered), B the last 4 (n=6..9, n=7 failed: 3 delivered),
    # and n=9's conversion counts for both.
    segments = {s.segment_id: s.performance for s in report.segments or []}
    assert [s.segment_id for s in report.segments or []] == [SEGMENT_A, SEGMENT_B]
    assert (segments[SEGMENT_A].sent, segments[SEGMENT_A].conversion_rate) == (8, 12.5)
    assert (segments[SEGMENT_B].sent, segments[SEGMENT_B].conversion_rate) == (3, 33.3)


async def test_hourly_buckets_for_a_day_and_sections_on_demand(
    conn: psycopg.AsyncConnection,
) -> None:
    campaign, _ = await scripted_run(conn)
    now = START + timedelta(hours=2)
    report = await statistics_view.statistics(conn, campaign, "24h", ["timeline"], now=now)
    assert report is not None
    assert report.overview is None and report.segments is None
    # 09:58, 09:59 in the 09 bucket; 10:00 … 10:07 in the 10 bucket (n=3 and n=7 failed).
    assert [(p.date, p.sent, p.delivered) for p in report.timeline or []] == [
        ("2026-03-01T09:00:00Z", 2, 2),
        ("2026-03-01T10:00:00Z", 8, 6),
    ]
    later = START + timedelta(hours=30)
    report = await statistics_view.statistics(conn, campaign, "1h", ["timeline"], now=later)
    assert report is not None and report.timeline == []


async def test_the_period_bounds_every_figure(conn: psycopg.AsyncConnection) -> None:
    campaign, _ = await scripted_run(conn)
    # 24 h before now is 10:58 on day one: the period starts at 10:00 then. It holds the
    # sends n=2..9 (n=3 and n=7 failed) and every interaction (09:58 on day two).
    now = START + timedelta(days=1, hours=1)
    report = await statistics_view.statistics(conn, campaign, "24h", None, now=now)
    assert report is not None and report.overview and report.performance
    overview = report.overview
    assert (overview.messages_sent, overview.delivered) == (8, 6)
    assert (overview.read, overview.clicked, overview.converted, overview.revenue) == (
        3,
        2,
        1,
        40.0,
    )
    performance = report.performance
    assert (performance.delivery_rate, performance.read_rate) == (75.0, 50.0)
    assert (performance.click_rate, performance.conversion_rate) == (33.3, 16.7)
    timeline = [(p.date, p.sent, p.delivered, p.conversions) for p in report.timeline or []]
    assert timeline == [("2026-03-01T10:00:00Z", 8, 6, 0), ("2026-03-02T09:00:00Z", 0, 0, 1)]
    assert overview.messages_sent == sum(p.sent for p in report.timeline or [])
    # Segment A: n=2, 4, 5, 6, 8, 9 delivered; B: n=6, 8, 9; n=9 converted.
    segments = {s.segment_id: s.performance for s in report.segments or []}
    assert (segments[SEGMENT_A].sent, segments[SEGMENT_A].conversion_rate) == (6, 16.7)
    assert (segments[SEGMENT_B].sent, segments[SEGMENT_B].conversion_rate) == (3, 33.3)
    # The last hour holds the interactions only; the segments stay listed, with zeros sent.
    report = await statistics_view.statistics(conn, campaign, "1h", None, now=now)
    assert report is not None and report.overview and report.performance
    assert (report.overview.messages_sent, report.overview.read) == (0, 3)
    assert report.performance.read_rate == 0.0  # nobody was delivered to in the period
    assert [s.performance.sent for s in report.segments or []] == [0, 0]
    # 7 days, 30 days and all hold the whole run.
    for period in ("7d", "30d", "all"):
        whole = await statistics_view.statistics(conn, campaign, period, ["overview"], now=now)
        assert whole is not None and whole.overview is not None
        assert (whole.overview.messages_sent, whole.overview.read) == (10, 3)


async def test_metrics_name_sections_or_single_figures(conn: psycopg.AsyncConnection) -> None:
    campaign, _ = await scripted_run(conn)
    now = START + timedelta(days=1, hours=1)
    report = await statistics_view.statistics(
        conn, campaign, "all", ["messagesSent", "deliveryRate", "segments"], now=now
    )
    assert encode(report) == encode(
        CampaignStatisticsReport(
            overview=Overview(messages_sent=10),
            performance=Performance(delivery_rate=80.0),
            segments=report.segments if report else None,
        )
    )
    assert report is not None and len(report.segments or []) == 2 and report.timeline is None
    # A section and one of its figures: the whole section.
    both = await statistics_view.statistics(conn, campaign, "all", ["overview", "read"], now=now)
    assert both is not None and both.overview is not None
    assert (both.overview.messages_sent, both.overview.read) == (10, 3)
    assert both.performance is None


def test_every_figure_of_overview_and_performance_can_be_named() -> None:
    assert OVERVIEW_METRICS == (
        "messagesSent",
        "delivered",
        "read",
        "clicked",
        "converted",
        "revenue",
    )
    assert PERFORMANCE_METRICS == ("deliveryRate", "readRate", "clickRate", "conversionRate")
    assert statistics_selection(None) == dict.fromkeys(
        ("overview", "performance", "timeline", "segments")
    )
    assert statistics_selection(["clickRate", "timeline", "readRate"]) == {
        "performance": frozenset({"clickRate", "readRate"}),
        "timeline": None,
    }


async def test_progress_rate_and_eta_while_running(conn: psycopg.AsyncConnection) -> None:
    campaign, execution = str(uuid.uuid4()), str(uuid.uuid4())
    await campaign_view.apply(conn, created_campaign(campaign, {}))
    await conn.execute(
        "UPDATE projection.campaigns SET status = 'active' WHERE id = %s", (campaign,)
    )
    planned = ExecutionPlanned(
        id=f"planned:{execution}",
        type="execution.planned",
        campaign_id=campaign,
        execution_id=execution,
        recipients=1000,
        deliveries=1000,
        occurred_at=START,
    )
    # 300 messages over the last 30 s, 10 per second; 5 of them failed.
    events: list[object] = [planned]
    for n in range(300):
        at = START + timedelta(seconds=n // 10, milliseconds=100 * (n % 10))
        events.append(
            delivery(campaign, execution, n, at, failed="PEER_INVALID" if n < 5 else None)
        )
    await delivery_view.apply(
        conn,
        [(seq, message(e)) for seq, e in enumerate(events, start=1)],  # type: ignore[arg-type]
    )
    now = START + timedelta(seconds=30)
    answer = await statistics_view.progress(conn, campaign, now=now)
    assert answer is not None
    assert answer.status == "running"
    counts = answer.progress
    assert (counts.processed, counts.total, counts.successful, counts.failed) == (300, 1000, 295, 5)
    assert counts.percentage == 30.0
    assert answer.current_rate == 10.0
    assert answer.estimated_completion == now + timedelta(seconds=70)
    assert [(e.code, e.count) for e in answer.errors] == [("PEER_INVALID", 5)]
    # Paused: no rate, no estimate, the same counts.
    await conn.execute(
        "UPDATE projection.campaigns SET status = 'paused' WHERE id = %s", (campaign,)
    )
    paused = await statistics_view.progress(conn, campaign, now=now)
    assert paused is not None
    assert (paused.status, paused.current_rate, paused.estimated_completion) == (
        "paused",
        0.0,
        None,
    )
    assert paused.progress == counts


async def test_a_campaign_without_deliveries_has_zeros_and_its_segments(
    conn: psycopg.AsyncConnection,
) -> None:
    campaign = str(uuid.uuid4())
    await campaign_view.apply(
        conn, created_campaign(campaign, {"targetAudience": {"segments": ["seg1"]}})
    )
    report = await statistics_view.statistics(conn, campaign, "all", None)
    assert report is not None and report.overview is not None
    assert report.overview.messages_sent == 0 and report.timeline == []
    assert [(s.segment_id, s.performance.sent) for s in report.segments or []] == [("seg1", 0)]
    answer = await statistics_view.progress(conn, campaign)
    assert answer is not None and answer.status == "not_started"
    assert (answer.progress.total, answer.progress.percentage) == (0, 0.0)


async def test_a_replayed_or_republished_event_counts_once(conn: psycopg.AsyncConnection) -> None:
    campaign, execution = str(uuid.uuid4()), str(uuid.uuid4())
    await campaign_view.apply(conn, created_campaign(campaign, {}))
    sent = delivery(campaign, execution, 1, START)
    clicked = InteractionEvent(
        id=str(uuid.uuid4()),
        type="delivery.clicked",
        campaign_id=campaign,
        execution_id=execution,
        contact_id=sent.contact_id,
        message_id="msg1",
        first=True,
        occurred_at=START,
    )
    # Twice in one batch, and again later (a re-publish from the ledger).
    batch = [(1, message(sent)), (2, message(sent)), (3, message(clicked))]
    await delivery_view.apply(conn, batch)  # type: ignore[arg-type]
    await delivery_view.apply(conn, [(4, message(sent)), (5, message(clicked))])  # type: ignore[arg-type]
    report = await statistics_view.statistics(conn, campaign, "all", ["overview"])
    assert report is not None and report.overview is not None
    assert (report.overview.messages_sent, report.overview.clicked) == (1, 1)


async def test_the_list_and_the_detail_show_the_same_figures_and_the_ab_test(
    conn: psycopg.AsyncConnection,
) -> None:
    campaign, _ = await scripted_run(conn)
    detail = await campaign_view.get(conn, campaign)
    assert detail is not None
    assert detail.statistics == CampaignStatistics(
        total_tasks=10,
        completed_tasks=10,
        failed_tasks=2,
        messages_sent=8,
        conversions_achieved=1,
        total_cost=4.0,
    )
    page = await campaign_view.list_page(conn, ListCampaigns(search="Scripted", limit=100))
    (listed,) = [c for c in page.campaigns if c.id == campaign]
    assert listed.statistics == detail.statistics
    # Even recipients got the original (0, 2, 4, 6, 8 all delivered), odd ones B (1, 5, 9
    # delivered; 3 and 7 failed); n=8 clicked the original, n=1 clicked B, n=9 converted.
    (test,) = detail.ab_tests
    original, b = test.variants
    assert (original.recipients, original.clicked, original.converted) == (5, 1, 0)
    assert (b.recipients, b.clicked, b.converted, b.revenue) == (3, 1, 1, 40.0)
    assert test.significance is not None and test.significance.metric == "conversionRate"
