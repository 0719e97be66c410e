"""What queries answer: campaign list items, details, pages (the spec's response shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import (
    AudienceFilters,
    CampaignMessage,
    CampaignStatus,
    CampaignType,
    Goals,
    Strategy,
    Workflow,
)
from telecast_libs.contracts.errors import ErrorBody

T = TypeVar("T")


class CampaignStatistics(Wire):
    total_tasks: int
    completed_tasks: int
    failed_tasks: int
    messages_sent: int
    conversions_achieved: int
    total_cost: float


class AudienceSummary(Wire):
    segments: list[str]
    filters: AudienceFilters | None = None
    # Computed from the contacts of the segments once audiences exist; absent until then.
    total_count: int | None = None


class CampaignSummary(Wire, kw_only=True):
    id: str
    name: str
    type: CampaignType
    status: CampaignStatus
    version: int
    description: str | None = None
    goals: Goals | None = None
    target_audience: AudienceSummary
    strategy: Strategy | None = None
    budget: float | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    statistics: CampaignStatistics
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class CampaignDetail(CampaignSummary, kw_only=True):
    messages: list[CampaignMessage] = []
    workflow: Workflow | None = None


class Pagination(Wire):
    page: int
    limit: int
    total: int
    pages: int


class CampaignPage(Wire):
    campaigns: list[CampaignSummary]
    pagination: Pagination


class PositionReached(Wire):
    reached: bool


class QueryReply(Wire, Generic[T]):
    """A query's answer: ``data`` on success, ``error`` otherwise."""

    ok: bool
    data: T | None = None
    error: ErrorBody | None = None
