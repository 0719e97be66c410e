"""The Segment aggregate: a named, reusable filter over contacts.

Its filter is validated when it is written and stored in canonical form, so every reader
(counts, campaign audiences, executions) parses a filter that is known to be good.
Deleting a segment is an event like any other; a campaign already running keeps the filter
its execution recorded when it started.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from telecast_campaign.domain.errors import StaleVersion, ValidationFailed
from telecast_campaign.domain.filters import Expr, parse, to_json
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.segments import SEGMENT_NOT_FOUND, SegmentChanges, SegmentDefinition


class SegmentNotFound(Problem):
    code = SEGMENT_NOT_FOUND


def _canonical(raw: dict[str, Any]) -> dict[str, Any]:
    return to_json(parse(raw, "filter"))


class Segment(Aggregate):
    """A segment. Public methods check the rules; ``@event`` methods record."""

    @classmethod
    def create(
        cls,
        definition: SegmentDefinition,
        created_by: str,
        meta: dict[str, Any],
        segment_id: uuid.UUID | None = None,
    ) -> Segment:
        return cls._create(
            cls.Created,
            id=segment_id or uuid.uuid4(),
            name=definition.name,
            description=definition.description,
            filter=_canonical(definition.filter),
            created_by=created_by,
            meta=meta,
        )

    @event("Created")
    def __init__(
        self,
        name: str,
        description: str | None,
        filter: dict[str, Any],
        created_by: str,
        meta: dict[str, Any],
    ) -> None:
        self.name = name
        self.description = description
        self.filter = filter
        self.created_by = created_by
        self.deleted = False

    @property
    def expression(self) -> Expr:
        """The filter as a tree (it was validated when written)."""
        return parse(self.filter)

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"segment is at version {self.version}, not {expected}",
                details={"currentVersion": self.version},
            )

    def update(self, changes: SegmentChanges, meta: dict[str, Any]) -> None:
        changed = to_builtins(changes)
        if not changed:
            raise ValidationFailed("nothing to change: the body names no field")
        if "filter" in changed:
            changed["filter"] = _canonical(changed["filter"])
        current = {"name": self.name, "description": self.description, "filter": self.filter}
        effective = {key: value for key, value in changed.items() if current[key] != value}
        if effective:
            self._updated(changes=effective, meta=meta)

    @event("Updated")
    def _updated(self, changes: dict[str, Any], meta: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def delete(self, meta: dict[str, Any]) -> None:
        self._deleted(meta=meta)

    @event("Deleted")
    def _deleted(self, meta: dict[str, Any]) -> None:
        self.deleted = True
