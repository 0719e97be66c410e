"""What queries answer: campaign list items, details, pages (the spec's response shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import (
    AudienceFilters,
    CampaignMessage,
    CampaignStatus,
    CampaignType,
    Goals,
    Invitation,
    Strategy,
    Workflow,
)


def _about(description: str) -> msgspec.Meta:
    """A field's description in the OpenAPI document."""
    return msgspec.Meta(description=description)


class CarriedStatistics(Wire, kw_only=True):
    """A clone's baseline in the list and the detail (see ``StatisticsBaseline``)."""

    campaign_id: Annotated[str, _about("The campaign these figures are from")]
    counted_at: Annotated[datetime, _about("When they were read: the moment of the clone")]
    total_tasks: int
    completed_tasks: int
    failed_tasks: int
    messages_sent: int
    conversions_achieved: int
    total_cost: float


class CampaignStatistics(Wire, kw_only=True):
    total_tasks: int
    completed_tasks: int
    failed_tasks: int
    messages_sent: int
    conversions_achieved: int
    total_cost: float
    baseline: (
        Annotated[
            CarriedStatistics,
            _about(
                "Cloned with resetStatistics false: the source's figures when it was cloned, "
                "carried apart (the figures above are this campaign's own)"
            ),
        ]
        | None
    ) = None


class AudienceSummary(Wire):
    segments: list[str]
    filters: AudienceFilters | None = None
    total_count: (
        Annotated[int, _about("Reachable contacts in the audience, as counted at countedAt")] | None
    ) = None
    counted_at: (
        Annotated[
            datetime,
            _about(
                "When totalCount was counted: the last save of the draft or the start of its "
                "execution. Absent in a detail that counted it now (it falls back to the "
                "carried count, with this, when it cannot)"
            ),
        ]
        | None
    ) = None


class CampaignSummary(Wire, kw_only=True):
    id: str
    name: str
    type: CampaignType
    status: CampaignStatus
    version: Annotated[
        int, _about("Increases with every change; the ETag, to send back in If-Match")
    ]
    description: str | None = None
    goals: Goals | None = None
    target_audience: AudienceSummary
    strategy: Strategy | None = None
    budget: float | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    statistics: CampaignStatistics
    created_by: Annotated[str, _about("The id of the operator who created it")] | None = None
    created_at: datetime
    updated_at: datetime


class Execution(Wire, kw_only=True):
    """The campaign's execution: how it was started and what happened to it since."""

    execution_id: str
    test_mode: bool
    target_percentage: int
    priority: str
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    # Once started: true when a scheduled execution started more than a second after its
    # time (the services were down at that moment).
    late: bool | None = None
    paused_at: datetime | None = None
    resumed_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    reason: str | None = None


class AbVariant(Wire, kw_only=True):
    """One arm of an A/B test: a variation, or the message's own content (``variationId``
    absent). Rates are percentages of ``recipients`` (those its message was delivered to)."""

    variation_id: str | None = None
    weight: int
    recipients: int
    clicked: int
    converted: int
    revenue: float
    click_rate: float
    conversion_rate: float


class AbSignificance(Wire, kw_only=True):
    """A two-proportion z-test between the two best arms on ``metric``."""

    metric: Annotated[str, _about("conversionRate, or clickRate when nothing converted")]
    z_score: float
    p_value: float
    significant: Annotated[bool, _about("p < 0.05")]


class AbTest(Wire, kw_only=True):
    """The variations of one campaign message, compared (``status``: draft, running,
    completed). ``winner`` is the best arm once the difference is significant (a variation
    id, or "original" for the message's own content)."""

    id: str
    name: str
    status: str
    message_id: str
    variants: list[AbVariant]
    significance: AbSignificance | None = None
    winner: str | None = None


class CampaignDetail(CampaignSummary, kw_only=True):
    messages: list[CampaignMessage] = []
    workflow: Workflow | None = None
    invitation: (
        Annotated[Invitation, _about("The chat an invitation campaign invites to")] | None
    ) = None
    execution: Annotated[Execution, _about("Present once executed or scheduled")] | None = None
    ab_tests: Annotated[
        list[AbTest], _about("One per message with variations: the arms' results compared")
    ] = []
    cloned_from: Annotated[str, _about("The id of the campaign this is a copy of")] | None = None


class Pagination(Wire):
    page: int
    limit: int
    total: int
    pages: int


class CampaignPage(Wire):
    campaigns: list[CampaignSummary]
    pagination: Pagination


