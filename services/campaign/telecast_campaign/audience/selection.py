"""Selecting contacts: segment counts, filter estimates, campaign audience counts and
previews, and the pages of an execution's audience that the dispatcher reads.

Filters come from the event store (a segment's filter, the audience an execution recorded
when it started), read through the ``Campaigns`` application in a worker thread; contacts
come from ``campaign.contacts``. Opted-out and blocked contacts never count and are never
selected; ``total`` in a count says how many match before leaving them out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from eventsourcing.application import AggregateNotFoundError
from prometheus_client import Counter
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from telecast_campaign.application import Campaigns
from telecast_campaign.audience.endpoint import handles
from telecast_campaign.audience.filter_sql import to_sql
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import CampaignNotFound, ValidationFailed
from telecast_campaign.domain.filters import Expr, parse
from telecast_campaign.domain.segment import Segment, SegmentNotFound
from telecast_campaign.segment_commands import audience_of
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.segments import (
    EXCLUDED,
    EXECUTION_NOT_FOUND,
    AudienceContact,
    AudienceCount,
    AudiencePage,
    AudiencePreview,
    AudienceRange,
    AudienceRanges,
    CountCampaignAudience,
    CountSegment,
    EstimateFilter,
    PreviewCampaignAudience,
    ReadAudiencePage,
    ReadAudienceRanges,
)
from telecast_libs.log import get_logger

log = get_logger(__name__)

PAGED = Counter("telecast_audience_paged_contacts_total", "Contacts served in audience pages")

A = TypeVar("A", Campaign, Segment)

# A count that takes longer than this is cut short (the gateway stops waiting at 5 s).
STATEMENT_TIMEOUT_MS = 4500
PREVIEW_SAMPLE = 10
_REACHABLE = sql.SQL("NOT opted_out AND NOT blocked")
# ``id`` as the uuid it is: ``ORDER BY id`` must walk the primary key, not sort text.
_MESSAGE_FIELDS = sql.SQL(
    "id, telegram_id, chat_type, username, first_name, last_name, language_code, "
    "location, age, last_purchase, attributes"
)

_application: Campaigns | None = None


def use_application(app: Campaigns) -> None:
    """Give the handlers the event store (called once by the service's bootstrap)."""
    global _application
    _application = app


def _app() -> Campaigns:
    if _application is None:
        raise RuntimeError("audience selection needs use_application() at start")
    return _application


# Reading aggregates (in a worker thread) ------------------------------------------------


def _aggregate(kind: type[A], aggregate_id: str, not_found: type[Problem]) -> A:
    noun = kind.__name__.lower()
    try:
        found = _app().repository.get(uuid.UUID(aggregate_id))
    except (ValueError, AggregateNotFoundError):
        raise not_found(f"{noun} {aggregate_id} does not exist") from None
    if not isinstance(found, kind) or found.deleted:
        raise not_found(f"{noun} {aggregate_id} does not exist")
    return found


def _segment_or_none(segment_id: str) -> Segment | None:
    try:
        found = _app().repository.get(uuid.UUID(segment_id))
    except (ValueError, AggregateNotFoundError):
        return None
    return found if isinstance(found, Segment) else None


@dataclass(frozen=True)
class Scope:
    """Which contacts a request is about: a filter, and for an execution the bounds its
    start set (contacts created after it are not in it; a sample of ``percentage``)."""

    filter: Expr
    started_at: datetime | None = None
    execution_id: str | None = None
    percentage: int = 100
    # An execution's segments (id, filter): each contact read says which it is in.
    segments: tuple[tuple[str, Expr], ...] = ()

    def condition(self) -> tuple[sql.Composable, list[Any]]:
        condition, params = to_sql(self.filter)
        parts = [condition]
        if self.started_at is not None:
            parts.append(sql.SQL("created_at <= %s::timestamptz"))
            params.append(self.started_at)
        if self.execution_id is not None and self.percentage < 100:
            # Deterministic per (contact, execution): every page and every replica agrees.
            parts.append(sql.SQL("(hashtextextended(id::text || %s, 0) & 2147483647) %% 100 < %s"))
            params.extend([self.execution_id, self.percentage])
        return sql.SQL(" AND ").join(parts), params


@lru_cache(maxsize=256)
def _execution_scope(campaign_id: str, execution_id: str) -> Scope:
    # Cached: what an execution recorded at its start never changes.
    campaign = _aggregate(Campaign, campaign_id, CampaignNotFound)
    execution = campaign.execution or {}
    if execution.get("executionId") != execution_id:
        raise Problem(
            f"campaign {campaign_id} has no execution {execution_id}",
            code=EXECUTION_NOT_FOUND,
        )
    if campaign.audience is None:
        raise Problem(
            f"execution {execution_id} has not started (or started before audiences were recorded)",
            code=EXECUTION_NOT_FOUND,
        )
    return _started_scope(campaign)


def _started_scope(campaign: Campaign) -> Scope:
    assert campaign.execution is not None and campaign.audience is not None
    return Scope(
        filter=parse(campaign.audience["filter"]),
        started_at=datetime.fromisoformat(campaign.execution["startedAt"]),
        execution_id=campaign.execution["executionId"],
        percentage=campaign.execution.get("targetPercentage", 100),
        # Executions recorded before segment filters were kept attribute to no segment.
        segments=tuple(
            (segment["id"], parse(segment["filter"]))
            for segment in campaign.audience.get("segments") or ()
            if "filter" in segment
        ),
    )


def _campaign_scope(campaign_id: str) -> Scope:
    """The started execution's audience; before a start, the one the campaign describes."""
    campaign = _aggregate(Campaign, campaign_id, CampaignNotFound)
    if campaign.audience is not None:
        return _started_scope(campaign)
    return Scope(audience_of(campaign.content, _segment_or_none, strict=False).filter())


def _segment_filter(segment_id: str) -> Expr:
    return _aggregate(Segment, segment_id, SegmentNotFound).expression


# Queries ---------------------------------------------------------------------------------


async def _fetch(
    pool: AsyncConnectionPool, query: sql.Composable, params: list[Any]
) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        try:
            cursor = await conn.execute(query, params)
        except psycopg.errors.QueryCanceled:
            raise Problem(
                "counting this audience took too long; narrow the filter",
                code=ErrorCode.SERVICE_UNAVAILABLE,
            ) from None
        return await cursor.fetchall()


async def _count(pool: AsyncConnectionPool, scope: Scope) -> AudienceCount:
    condition, params = scope.condition()
    query = sql.SQL(
        "SELECT count(*) FILTER (WHERE {reachable}), count(*) FROM campaign.contacts "
        "WHERE {condition}"
    ).format(reachable=_REACHABLE, condition=condition)
    started = time.perf_counter()
    ((count, total),) = await _fetch(pool, query, params)
    log.debug("audience.counted", count=count, ms=round((time.perf_counter() - started) * 1000))
    return AudienceCount(count=count, total=total, excludes=list(EXCLUDED))


async def _contacts(
    pool: AsyncConnectionPool, scope: Scope, after: str | None, limit: int
) -> list[AudienceContact]:
    membership, select_params = _membership(scope.segments)
    condition, params = scope.condition()
    parts = [condition, _REACHABLE]
    if after is not None:
        parts.append(sql.SQL("id > %s::uuid"))
        params.append(after)
    query = sql.SQL("SELECT {}, {} FROM campaign.contacts WHERE {} ORDER BY id LIMIT %s").format(
        _MESSAGE_FIELDS, membership, sql.SQL(" AND ").join(parts)
    )
    rows = await _fetch(pool, query, [*select_params, *params, limit])
    return [
        AudienceContact(
            id=str(row[0]),
            telegram_id=row[1],
            chat_type=row[2],
            username=row[3],
            first_name=row[4],
            last_name=row[5],
            language_code=row[6],
            location=row[7],
            age=row[8],
            last_purchase=row[9],
            attributes=row[10],
            segments=row[11],
        )
        for row in rows
    ]


def _membership(segments: tuple[tuple[str, Expr], ...]) -> tuple[sql.Composable, list[Any]]:
    """The ids of the segments a contact is in, as a text array column."""
    if not segments:
        return sql.SQL("ARRAY[]::text[]"), []
    cases, params = [], []
    for segment_id, expr in segments:
        condition, condition_params = to_sql(expr)
        cases.append(sql.SQL("CASE WHEN {} THEN %s END").format(condition))
        params += [*condition_params, segment_id]
    return sql.SQL("array_remove(ARRAY[{}]::text[], NULL)").format(
        sql.SQL(", ").join(cases)
    ), params


# Counts for the command side ----------------------------------------------------------

# A count carried by an event is made while its command is decided, so it must be quick: one
# that takes longer is left out (the list then shows no totalCount for that campaign).
CARRIED_COUNT_TIMEOUT_MS = 1000


class ContactCounter:
    """Counts an audience's reachable contacts for the events that carry the count (the
    commands are decided in a worker thread: this is synchronous, on a small pool of its
    own). The domain's ``AudienceCounts`` are made of it in ``campaign_commands``."""

    def __init__(self, database_url: str, timeout_ms: int = CARRIED_COUNT_TIMEOUT_MS) -> None:
        self.timeout_ms = timeout_ms
        # One connection is enough (one worker thread decides the batches); none is held
        # while no campaign is being saved.
        self._pool = ConnectionPool(
            database_url, min_size=0, max_size=1, max_idle=60, name="campaign-counts", open=True
        )

    def count(self, scope: Scope) -> int | None:
        """The reachable contacts of ``scope``; None when counting takes too long or fails
        (a count is a convenience of the list: it never holds a command back)."""
        condition, params = scope.condition()
        query = sql.SQL("SELECT count(*) FROM campaign.contacts WHERE {} AND {}").format(
            condition, _REACHABLE
        )
        try:
            with self._pool.connection(timeout=2) as conn, conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {self.timeout_ms}")
                row = conn.execute(query, params).fetchone()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            log.warning("audience.count_skipped", error=repr(error))
            return None
        return int(row[0]) if row is not None else None

    def close(self) -> None:
        self._pool.close()


@handles(CountSegment)
async def count_segment(pool: AsyncConnectionPool, request: CountSegment) -> AudienceCount:
    expr = await asyncio.to_thread(_segment_filter, request.segment_id)
    return await _count(pool, Scope(expr))


@handles(EstimateFilter)
async def estimate(pool: AsyncConnectionPool, request: EstimateFilter) -> AudienceCount:
    return await _count(pool, Scope(parse(request.filter, "filter")))


@handles(CountCampaignAudience)
async def count_campaign(
    pool: AsyncConnectionPool, request: CountCampaignAudience
) -> AudienceCount:
    scope = await asyncio.to_thread(_campaign_scope, request.campaign_id)
    return await _count(pool, scope)


@handles(PreviewCampaignAudience)
async def preview(pool: AsyncConnectionPool, request: PreviewCampaignAudience) -> AudiencePreview:
    scope = await asyncio.to_thread(_campaign_scope, request.campaign_id)
    counted = await _count(pool, scope)
    sample = await _contacts(pool, scope, None, PREVIEW_SAMPLE)
    return AudiencePreview(
        count=counted.count, total=counted.total, excludes=counted.excludes, sample=sample
    )


def _after(after: str | None) -> str | None:
    if after is not None:
        try:
            uuid.UUID(after)
        except ValueError:
            raise ValidationFailed(
                "after: not a contact id from a previous page",
                details=[{"field": "after", "message": "must be a contact id"}],
            ) from None
    return after


@handles(ReadAudiencePage)
async def page(pool: AsyncConnectionPool, request: ReadAudiencePage) -> AudiencePage:
    _after(request.after)
    scope = await asyncio.to_thread(_execution_scope, request.campaign_id, request.execution_id)
    contacts = await _contacts(pool, scope, request.after, request.limit)
    PAGED.inc(len(contacts))
    log.info(
        "audience.page",
        execution_id=request.execution_id,
        after=request.after,
        contacts=len(contacts),
    )
    more = len(contacts) == request.limit
    return AudiencePage(contacts=contacts, next=contacts[-1].id if more else None)


@handles(ReadAudienceRanges)
async def ranges(pool: AsyncConnectionPool, request: ReadAudienceRanges) -> AudienceRanges:
    """Ids only, cut into pages here: the planner learns where each page ends without
    receiving the contacts (the replica that sends a page reads them)."""
    after = _after(request.after)
    scope = await asyncio.to_thread(_execution_scope, request.campaign_id, request.execution_id)
    condition, params = scope.condition()
    parts = [condition, _REACHABLE]
    if after is not None:
        parts.append(sql.SQL("id > %s::uuid"))
        params.append(after)
    wanted = request.size * request.pages
    query = sql.SQL("SELECT id FROM campaign.contacts WHERE {} ORDER BY id LIMIT %s").format(
        sql.SQL(" AND ").join(parts)
    )
    ids = [row[0] for row in await _fetch(pool, query, [*params, wanted])]
    pages = [ids[start : start + request.size] for start in range(0, len(ids), request.size)]
    return AudienceRanges(
        ranges=[AudienceRange(upto=str(page[-1]), count=len(page)) for page in pages],
        next=str(ids[-1]) if len(ids) == wanted else None,
    )
