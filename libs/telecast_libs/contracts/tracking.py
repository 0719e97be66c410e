"""Clicks and conversions, as the gateway reports them to the dispatcher over NATS
(``<ns>.cmd.tracking.click`` and ``<ns>.cmd.tracking.conversion``).

The dispatcher records each as a row of its own (idempotent on its id), attributes it to the
ledger, and publishes an ``InteractionEvent`` from that row. ``NewConversion`` is also the
body of ``POST /api/v1/campaigns/{id}/conversions``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.campaigns import Identifier, Timestamp
from telecast_libs.contracts.deliveries import ArmOf
from telecast_libs.contracts.messages import CommandMeta, Request

_INTERACTION_NAMESPACE = uuid.UUID("5d1f0c3e-8a2b-4e61-9c7d-2f4b6a8e0d13")

Revenue = Annotated[float, msgspec.Meta(ge=0, le=1e12)]
# Telegram ids fit in 52 bits; within what JSON numbers hold.
TelegramId = Annotated[int, msgspec.Meta(ge=-(2**53 - 1), le=2**53 - 1)]


class TrackingErrorCode:
    """Error codes of tracking (besides the shared ones in ``ErrorCode``)."""

    # The campaign sent nothing to that recipient: nothing to attribute a conversion to.
    RECIPIENT_NOT_FOUND = "RECIPIENT_NOT_FOUND"
    # A tracked link that this installation did not make (or whose delivery is unknown).
    LINK_NOT_FOUND = "LINK_NOT_FOUND"


def interaction_id(*parts: str) -> str:
    """The id of an interaction named by ``parts`` (a click id, a conversion id, a
    receipt): the same parts, the same id, so a repeat records nothing new."""
    return str(uuid.uuid5(_INTERACTION_NAMESPACE, ":".join(parts)))


class NewConversion(Wire, kw_only=True):
    """A conversion of one recipient: exactly one of ``contactId`` and ``telegramId``."""

    contact_id: Identifier | None = None
    telegram_id: TelegramId | None = None
    revenue: Revenue = 0.0
    # The client's id of the conversion (an order number…): the same id twice records one
    # conversion. Without it, the Idempotency-Key (if any) names the conversion.
    conversion_id: Identifier | None = None
    occurred_at: Timestamp | None = None

    def __post_init__(self) -> None:
        if (self.contact_id is None) == (self.telegram_id is None):
            raise ValueError("name the recipient with exactly one of contactId and telegramId")


class TrackingRequest(Request):
    """A request to the dispatcher's tracking (subject ``<ns>.cmd.tracking.<name>``)."""


class RecordClick(TrackingRequest, tag="tracking.click", kw_only=True):
    """A tracked link was followed (the gateway verified its token)."""

    click_id: str
    execution_id: str
    contact_id: str
    message_id: str
    url: str
    occurred_at: datetime
    correlation_id: str | None = None


class RecordConversion(TrackingRequest, tag="tracking.conversion", kw_only=True):
    meta: CommandMeta
    campaign_id: str
    conversion: NewConversion
    # ``conversion.conversionId``, or one the gateway made (from the Idempotency-Key, or
    # random).
    conversion_id: str


TrackingRequests = RecordClick | RecordConversion


class ClickRecorded(Wire, kw_only=True):
    id: str
    first: bool
    # False when this click id was recorded before (nothing new happened).
    recorded: bool


class ConversionRecorded(Wire, kw_only=True):
    """A recorded conversion and what it is attributed to: the recipient's execution of the
    campaign, and the variation of every message it was sent (``arms``)."""

    id: str
    conversion_id: str
    campaign_id: str
    execution_id: str
    contact_id: str
    telegram_id: int
    revenue: float
    # The recipient's first conversion in the campaign.
    first: bool
    arms: list[ArmOf]
    segment_ids: list[str]
    occurred_at: datetime
    # False when this conversion id was recorded before: the answer is the first record.
    recorded: bool
