"""A stored domain event as the relay publishes it: the typed event of
``telecast_libs.contracts.events`` its consumers decode."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.segment import Segment
from telecast_campaign.domain.template import Template
from telecast_libs.contracts.events import DomainEvent

# Event ids are derived, not random: a re-published event must carry the same id.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1d7f1e-6a43-4c55-9d0b-8c5e3f2a9b10")

WIRE_TYPES: dict[type, str] = {
    Campaign.Created: "campaign.created",
    Campaign.Updated: "campaign.updated",
    Campaign.Deleted: "campaign.deleted",
    Campaign.ExecutionScheduled: "campaign.scheduled",
    Campaign.ExecutionStarted: "campaign.started",
    Campaign.Paused: "campaign.paused",
    Campaign.Failed: "campaign.failed",
    Campaign.Resumed: "campaign.resumed",
    Campaign.Completed: "campaign.completed",
    Campaign.Cancelled: "campaign.cancelled",
    Segment.Created: "segment.created",
    Segment.Updated: "segment.updated",
    Segment.Deleted: "segment.deleted",
    Template.Created: "template.created",
    Template.Updated: "template.updated",
    Template.Deleted: "template.deleted",
}


def event_id(aggregate_id: uuid.UUID, version: int) -> str:
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}"))


def wire_type(domain_event: Any) -> str:
    # A copy is created like any campaign, but subscribers care that it is a copy.
    if isinstance(domain_event, Campaign.Created) and domain_event.cloned_from:
        return "campaign.cloned"
    return WIRE_TYPES[type(domain_event)]


def to_envelope(domain_event: Any, position: int) -> DomainEvent:
    meta = domain_event.meta
    envelope = {
        "type": wire_type(domain_event),
        "id": event_id(domain_event.originator_id, domain_event.originator_version),
        "aggregateId": str(domain_event.originator_id),
        "aggregateVersion": domain_event.originator_version,
        "occurredAt": domain_event.timestamp,
        "position": position,
        "correlationId": meta.get("correlationId"),
        "causationId": meta.get("causationId"),
        "actor": meta.get("actor"),
        "data": _data(domain_event),
    }
    return msgspec.convert(envelope, DomainEvent)


def _data(domain_event: Any) -> dict[str, Any]:
    if isinstance(domain_event, Campaign.Created):
        data = {"campaign": domain_event.content, "createdBy": domain_event.created_by}
        if domain_event.cloned_from:
            data["clonedFrom"] = domain_event.cloned_from
        return data | _present(domain_event, "audienceCount", attribute="audience_count")
    if isinstance(domain_event, Campaign.Updated):
        return {"changes": domain_event.changes} | _present(
            domain_event, "audienceCount", attribute="audience_count"
        )
    if isinstance(domain_event, Campaign.ExecutionScheduled):
        data = {"execution": domain_event.execution}
        if domain_event.messages is not None:
            data["messages"] = domain_event.messages
        return data
    if isinstance(domain_event, Campaign.ExecutionStarted):
        data = {
            "execution": {
                **domain_event.execution,
                "startedAt": domain_event.started_at,
                "late": domain_event.late,
            }
        }
        if domain_event.audience is not None:
            data["audience"] = domain_event.audience
        if domain_event.messages is not None:
            data["messages"] = domain_event.messages
        return data | _present(domain_event, "audienceCount", attribute="audience_count")
    if isinstance(domain_event, Campaign.Paused):
        return _present(domain_event, "reason", "code")
    if isinstance(domain_event, Campaign.Failed):
        return {
            "reason": domain_event.reason,
            "code": domain_event.code,
            "executionId": domain_event.execution_id,
        }
    if isinstance(domain_event, Campaign.Completed):
        return {"reason": domain_event.reason, **_present(domain_event, "code")}
    if isinstance(domain_event, Campaign.Cancelled):
        return {"reason": domain_event.reason}
    if isinstance(domain_event, Segment.Created):
        segment = {"name": domain_event.name, "filter": domain_event.filter}
        if domain_event.description is not None:
            segment["description"] = domain_event.description
        return {"segment": segment, "createdBy": domain_event.created_by}
    if isinstance(domain_event, Segment.Updated):
        return {"changes": domain_event.changes}
    if isinstance(domain_event, Template.Created):
        return {"template": domain_event.content, "createdBy": domain_event.created_by}
    if isinstance(domain_event, Template.Updated):
        return {"changes": domain_event.changes}
    return {}


def _present(domain_event: Any, *names: str, attribute: str | None = None) -> dict[str, Any]:
    """The optional attributes the event has. A stored event is restored with the attributes
    it was recorded with: one recorded before an attribute existed lacks it. ``attribute``:
    the Python name of a single attribute published under another name."""
    if attribute is not None:
        (name,) = names
        value = getattr(domain_event, attribute, None)
        return {name: value} if value is not None else {}
    values = {name: getattr(domain_event, name, None) for name in names}
    return {name: value for name, value in values.items() if value is not None}
