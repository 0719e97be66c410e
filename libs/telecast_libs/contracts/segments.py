"""Segments and audiences: what clients send and receive, and the requests behind them.

A segment is a named filter over contacts (the filter language is described in
docs/audience.md; the campaign service validates it and answers 400 naming the path).
Segment commands go through the event store like campaign commands; counts, estimates,
previews and execution audience pages are answered by the campaign service straight from
the contacts table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import Description, Name
from telecast_libs.contracts.messages import CommandMeta, Request
from telecast_libs.contracts.views import Pagination

SEGMENT_NOT_FOUND = "SEGMENT_NOT_FOUND"
EXECUTION_NOT_FOUND = "EXECUTION_NOT_FOUND"

# A filter expression: {"and": [...]}, {"or": [...]}, {"not": …} or {"field", "op", "value"}.
Filter = dict[str, Any]
SegmentId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
MAX_PAGE = 5000


class SegmentDefinition(Wire, kw_only=True):
    """The body of create: a name, an optional description and the filter."""

    name: Name
    filter: Filter
    description: Description | None = None


class SegmentChanges(Wire, kw_only=True):
    """The body of update: only the fields present change."""

    name: Name | None = None
    description: Description | None = None
    filter: Filter | None = None


class FilterEstimate(Wire):
    """The body of POST /api/v1/segments/estimate."""

    filter: Filter


# Commands to the campaign service (event-sourced) ---------------------------------------


class CreateSegment(Request, tag="segment.create"):
    meta: CommandMeta
    definition: SegmentDefinition
    # Chosen by the caller for an idempotent retry (derived from the Idempotency-Key).
    segment_id: str | None = None


class UpdateSegment(Request, tag="segment.update"):
    meta: CommandMeta
    segment_id: str
    changes: SegmentChanges
    expected_version: int | None = None


class DeleteSegment(Request, tag="segment.delete"):
    meta: CommandMeta
    segment_id: str
    expected_version: int | None = None


SegmentCommand = CreateSegment | UpdateSegment | DeleteSegment


# Queries to the projection (the segment read model) -------------------------------------


class ListSegments(Request, tag="segment.list"):
    page: int = 1
    limit: int = 20
    search: str | None = None


class GetSegment(Request, tag="segment.get"):
    segment_id: str


SegmentQuery = ListSegments | GetSegment


class SegmentView(Wire, kw_only=True):
    id: str
    name: str
    filter: Filter
    version: int
    description: str | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class SegmentPage(Wire):
    segments: list[SegmentView]
    pagination: Pagination


class SegmentAccepted(Wire):
    """The answer to create and update."""

    id: str
    name: str
    version: int
    message: str


# Requests answered from the contacts table (the campaign service's audience endpoint) ---


class CountSegment(Request, tag="audience.count"):
    """The live count of a segment's contacts."""

    segment_id: str


class EstimateFilter(Request, tag="audience.estimate"):
    """The count an ad-hoc filter would have."""

    filter: Filter


class CountCampaignAudience(Request, tag="audience.campaign_count"):
    """A campaign's audience size: its execution's audience once started, else the audience
    its segments and filters describe now."""

    campaign_id: str


class PreviewCampaignAudience(Request, tag="audience.preview"):
    campaign_id: str


class ReadAudiencePage(Request, tag="audience.page"):
    """One page of an execution's audience, for the dispatcher (keyset pagination by id)."""

    execution_id: str
    campaign_id: str
    after: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = 1000


class ReadAudienceRanges(Request, tag="audience.ranges"):
    """How an execution's audience splits into pages, for the dispatcher's planner: from
    ``after`` on, up to ``pages`` consecutive pages of ``size`` contacts, each given by its
    last contact id and its size (keyset order, as ``audience.page`` reads them)."""

    execution_id: str
    campaign_id: str
    after: str | None = None
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = 500
    pages: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class AudienceRange(Wire):
    upto: str
    count: int


class AudienceRanges(Wire):
    """``next`` is the ``after`` of the following request; absent when the audience ends."""

    ranges: list[AudienceRange]
    next: str | None = None


# What every count leaves out (said in each answer, so that no one reads it as "matching").
EXCLUDED = ("optedOut", "blocked")


class AudienceCount(Wire):
    """``count``: contacts that match and can receive a message (opted-out and blocked ones
    are left out, as ``excludes`` says); ``total``: contacts that match, including those."""

    count: int
    total: int
    excludes: list[str]


class AudienceContact(Wire, kw_only=True):
    """What a message needs to know about its recipient."""

    id: str
    telegram_id: int
    chat_type: str
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    location: str | None = None
    age: int | None = None
    last_purchase: datetime | None = None
    attributes: dict[str, Any]
    # In an execution's audience page: which of the execution's segments the contact is in.
    segments: list[str] = []


class AudiencePage(Wire):
    """``next`` is the ``after`` of the following page; absent on the last page."""

    contacts: list[AudienceContact]
    next: str | None = None


class AudiencePreview(Wire):
    """The audience's size (as ``AudienceCount``) and up to ten of its contacts."""

    count: int
    total: int
    excludes: list[str]
    sample: list[AudienceContact]
