"""Statistics and progress of a campaign, answered from the read model.

No message is sent before the dispatcher exists, so every count here is a real zero, the
timeline has no point and no error has occurred; the shapes are the spec's, so that clients
can be written against them now. The dispatcher's delivery events will fill them.
"""

from __future__ import annotations

import uuid

import psycopg

from telecast_libs.contracts.views import (
    CampaignProgress,
    CampaignStatisticsReport,
    Overview,
    Performance,
    ProgressCounts,
    SegmentPerformance,
    SegmentStatistics,
)

PERIODS = ("1h", "24h", "7d", "30d", "all")
SECTIONS = ("overview", "performance", "timeline", "segments")

# What a client sees as the status of an execution, by campaign status.
_PROGRESS_STATUS = {
    "draft": "not_started",
    "scheduled": "scheduled",
    "active": "running",
    "paused": "paused",
    "completed": "completed",
    "cancelled": "cancelled",
}


async def _campaign(conn: psycopg.AsyncConnection, campaign_id: str) -> tuple | None:
    try:
        uuid.UUID(campaign_id)
    except ValueError:
        return None  # not a UUID: no campaign has that id
    cursor = await conn.execute(
        "SELECT status, content->'targetAudience'->'segments' FROM projection.campaigns "
        "WHERE id = %s AND deleted_at IS NULL",
        (campaign_id,),
    )
    return await cursor.fetchone()


async def statistics(
    conn: psycopg.AsyncConnection, campaign_id: str, period: str, metrics: list[str] | None
) -> CampaignStatisticsReport | None:
    found = await _campaign(conn, campaign_id)
    if found is None:
        return None
    wanted = set(metrics or SECTIONS)
    segments = found[1] or []
    return CampaignStatisticsReport(
        overview=Overview(0, 0, 0, 0, 0, 0.0) if "overview" in wanted else None,
        performance=Performance(0.0, 0.0, 0.0, 0.0) if "performance" in wanted else None,
        timeline=[] if "timeline" in wanted else None,
        segments=[
            SegmentStatistics(segment_id=segment, performance=SegmentPerformance(0, 0.0))
            for segment in segments
        ]
        if "segments" in wanted
        else None,
    )


async def progress(conn: psycopg.AsyncConnection, campaign_id: str) -> CampaignProgress | None:
    found = await _campaign(conn, campaign_id)
    if found is None:
        return None
    return CampaignProgress(
        status=_PROGRESS_STATUS[found[0]],
        progress=ProgressCounts(percentage=0, processed=0, total=0, successful=0, failed=0),
        current_rate=0,
        estimated_completion=None,
        errors=[],
    )
