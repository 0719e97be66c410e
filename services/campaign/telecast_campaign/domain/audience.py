"""Who a campaign is for: the union of its segments' filters, narrowed by its own
``targetAudience.filters`` (and, in test mode, to test recipients). Pure: the caller looks
the segments up; opted-out and blocked contacts are left out where contacts are read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from telecast_campaign.domain.errors import ValidationFailed
from telecast_campaign.domain.filters import Expr, Or, all_of, parse, to_json


def campaign_filters(filters: dict[str, Any] | None) -> Expr | None:
    """The spec's ``targetAudience.filters`` keys in the filter language: ``location`` (in),
    ``ageRange`` (between), ``interests`` (any of), ``purchaseHistory`` (eq)."""
    filters = filters or {}
    predicates: list[Expr] = []
    for key, field, op in _CAMPAIGN_FILTERS:
        value = filters.get(key)
        if value is None or value == []:
            continue
        path = f"targetAudience.filters.{key}"
        try:
            predicates.append(parse({"field": field, "op": op, "value": value}))
        except ValidationFailed as refused:
            reason = refused.details[0]["message"]
            raise ValidationFailed(
                f"{path}: {reason}", details=[{"field": path, "message": reason}]
            ) from None
    return all_of(*predicates) if predicates else None


_CAMPAIGN_FILTERS = (
    ("location", "location", "in"),
    ("ageRange", "age", "between"),
    ("interests", "interests", "any"),
    ("purchaseHistory", "purchaseHistory", "eq"),
)

TEST_RECIPIENTS: Expr = parse({"field": "isTestRecipient", "op": "eq", "value": True})


@dataclass(frozen=True)
class SegmentFilter:
    """One of a campaign's segments, as it was when the audience was resolved."""

    id: str
    name: str
    version: int
    filter: Expr


@dataclass(frozen=True)
class Audience:
    """A campaign's audience definition: its segments (already looked up) and filters.

    ``segments`` is None when the campaign names no segment: it is then for every contact
    its filters let through. Otherwise it is for the contacts of at least one of them (none
    at all when every segment it names was ``skipped``: missing or deleted).
    """

    segments: tuple[SegmentFilter, ...] | None
    filters: dict[str, Any] | None = None
    # (segment id, "missing" or "deleted"): named by the campaign but not part of it.
    skipped: tuple[tuple[str, str], ...] = ()

    def filter(self, test_mode: bool = False) -> Expr:
        union: Expr | None = None
        if self.segments is not None:
            filters = tuple(segment.filter for segment in self.segments)
            union = filters[0] if len(filters) == 1 else Or(filters)
        test = TEST_RECIPIENTS if test_mode else None
        return all_of(union, campaign_filters(self.filters), test)

    def record(self, test_mode: bool) -> dict[str, Any]:
        """What an execution keeps, so that its audience never depends on later edits."""
        recorded: dict[str, Any] = {
            "filter": to_json(self.filter(test_mode)),
            # Each segment's filter too: a delivery says which of them its recipient is in.
            "segments": [
                {
                    "id": segment.id,
                    "name": segment.name,
                    "version": segment.version,
                    "filter": to_json(segment.filter),
                }
                for segment in self.segments or ()
            ],
        }
        if self.skipped:
            recorded["skipped"] = [{"id": sid, "reason": reason} for sid, reason in self.skipped]
        return recorded


# Looks a campaign's segments up as they are now and returns its audience. With True
# ("strict"), a segment that is missing or deleted is refused (SEGMENT_NOT_FOUND); with
# False it is skipped and the audience says so.
AudienceOf = Callable[[bool], Audience]


class AudienceCounts(Protocol):
    """How many reachable contacts an audience has now, for the event that carries it as
    ``{"totalCount", "countedAt"}`` (the campaign list shows it without counting); None
    when it cannot be counted in time. The caller counts; the domain says what and when."""

    def of_content(self, content: dict[str, Any]) -> dict[str, Any] | None:
        """The audience a campaign's (stored) content describes."""

    def of_execution(
        self, audience: dict[str, Any], execution: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The audience an execution recorded (``Audience.record``), within the bounds of
        the execution (its start, its ``targetPercentage``)."""


class NoCounts:
    """For callers that count nothing (tests of the rules): no event carries a count."""

    def of_content(self, content: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def of_execution(
        self, audience: dict[str, Any], execution: dict[str, Any]
    ) -> dict[str, Any] | None:
        return None
