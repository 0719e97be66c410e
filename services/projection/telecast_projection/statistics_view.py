"""Statistics and progress of a campaign, answered from the pre-aggregated delivery tables
(``delivery_view``): each answer reads a handful of rows, never the deliveries.

What the figures mean:
- ``messagesSent``: messages the dispatcher finished with (``delivered`` + failed);
  ``delivered``: messages Telegram took. ``read``, ``clicked``, ``converted``: recipients
  who read, clicked, converted (each counted once); ``revenue``: the sum of conversions.
- Rates are percentages with one decimal: delivery = delivered / messagesSent; read, click
  and conversion = recipients who did it / recipients delivered to.
- The timeline has a point per hour for ``1h`` and ``24h``, per day (UTC) otherwise, for
  the hours or days of the period that saw an event; ``all`` spans the whole campaign.
- Progress counts messages (recipients times the campaign's messages): ``total`` is known
  once the audience is planned (``execution.planned``), 0 before. ``currentRate`` is the
  messages finished per second over the last 10 seconds while the campaign runs;
  ``estimatedCompletion`` is now plus what remains at that rate (none while paused or
  before the total is known).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from telecast_libs.contracts.views import (
    CampaignProgress,
    CampaignStatisticsReport,
    ErrorCount,
    Overview,
    Performance,
    ProgressCounts,
    SegmentPerformance,
    SegmentStatistics,
    TimelinePoint,
)

PERIODS = ("1h", "24h", "7d", "30d", "all")
SECTIONS = ("overview", "performance", "timeline", "segments")
_PERIOD_LENGTH = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RATE_WINDOW_SECONDS = 10

# What a client sees as the status of an execution, by campaign status.
_PROGRESS_STATUS = {
    "draft": "not_started",
    "scheduled": "scheduled",
    "active": "running",
    "paused": "paused",
    "completed": "completed",
    "cancelled": "cancelled",
}

_STATS_COLUMNS = (
    "planned_deliveries, processed, delivered, delivered_recipients, failed, readers, "
    "clickers, converters, revenue, cost"
)


def _now() -> datetime:
    return datetime.now(UTC)


def percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


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


async def _stats(conn: psycopg.AsyncConnection, campaign_id: str) -> dict[str, Any]:
    cursor = await conn.execute(
        f"SELECT {_STATS_COLUMNS} FROM projection.delivery_stats WHERE campaign_id = %s",
        (campaign_id,),
    )
    row = await cursor.fetchone()
    names = [name.strip() for name in _STATS_COLUMNS.split(",")]
    if row is None:
        return dict.fromkeys(names, 0) | {"planned_deliveries": None}
    return dict(zip(names, row, strict=True))


async def statistics(
    conn: psycopg.AsyncConnection,
    campaign_id: str,
    period: str,
    metrics: list[str] | None,
    now: datetime | None = None,
) -> CampaignStatisticsReport | None:
    found = await _campaign(conn, campaign_id)
    if found is None:
        return None
    wanted = set(metrics or SECTIONS)
    stats = await _stats(conn, campaign_id)
    recipients = stats["delivered_recipients"]
    report = CampaignStatisticsReport()
    if "overview" in wanted:
        report.overview = Overview(
            messages_sent=stats["processed"],
            delivered=stats["delivered"],
            read=stats["readers"],
            clicked=stats["clickers"],
            converted=stats["converters"],
            revenue=float(stats["revenue"]),
        )
    if "performance" in wanted:
        report.performance = Performance(
            delivery_rate=percent(stats["delivered"], stats["processed"]),
            read_rate=percent(stats["readers"], recipients),
            click_rate=percent(stats["clickers"], recipients),
            conversion_rate=percent(stats["converters"], recipients),
        )
    if "timeline" in wanted:
        report.timeline = await _timeline(conn, campaign_id, period, now or _now())
    if "segments" in wanted:
        report.segments = await _segments(conn, campaign_id, found[1] or [])
    return report


async def _timeline(
    conn: psycopg.AsyncConnection, campaign_id: str, period: str, now: datetime
) -> list[TimelinePoint]:
    hourly = period in ("1h", "24h")
    length = _PERIOD_LENGTH.get(period)
    since = now - length if length is not None else datetime(1970, 1, 1, tzinfo=UTC)
    if hourly:
        # The hour that contains the start of the period is part of it.
        since = since.replace(minute=0, second=0, microsecond=0)
    cursor = await conn.execute(
        """
        SELECT date_trunc(%s, hour AT TIME ZONE 'UTC') AS bucket,
               sum(processed), sum(delivered), sum(conversions)
        FROM projection.delivery_hours
        WHERE campaign_id = %s AND hour >= %s AND hour <= %s
        GROUP BY bucket ORDER BY bucket
        """,
        ("hour" if hourly else "day", campaign_id, since, now),
    )
    return [
        TimelinePoint(
            date=bucket.strftime("%Y-%m-%dT%H:00:00Z" if hourly else "%Y-%m-%d"),
            sent=int(sent),
            delivered=int(delivered),
            conversions=int(conversions),
        )
        for bucket, sent, delivered, conversions in await cursor.fetchall()
    ]


async def _segments(
    conn: psycopg.AsyncConnection, campaign_id: str, targeted: list[str]
) -> list[SegmentStatistics]:
    """The campaign's segments, in its order, then any other segment a delivery named."""
    cursor = await conn.execute(
        "SELECT segment_id, delivered, recipients, converters FROM projection.delivery_segments "
        "WHERE campaign_id = %s ORDER BY segment_id",
        (campaign_id,),
    )
    counted = {row[0]: row[1:] for row in await cursor.fetchall()}
    order = list(dict.fromkeys([*targeted, *counted]))
    names: dict[str, str] = {}
    ids = [segment for segment in order if _is_uuid(segment)]
    if ids:
        cursor = await conn.execute(
            "SELECT id::text, name FROM projection.segments WHERE id = ANY(%s::uuid[])", (ids,)
        )
        names = dict(await cursor.fetchall())
    segments = []
    for segment in order:
        delivered, recipients, converters = counted.get(segment, (0, 0, 0))
        segments.append(
            SegmentStatistics(
                segment_id=segment,
                name=names.get(segment),
                performance=SegmentPerformance(
                    sent=int(delivered), conversion_rate=percent(converters, recipients)
                ),
            )
        )
    return segments


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def progress(
    conn: psycopg.AsyncConnection, campaign_id: str, now: datetime | None = None
) -> CampaignProgress | None:
    found = await _campaign(conn, campaign_id)
    if found is None:
        return None
    now = now or _now()
    status = _PROGRESS_STATUS[found[0]]
    stats = await _stats(conn, campaign_id)
    processed, failed = stats["processed"], stats["failed"]
    total = stats["planned_deliveries"] or 0
    rate = 0.0
    if status == "running":
        # The last ten whole seconds (the one under way is not over yet).
        end = now.replace(microsecond=0)
        cursor = await conn.execute(
            "SELECT coalesce(sum(processed), 0) FROM projection.delivery_seconds "
            "WHERE campaign_id = %s AND second >= %s AND second < %s",
            (campaign_id, end - timedelta(seconds=RATE_WINDOW_SECONDS), end),
        )
        (recent,) = await cursor.fetchone()
        rate = round(float(recent) / RATE_WINDOW_SECONDS, 1)
    estimated = None
    if status == "running" and rate > 0 and total > processed:
        estimated = (now + timedelta(seconds=(total - processed) / rate)).replace(microsecond=0)
    cursor = await conn.execute(
        "SELECT code, count, message FROM projection.delivery_errors WHERE campaign_id = %s "
        "ORDER BY count DESC, code",
        (campaign_id,),
    )
    errors = [
        ErrorCount(code=code, count=count, message=message)
        for code, count, message in (await cursor.fetchall())
    ]
    return CampaignProgress(
        status=status,
        progress=ProgressCounts(
            percentage=min(100.0, percent(processed, total)),
            processed=processed,
            total=max(total, processed),
            successful=stats["delivered"],
            failed=failed,
        ),
        current_rate=rate,
        estimated_completion=estimated,
        errors=errors,
    )
