"""Campaign content as the public API describes it (spec/campaigns-api.md).

The same structs validate HTTP request bodies in the gateway and describe the content that
campaign events carry, so what a client sends is exactly what the event store records.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from telecast_libs.contracts.base import Wire


def _openapi(**schema: Any) -> msgspec.Meta:
    """Constraints for the OpenAPI document only (validation comes from the other Meta).

    Litestar's document leaves out the constraints of list items and a zero minimum on an
    optional number; what it finds under ``extra`` it copies into the field's schema.
    """
    return msgspec.Meta(extra_json_schema={"extra": schema})


# PostgreSQL cannot hold U+0000 in text or jsonb: a campaign carrying one would be stored in
# the event store and then stop the read model, which can never apply it. Refused here.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)]
ShortText = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
NonNegative = Annotated[float, msgspec.Meta(ge=0), _openapi(minimum=0)]
Percentage = Annotated[float, msgspec.Meta(ge=0, le=100), _openapi(minimum=0)]
MessageText = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=NO_NUL)]
# Two letters, in either case (the audience filter upper-cases them).
CountryCode = Annotated[str, msgspec.Meta(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
Identifiers = Annotated[
    list[Identifier],
    _openapi(items={"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_NUL}),
]
# The audience filters' lists become the filter language's `in` and `any`, which take up to
# 1,000 values (telecast_libs.contracts.segment_filter.MAX_VALUES).
FilterTags = Annotated[
    list[Identifier],
    msgspec.Meta(max_length=1000),
    _openapi(items={"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_NUL}),
]
CountryCodes = Annotated[
    list[CountryCode],
    msgspec.Meta(max_length=1000),
    _openapi(items={"type": "string", "minLength": 2, "maxLength": 2, "pattern": "^[A-Za-z]{2}$"}),
]
# A contact field a placeholder may name (``telecast_libs.content.rendering.check_field``).
PLACEHOLDER_FIELD = (
    r"^(firstName|lastName|username|languageCode|location|age|lastPurchase|inviteLink"
    r"|attributes\.[A-Za-z_][A-Za-z0-9_.-]{0,63})$"
)
# Checked by ``check_field`` (which names the field meant: "did you mean {{firstName}}?"),
# stated by the document's pattern.
PersonalField = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        extra_json_schema={"pattern": PLACEHOLDER_FIELD},
    ),
]
PersonalFields = Annotated[
    list[PersonalField],
    _openapi(items={"type": "string", "pattern": PLACEHOLDER_FIELD}),
]
AgeRange = Annotated[
    list[Annotated[int, msgspec.Meta(ge=0, le=150)]],
    msgspec.Meta(min_length=2, max_length=2),
    _openapi(items={"type": "integer", "minimum": 0, "maximum": 150}),
]
# RFC 3339 with an offset; a time without one is ambiguous and refused.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]


class CampaignType(enum.StrEnum):
    MESSAGE = "message"
    INVITATION = "invitation"
    DATA_COLLECTION = "data_collection"
    ENGAGEMENT = "engagement"
    CUSTOM = "custom"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


AudienceGoal = Annotated[int, msgspec.Meta(ge=0), _openapi(minimum=0)]


class Goals(Wire):
    target_audience: AudienceGoal | None = None
    conversion_rate: Percentage | None = None
    revenue: NonNegative | None = None


class AudienceFilters(Wire):
    location: CountryCodes | None = None
    age_range: AgeRange | None = None
    interests: FilterTags | None = None
    purchase_history: bool | None = None


class TargetAudience(Wire):
    segments: Identifiers = []
    filters: AudienceFilters | None = None


class Personalization(Wire):
    """What of the recipient a message may use. ``enabled: false``: nothing (each placeholder
    renders its fallback). ``fields``: only these contact fields (a text naming another is
    refused when saved); absent, any."""

    enabled: bool = False
    fields: PersonalFields | None = None


class Variation(Wire):
    content: MessageText
    weight: Annotated[int, msgspec.Meta(ge=0, le=100)]
    id: Identifier | None = None


class CampaignMessage(Wire):
    id: Identifier | None = None
    template_id: Identifier | None = None
    content: MessageText | None = None
    personalization: Personalization | None = None
    variations: list[Variation] = []


class Strategy(Wire):
    messaging: ShortText | None = None
    timing: ShortText | None = None
    channels: Identifiers = []


class Workflow(Wire):
    id: Identifier | None = None
    name: Name | None = None
    triggers: Identifiers = []


# Groups and channels have negative ids in the Bot API (and Pyrogram): a positive one is a
# user, or a channel id written without its -100 prefix. Within what JSON numbers hold.
ChatId = Annotated[
    int,
    msgspec.Meta(
        ge=-(2**53 - 1),
        le=-1,
        description="The group or channel, as the Bot API writes its id (-100… for a "
        "channel or supergroup)",
    ),
]
ExpireHours = Annotated[
    int, msgspec.Meta(ge=1, le=8760, description="Each link expires this long after it is made")
]
MemberLimit = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=99999,
        description="Users who may join by one link; 1 when not given (not with joinRequest)",
    ),
]
JoinRequest = Annotated[
    bool, msgspec.Meta(description="Joining asks the chat's administrators to approve")
]


class Invitation(Wire, kw_only=True):
    """The chat an invitation campaign invites to: each recipient gets a fresh invite link
    (the ``{{inviteLink}}`` placeholder), created by the sending account, an administrator
    of the chat."""

    chat_id: ChatId
    expire_hours: ExpireHours | None = None
    member_limit: MemberLimit | None = None
    join_request: JoinRequest = False


class CampaignContent(Wire, kw_only=True):
    """Everything an operator writes about a campaign (the body of create)."""

    name: Name
    type: CampaignType
    description: Description | None = None
    goals: Goals | None = None
    target_audience: TargetAudience | None = None
    messages: list[CampaignMessage] = []
    strategy: Strategy | None = None
    budget: NonNegative | None = None
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    workflow: Workflow | None = None
    invitation: Invitation | None = None


# The body of PUT is a JSON Merge Patch (RFC 7396) of the campaign's content: a field that is
# absent keeps its value, ``null`` removes it, an object merges field by field into the one
# stored, and anything else (a list, a number, a text) replaces what was there. Each patch
# struct below is its content struct with every field optional and nullable (UNSET is
# "absent", None is "null"), except what a campaign cannot be without (``name``, ``type``,
# an invitation's ``chatId``), which cannot be null.


class GoalsPatch(Wire, kw_only=True):
    target_audience: AudienceGoal | UnsetType | None = UNSET
    conversion_rate: Percentage | UnsetType | None = UNSET
    revenue: NonNegative | UnsetType | None = UNSET


class AudienceFiltersPatch(Wire, kw_only=True):
    location: CountryCodes | UnsetType | None = UNSET
    age_range: AgeRange | UnsetType | None = UNSET
    interests: FilterTags | UnsetType | None = UNSET
    purchase_history: bool | UnsetType | None = UNSET


class TargetAudiencePatch(Wire, kw_only=True):
    segments: Identifiers | UnsetType | None = UNSET
    filters: AudienceFiltersPatch | UnsetType | None = UNSET


class StrategyPatch(Wire, kw_only=True):
    messaging: ShortText | UnsetType | None = UNSET
    timing: ShortText | UnsetType | None = UNSET
    channels: Identifiers | UnsetType | None = UNSET


class WorkflowPatch(Wire, kw_only=True):
    id: Identifier | UnsetType | None = UNSET
    name: Name | UnsetType | None = UNSET
    triggers: Identifiers | UnsetType | None = UNSET


class InvitationPatch(Wire, kw_only=True):
    chat_id: ChatId | UnsetType = UNSET
    expire_hours: ExpireHours | UnsetType | None = UNSET
    member_limit: MemberLimit | UnsetType | None = UNSET
    join_request: JoinRequest | UnsetType | None = UNSET


class CampaignChanges(Wire, kw_only=True):
    """A partial update (the body of PUT), as a JSON Merge Patch: absent keeps, ``null``
    removes, objects merge, lists replace. A ``status`` follows the same rules as the
    lifecycle actions (execute, pause, resume, cancel)."""

    name: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    type: CampaignType | UnsetType = UNSET
    goals: GoalsPatch | UnsetType | None = UNSET
    target_audience: TargetAudiencePatch | UnsetType | None = UNSET
    messages: list[CampaignMessage] | UnsetType | None = UNSET
    strategy: StrategyPatch | UnsetType | None = UNSET
    budget: NonNegative | UnsetType | None = UNSET
    start_date: Timestamp | UnsetType | None = UNSET
    end_date: Timestamp | UnsetType | None = UNSET
    workflow: WorkflowPatch | UnsetType | None = UNSET
    invitation: InvitationPatch | UnsetType | None = UNSET
    status: CampaignStatus | UnsetType = UNSET


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class ExecutionOptions(Wire, kw_only=True):
    """The optional body of execute."""

    test_mode: bool = False
    target_percentage: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    priority: Priority = Priority.NORMAL
    scheduled_at: Timestamp | None = None


class CloneOptions(Wire, kw_only=True):
    """The optional body of clone."""

    name: Name | None = None
    reset_statistics: bool = True
