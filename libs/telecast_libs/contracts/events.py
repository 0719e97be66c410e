"""The events the campaign service publishes on the campaign stream: one struct per event
type, a union tagged on ``type``, and the campaign status each lifecycle event leads to.

Producers build these structs (``telecast_campaign.events``); the projection, the
dispatcher's intake, halts and webhooks decode ``DomainEvent`` and match on the class.

Two rules make the stream safe to read for as long as it is kept:
- A tolerant reader: an event struct ignores fields it does not know (a newer producer may
  add one before every consumer is upgraded), and what an older event lacks has a default.
- Recorded documents stay documents. A campaign's content, a template, a segment's filter,
  a change set, an execution's audience and messages are carried as the JSON objects the
  campaign service recorded (each the stored form of its request contract in
  ``contracts/``). Request contracts carry input rules (lengths, ranges) that may tighten
  later; an event that was valid when it was recorded must stay readable, so events never
  check a document against today's request rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, get_args

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.messages import Actor

JSON = dict[str, Any]


class EventData(Wire, kw_only=True, forbid_unknown_fields=False):
    """Base of what an event carries (``data``)."""


class Event(Wire, tag_field="type", kw_only=True, forbid_unknown_fields=False):
    """One stored event as published on JetStream.

    ``id`` is derived from (aggregate id, version), so a re-published event carries the same
    id and the same ``Nats-Msg-Id``; ``position`` is its place in the notification log.
    """

    id: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    position: int
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: Actor | None = None

    # The campaign status this event leaves the campaign in; None: unchanged. A failed
    # execution leaves it paused (the spec's statuses have no "failed": an operator may
    # resume it); a deleted campaign is treated as cancelled by whoever sends for it.
    status_after: ClassVar[str | None] = None

    @property
    def type(self) -> str:
        return self.__struct_config__.tag  # type: ignore[return-value]

    @property
    def aggregate(self) -> str:
        """ "campaign", "segment" or "template": the part of ``type`` before the dot."""
        return self.type.split(".", 1)[0]


# Campaign events --------------------------------------------------------------------------


class AudienceCount(EventData):
    """How many reachable contacts the audience had when the event was recorded."""

    total_count: int
    counted_at: str


class ClonedFrom(EventData):
    campaign_id: str
    reset_statistics: bool
    # With resetStatistics false: the source's figures (a StatisticsBaseline) at the clone.
    baseline: JSON | None = None


class Created(EventData):
    campaign: JSON  # the stored form of CampaignContent
    created_by: str | None = None
    cloned_from: ClonedFrom | None = None
    # None in events recorded before counts were carried, or when it could not be counted.
    audience_count: AudienceCount | None = None


class Updated(EventData):
    # The new value of each top-level field the update named; None: the field was removed.
    changes: JSON = {}
    # Only a draft's edits carry it: the audience is frozen once executed.
    audience_count: AudienceCount | None = None


class Execution(EventData):
    # No defaults: a field equal to its default would be left out when the event is encoded
    # again (webhooks forward ``data``), and the campaign service always sets these.
    execution_id: str
    test_mode: bool
    target_percentage: int
    priority: str
    scheduled_at: str | None = None
    # Set by campaign.started.
    started_at: str | None = None
    late: bool | None = None


class Scheduled(EventData):
    execution: Execution
    # What the execution sends, resolved at execute (None in events recorded before).
    messages: list[JSON] | None = None


class Started(EventData):
    execution: Execution
    # Who the execution is for, resolved when it started (None in events recorded before).
    audience: JSON | None = None
    messages: list[JSON] | None = None
    audience_count: AudienceCount | None = None


class Halted(EventData):
    # Why, for people and for programs ("ERROR_RATE", "BUDGET_EXHAUSTED"); an operator's
    # pause has neither.
    reason: str | None = None
    code: str | None = None


class Failure(EventData):
    reason: str
    code: str
    execution_id: str


class Ended(EventData):
    reason: str | None = None
    code: str | None = None


class Nothing(EventData):
    """An event that carries no data."""


class CampaignCreated(Event, tag="campaign.created"):
    status_after = "draft"
    data: Created


class CampaignCloned(Event, tag="campaign.cloned"):
    """A campaign created as a copy of another (``data.clonedFrom`` says which)."""

    status_after = "draft"
    data: Created


class CampaignUpdated(Event, tag="campaign.updated"):
    data: Updated = msgspec.field(default_factory=Updated)


class CampaignDeleted(Event, tag="campaign.deleted"):
    data: Nothing = msgspec.field(default_factory=Nothing)


class CampaignScheduled(Event, tag="campaign.scheduled"):
    status_after = "scheduled"
    data: Scheduled


class CampaignStarted(Event, tag="campaign.started"):
    status_after = "active"
    data: Started


class CampaignPaused(Event, tag="campaign.paused"):
    status_after = "paused"
    data: Halted = msgspec.field(default_factory=Halted)


class CampaignFailed(Event, tag="campaign.failed"):
    status_after = "paused"
    data: Failure


class CampaignResumed(Event, tag="campaign.resumed"):
    status_after = "active"
    data: Nothing = msgspec.field(default_factory=Nothing)


class CampaignCompleted(Event, tag="campaign.completed"):
    status_after = "completed"
    data: Ended = msgspec.field(default_factory=Ended)


class CampaignCancelled(Event, tag="campaign.cancelled"):
    status_after = "cancelled"
    data: Ended = msgspec.field(default_factory=Ended)


# Segment and template events --------------------------------------------------------------


class SegmentDefinition(EventData):
    name: str
    filter: JSON
    description: str | None = None


class SegmentCreatedData(EventData):
    segment: SegmentDefinition
    created_by: str | None = None


class TemplateCreatedData(EventData):
    template: JSON  # the stored form of TemplateContent: every field but an absent media
    created_by: str | None = None


class SegmentCreated(Event, tag="segment.created"):
    data: SegmentCreatedData


class SegmentUpdated(Event, tag="segment.updated"):
    data: Updated = msgspec.field(default_factory=Updated)


class SegmentDeleted(Event, tag="segment.deleted"):
    data: Nothing = msgspec.field(default_factory=Nothing)


class TemplateCreated(Event, tag="template.created"):
    data: TemplateCreatedData


class TemplateUpdated(Event, tag="template.updated"):
    data: Updated = msgspec.field(default_factory=Updated)


class TemplateDeleted(Event, tag="template.deleted"):
    data: Nothing = msgspec.field(default_factory=Nothing)


CampaignEvent = (
    CampaignCreated
    | CampaignCloned
    | CampaignUpdated
    | CampaignDeleted
    | CampaignScheduled
    | CampaignStarted
    | CampaignPaused
    | CampaignFailed
    | CampaignResumed
    | CampaignCompleted
    | CampaignCancelled
)
SegmentEvent = SegmentCreated | SegmentUpdated | SegmentDeleted
TemplateEvent = TemplateCreated | TemplateUpdated | TemplateDeleted
DomainEvent = CampaignEvent | SegmentEvent | TemplateEvent

# The campaign event types after which a campaign is no longer sending (or sends again), and
# the state the dispatcher gives its execution: a deleted campaign's execution is cancelled.
SENDING_STATE_AFTER: dict[str, str] = {
    CampaignPaused.__struct_config__.tag: "paused",
    CampaignFailed.__struct_config__.tag: "paused",
    CampaignResumed.__struct_config__.tag: "active",
    CampaignCancelled.__struct_config__.tag: "cancelled",
    CampaignDeleted.__struct_config__.tag: "cancelled",
    CampaignCompleted.__struct_config__.tag: "completed",
}

_decoder = msgspec.json.Decoder(DomainEvent)
_KNOWN_TYPES = frozenset(member.__struct_config__.tag for member in get_args(DomainEvent))


class _Typed(msgspec.Struct):
    type: str


_type_decoder = msgspec.json.Decoder(_Typed)


def decode_event(data: bytes | str) -> DomainEvent | None:
    """An event from the stream, or None for a type this version does not know (a newer
    producer's: a reader skips it). ``msgspec.ValidationError`` for a known type in a shape
    that does not fit, ``msgspec.DecodeError`` for bytes that are not JSON."""
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError:
        if _type_decoder.decode(data).type not in _KNOWN_TYPES:
            return None
        raise


def event_from(type_: str, data: JSON | None = None, **envelope: Any) -> DomainEvent:
    """An event from builtins (tests, tools): ``event_from("campaign.paused", {"reason":
    …}, id=…, aggregate_id=…, aggregate_version=…, occurred_at=…, position=…)``."""
    fields = {_camel(name): value for name, value in envelope.items()}
    return msgspec.convert({"type": type_, "data": data or {}, **fields}, DomainEvent)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)