class Overview(Wire):
    """Totals of the period; a figure is absent when ``metrics`` did not ask for it."""

    messages_sent: Annotated[int, _about("Messages finished with (delivered + failed)")] | None = (
        None
    )
    delivered: Annotated[int, _about("Messages Telegram took")] | None = None
    read: Annotated[int, _about("Recipients who read, by their first read")] | None = None
    clicked: Annotated[int, _about("Recipients who clicked, by their first click")] | None = None
    converted: Annotated[int, _about("Recipients who converted, by their first")] | None = None
    revenue: Annotated[float, _about("Sum of the conversions' revenue")] | None = None


class Performance(Wire):
    """Rates of the period in %; a rate is absent when ``metrics`` did not ask for it."""

    delivery_rate: Annotated[float, _about("delivered / messagesSent")] | None = None
    read_rate: Annotated[float, _about("read / recipients delivered to")] | None = None
    click_rate: Annotated[float, _about("clicked / recipients delivered to")] | None = None
    conversion_rate: Annotated[float, _about("converted / recipients delivered to")] | None = None


def _wire_names(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    return tuple(field.encode_name for field in msgspec.structs.fields(struct))


# What ``metrics`` on GET …/statistics may name: a section, or a figure of the overview or
# performance (that section then holds only the figures named).
STATISTICS_SECTIONS = ("overview", "performance", "timeline", "segments")
OVERVIEW_METRICS = _wire_names(Overview)
PERFORMANCE_METRICS = _wire_names(Performance)
STATISTICS_METRICS = (*STATISTICS_SECTIONS, *OVERVIEW_METRICS, *PERFORMANCE_METRICS)


def statistics_selection(metrics: list[str] | None) -> dict[str, frozenset[str] | None]:
    """The sections ``metrics`` asks for (None: all of them), each with the figures to keep
    (None: all). Names must come from ``STATISTICS_METRICS``."""
    if metrics is None:
        return dict.fromkeys(STATISTICS_SECTIONS)
    selection: dict[str, frozenset[str] | None] = {}
    for section, figures in (("overview", OVERVIEW_METRICS), ("performance", PERFORMANCE_METRICS)):
        named = frozenset(figures).intersection(metrics)
        if section in metrics:
            selection[section] = None
        elif named:
            selection[section] = named
    for section in ("timeline", "segments"):
        if section in metrics:
            selection[section] = None
    return selection


class TimelinePoint(Wire):
    date: Annotated[str, _about("The day or hour the point covers (hours for period 1h and 24h)")]
    sent: int
    delivered: int
    conversions: int


class SegmentPerformance(Wire):
    sent: int
    conversion_rate: float


class SegmentStatistics(Wire):
    segment_id: str
    performance: SegmentPerformance
    name: str | None = None


class StatisticsBaseline(Wire, kw_only=True):
    """What a clone made with ``resetStatistics: false`` carries: its source's figures as
    they were when it was cloned (all time). They are shown apart, never added into the
    clone's own figures, which start from zero."""

    campaign_id: Annotated[str, _about("The campaign these figures are from")]
    counted_at: Annotated[datetime, _about("When they were read: the moment of the clone")]
    overview: Overview
    performance: Performance
    statistics: Annotated[CampaignStatistics, _about("The list's figures of the source")]


class CampaignStatisticsReport(Wire):
    """GET …/statistics; a section is absent when ``metrics`` did not ask for it."""

    overview: Overview | None = None
    performance: Performance | None = None
    timeline: list[TimelinePoint] | None = None
    segments: list[SegmentStatistics] | None = None
    baseline: (
        Annotated[
            StatisticsBaseline,
            _about(
                "Cloned with resetStatistics false: the source's figures when it was cloned, "
                "apart from this campaign's own (whatever the period)"
            ),
        ]
        | None
    ) = None


class ProgressCounts(Wire):
    percentage: float
    processed: int
    total: int
    successful: int
    failed: int


class ErrorCount(Wire):
    code: str
    count: int
    message: str


class CampaignProgress(Wire, kw_only=True):
    """GET …/progress. ``status``: not_started, scheduled, running, paused, completed,
    cancelled."""

    status: Annotated[
        str, _about("not_started, scheduled, running, paused, completed or cancelled")
    ]
    progress: ProgressCounts
    current_rate: float
    estimated_completion: datetime | None = None
    errors: list[ErrorCount]


class ExecutionEstimate(Wire, kw_only=True):
    """The answer to ``EstimateExecution``: the execution's ``messages`` (recipients times
    the campaign's messages), the messages of running executions of the same or a higher
    priority still ``queued`` ahead of it, and when it completes (None when unknown)."""

    messages: int
    queued: int
    estimated_completion: datetime | None = None


class PositionReached(Wire):
    reached: bool
