"""The dispatcher's events: what happened to each recipient of an execution.

Published from the dispatcher's ledger (its outbox) on ``<ns>.events.delivery.<outcome>``
and ``<ns>.events.execution.<what>``, with ``Nats-Msg-Id`` = the event's ``id``: a
re-publish from the ledger duplicates nothing. ``id`` is derived from (execution, contact,
message), so it names the delivery, not the publish.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from telecast_libs.contracts.base import Wire

_DELIVERY_ID_NAMESPACE = uuid.UUID("0b7e52c4-2f5e-4f8a-9f57-5d6f1c1a7c21")


def delivery_event_id(execution_id: str, contact_id: str, message_id: str) -> str:
    return str(uuid.uuid5(_DELIVERY_ID_NAMESPACE, f"{execution_id}:{contact_id}:{message_id}"))


class DeliveryEvent(Wire, kw_only=True):
    """One campaign message to one recipient, with its final outcome.

    ``type``: "delivery.sent" (Telegram took it), or "delivery.failed" with ``code`` and
    ``message`` (``DELIVERY_UNCONFIRMED`` when the outcome of a send was lost and it is not
    repeated). ``variationId`` is absent for the message's own content."""

    id: str
    type: str
    campaign_id: str
    execution_id: str
    contact_id: str
    telegram_id: int
    chat_kind: str
    message_id: str
    step: int
    variation_id: str | None = None
    code: str | None = None
    message: str | None = None
    account: str | None = None
    telegram_message_id: int | None = None
    attempts: int = 0
    occurred_at: datetime
    # The execution's segments the recipient is in.
    segment_ids: list[str] = []
    # What the message cost (MESSAGE_COST for a sent one, else 0).
    cost: float = 0.0
    correlation_id: str | None = None


class ArmOf(Wire):
    """Which variation of a message a recipient got (``variationId`` absent: the message's
    own content)."""

    message_id: str
    variation_id: str | None = None


class InteractionEvent(Wire, kw_only=True):
    """What a recipient did with a campaign's messages, recorded by the dispatcher (it owns
    the ledger the interaction is attributed to) and published from its table with
    ``Nats-Msg-Id`` = ``id``.

    ``type``:
    - "delivery.read": the sender reported the message read (``messageId``);
    - "delivery.clicked": a tracked link or button was followed (``messageId``, ``url``);
    - "delivery.converted": a conversion was reported for the recipient (``revenue``,
      ``conversionId``), attributed to every message it was sent and the variation of each
      (``arms``).
    ``first`` is true for the recipient's first interaction of that type in the campaign
    (unique readers, clickers, converters); counts of all of them use every event."""

    id: str
    type: str
    campaign_id: str
    execution_id: str
    contact_id: str
    message_id: str | None = None
    variation_id: str | None = None
    arms: list[ArmOf] = []
    segment_ids: list[str] = []
    url: str | None = None
    conversion_id: str | None = None
    revenue: float = 0.0
    first: bool = False
    occurred_at: datetime
    correlation_id: str | None = None


class ExecutionPlanned(Wire, kw_only=True):
    """``execution.planned``: the whole audience of an execution is queued; ``recipients``
    contacts, ``deliveries`` messages in all (recipients times the campaign's messages)."""

    id: str
    type: str  # "execution.planned"
    campaign_id: str
    execution_id: str
    recipients: int
    deliveries: int
    occurred_at: datetime
    correlation_id: str | None = None
