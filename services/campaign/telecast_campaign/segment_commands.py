"""How segment commands are decided, and how a campaign's audience is looked up from its
segments (for its executions and its counts)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from telecast_campaign.application import Decision, Workspace
from telecast_campaign.domain.audience import Audience, SegmentFilter
from telecast_campaign.domain.segment import Segment, SegmentNotFound
from telecast_libs.contracts.segments import CreateSegment, DeleteSegment, UpdateSegment

# A segment by id: None when there is no segment with that id (deleted ones are returned).
SegmentLookup = Callable[[str], Segment | None]


def _decision(segment: Segment) -> Decision:
    return Decision(segment, segment.version, name=segment.name)


def create(workspace: Workspace, command: CreateSegment, meta: dict[str, Any]) -> Decision:
    existing = workspace.find(Segment, command.segment_id)
    if existing is not None:
        return _decision(existing)
    segment = Segment.create(
        command.definition,
        created_by=command.meta.actor.id,
        meta=meta,
        segment_id=uuid.UUID(command.segment_id) if command.segment_id else None,
    )
    return _decision(segment)


def update(workspace: Workspace, command: UpdateSegment, meta: dict[str, Any]) -> Decision:
    segment = _segment(workspace, command)
    segment.update(command.changes, meta=meta)
    return _decision(segment)


def delete(workspace: Workspace, command: DeleteSegment, meta: dict[str, Any]) -> Decision:
    segment = _segment(workspace, command)
    segment.delete(meta=meta)
    return _decision(segment)


def _segment(workspace: Workspace, command: UpdateSegment | DeleteSegment) -> Segment:
    segment = workspace.get(Segment, command.segment_id, SegmentNotFound)
    segment.check_version(command.expected_version)
    return segment


# Audiences ------------------------------------------------------------------------------


def workspace_lookup(workspace: Workspace) -> SegmentLookup:
    """Segments as the batch being decided sees them (its own earlier commands included)."""

    def lookup(segment_id: str) -> Segment | None:
        try:
            key = uuid.UUID(segment_id)
        except ValueError:
            return None
        found = workspace.touched.get(key)
        if found is None:
            try:
                found = workspace.app.repository.get(key)
            except AggregateNotFoundError:
                return None
        return found if isinstance(found, Segment) else None

    return lookup


def audience_of(content: dict[str, Any], lookup: SegmentLookup, *, strict: bool) -> Audience:
    """The audience a campaign's content describes, its segments looked up now.

    ``strict`` (starting a draft): a missing or deleted segment is refused with
    SEGMENT_NOT_FOUND naming it. Otherwise (a scheduled start, a count) it is skipped: it
    contributes no contact, and the recorded audience says which one and why.
    """
    target = content.get("targetAudience") or {}
    named = target.get("segments") or []
    if not named:
        return Audience(None, target.get("filters"))
    found: list[SegmentFilter] = []
    skipped: list[tuple[str, str]] = []
    for index, segment_id in enumerate(named):
        if segment_id in named[:index]:
            continue
        segment = lookup(segment_id)
        if segment is None or segment.deleted:
            reason = "missing" if segment is None else "deleted"
            if strict:
                field = f"targetAudience.segments[{index}]"
                raise SegmentNotFound(
                    f"{field}: segment {segment_id} "
                    f"{'does not exist' if segment is None else 'was deleted'}",
                    details={"field": field, "segmentId": segment_id, "reason": reason},
                )
            skipped.append((segment_id, reason))
            continue
        found.append(
            SegmentFilter(str(segment.id), segment.name, segment.version, segment.expression)
        )
    return Audience(tuple(found), target.get("filters"), tuple(skipped))
