"""Statistics and progress of a campaign, answered from the pre-aggregated delivery tables
(``delivery_view``): each answer reads a handful of rows, never the deliveries.

What the figures mean:
- ``messagesSent``: messages the dispatcher finished with (``delivered`` + failed);
  ``delivered``: messages Telegram took. ``read``, ``clicked``, ``converted``: recipients
  who read, clicked, converted (each counted once); ``revenue``: the sum of conversions.
- Rates are percentages with one decimal: delivery = delivered / messagesSent; read, click
  and conversion = recipients who did it / recipients delivered to.
- ``period`` bounds every figure, by the hour: ``24h`` counts the events from the start of
  the hour that contains now - 24 h until now (so the overview equals the sum of the
  timeline); ``all`` is the whole campaign. A recipient who read, clicked or converted
  counts in the period of their first such event.
- The timeline has a point per hour for ``1h`` and ``24h``, per day (UTC) otherwise, for
  the hours or days of the period that saw an event.
- Progress counts messages (recipients times the campaign's messages): ``total`` is known
  once the audience is planned (``execution.planned``), 0 before. ``currentRate`` is the
  messages finished per second over the last 10 seconds while the campaign runs;
  ``estimatedCompletion`` is now plus what remains at that rate (none while paused or
  before the total is known).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
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
    StatisticsBaseline,
    TimelinePoint,
    statistics_selection,
)
from telecast_libs.estimates import estimated_completion

PERIODS = ("1h", "24h", "7d", "30d", "all")
T = TypeVar("T", bound=msgspec.Struct)
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


def period_start(period: str, now: datetime) -> datetime:
    """The first moment ``period`` counts: the start of the hour that contains now minus
    its length (the epoch for ``all``)."""
    length = _PERIOD_LENGTH.get(period)
    if length is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return (now - length).replace(minute=0, second=0, microsecond=0)


def _kept(struct: type[T], figures: dict[str, Any], keep: frozenset[str] | None) -> T:
    """``struct`` with the figures ``metrics`` asked for (all when ``keep`` is None)."""
    return msgspec.convert(
        {name: value for name, value in figures.items() if keep is None or name in keep}, struct
    )


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
    now = now or _now()
    since = period_start(period, now)
    wanted = statistics_selection(metrics)
    report = CampaignStatisticsReport()
    if "overview" in wanted or "performance" in wanted:
        # The whole campaign is its running totals: one row, the same sums as its hours.
        totals = await (
            _stats(conn, campaign_id) if period == "all" else _totals(conn, campaign_id, since, now)
        )
        recipients = totals["delivered_recipients"]
        if "overview" in wanted:
            overview = {
                "messagesSent": totals["processed"],
                "delivered": totals["delivered"],
                "read": totals["readers"],
                "clicked": totals["clickers"],
                "converted": totals["converters"],
                "revenue": float(totals["revenue"]),
            }
            report.overview = _kept(Overview, overview, wanted["overview"])
        if "performance" in wanted:
            performance = {
                "deliveryRate": percent(totals["delivered"], totals["processed"]),
                "readRate": percent(totals["readers"], recipients),
                "clickRate": percent(totals["clickers"], recipients),
                "conversionRate": percent(totals["converters"], recipients),
            }
            report.performance = _kept(Performance, performance, wanted["performance"])
    if "timeline" in wanted:
        report.timeline = await _timeline(conn, campaign_id, period, since, now)
    if "segments" in wanted:
        report.segments = await _segments(conn, campaign_id, found[1] or [], since, now)
    report.baseline = await _baseline(conn, campaign_id)
    return report


_TOTALS = ("processed", "delivered", "delivered_recipients", "readers", "clickers", "converters")


async def _totals(
    conn: psycopg.AsyncConnection, campaign_id: str, since: datetime, now: datetime
) -> dict[str, Any]:
    """The period's sums, from the same hours as the timeline."""
    cursor = await conn.execute(
        f"""
        SELECT {", ".join(f"coalesce(sum({c}), 0)" for c in _TOTALS)}, coalesce(sum(revenue), 0)
        FROM projection.delivery_hours
        WHERE campaign_id = %s AND hour >= %s AND hour <= %s
        """,
        (campaign_id, since, now),
    )
    row = await cursor.fetchone()
    assert row is not None
    return {name: int(value) for name, value in zip(_TOTALS, row, strict=False)} | {
        "revenue": row[-1]
    }


async def _baseline(conn: psycopg.AsyncConnection, campaign_id: str) -> StatisticsBaseline | None:
    """What a clone made with resetStatistics false carries: its source's figures at the
    clone, shown apart from its own (so not limited by the period: they are all-time)."""
    cursor = await conn.execute(
        "SELECT baseline FROM projection.campaigns WHERE id = %s", (campaign_id,)
    )
    row = await cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return msgspec.convert(row[0], StatisticsBaseline)


async def _timeline(
    conn: psycopg.AsyncConnection, campaign_id: str, period: str, since: datetime, now: datetime
) -> list[TimelinePoint]:
    hourly = period in ("1h", "24h")
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
    conn: psycopg.AsyncConnection,
    campaign_id: str,
    targeted: list[str],
    since: datetime,
    now: datetime,
) -> list[SegmentStatistics]:
    """The campaign's segments, in its order, then any other segment a delivery named (in
    any period: a segment the campaign delivered to is listed, with zeros when the period
    saw nothing of it)."""
    cursor = await conn.execute(
        """
        SELECT segment_id,
               coalesce(sum(delivered) FILTER (WHERE hour >= %s AND hour <= %s), 0)::bigint,
               coalesce(sum(recipients) FILTER (WHERE hour >= %s AND hour <= %s), 0)::bigint,
               coalesce(sum(converters) FILTER (WHERE hour >= %s AND hour <= %s), 0)::bigint
        FROM projection.delivery_segments
        WHERE campaign_id = %s GROUP BY segment_id ORDER BY segment_id
        """,
        (since, now, since, now, since, now, campaign_id),
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
    estimated = estimated_completion(now, total - processed, rate) if status == "running" else None
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
