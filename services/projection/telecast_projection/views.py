"""Which read model each event goes to, and which view answers each query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.events import DomainEvent
from telecast_libs.contracts.messages import (
    EstimateExecution,
    GetCampaign,
    GetProgress,
    GetStatistics,
    ListCampaigns,
)
from telecast_libs.contracts.segments import GetSegment, ListSegments
from telecast_libs.contracts.templates import GetTemplate, ListTemplates
from telecast_projection import (
    campaign_view,
    execution_estimate,
    segment_view,
    statistics_view,
    template_view,
)

Apply = Callable[[psycopg.AsyncConnection, Any], Awaitable[None]]
Answer = Callable[[psycopg.AsyncConnection, Any], Awaitable[Any]]

# By the aggregate the event is about ("campaign" in "campaign.created").
APPLIERS: dict[str, Apply] = {
    "campaign": campaign_view.apply,
    "template": template_view.apply,
    "segment": segment_view.apply,
}


def _campaign_must_exist(answer: Answer) -> Answer:
    async def answer_or_refuse(conn: psycopg.AsyncConnection, query: Any) -> Any:
        found = await answer(conn, query)
        if found is None:
            raise Problem(
                f"campaign {query.campaign_id} does not exist",
                code=ErrorCode.CAMPAIGN_NOT_FOUND,
            )
        return found

    return answer_or_refuse


# Each answer returns the reply's data or raises a Problem (not found, invalid).
ANSWERS: dict[type, Answer] = {
    ListCampaigns: campaign_view.list_page,
    GetCampaign: _campaign_must_exist(lambda conn, q: campaign_view.get(conn, q.campaign_id)),
    GetStatistics: _campaign_must_exist(
        lambda conn, q: statistics_view.statistics(conn, q.campaign_id, q.period, q.metrics)
    ),
    GetProgress: _campaign_must_exist(
        lambda conn, q: statistics_view.progress(conn, q.campaign_id)
    ),
    EstimateExecution: _campaign_must_exist(
        lambda conn, q: execution_estimate.estimate(conn, q.campaign_id, q.recipients, q.rate)
    ),
    ListTemplates: template_view.list_page,
    GetTemplate: lambda conn, q: template_view.get(conn, q.template_id),
    ListSegments: segment_view.list_page,
    GetSegment: lambda conn, q: segment_view.get(conn, q.segment_id),
}


async def apply(conn: psycopg.AsyncConnection, event: DomainEvent) -> None:
    applier = APPLIERS.get(event.aggregate)
    if applier is not None:
        await applier(conn, event)
