"""Webhook subscriptions and their delivery log, as the gateway and the dispatcher exchange
them over NATS (``<ns>.cmd.webhook.<name>`` and ``<ns>.query.webhook.<name>``).

The same structs validate the HTTP bodies in the gateway and describe the dispatcher's
answers, so the wire shape is defined once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.messages import CommandMeta, Request
from telecast_libs.contracts.views import Pagination

# Every event a subscription may ask for: the campaign stream's types.
WEBHOOK_EVENT_TYPES = (
    "campaign.created",
    "campaign.cloned",
    "campaign.updated",
    "campaign.deleted",
    "campaign.scheduled",
    "campaign.started",
    "campaign.paused",
    "campaign.resumed",
    "campaign.completed",
    "campaign.cancelled",
    "campaign.failed",
)
WebhookEventType = Literal[
    "campaign.created",
    "campaign.cloned",
    "campaign.updated",
    "campaign.deleted",
    "campaign.scheduled",
    "campaign.started",
    "campaign.paused",
    "campaign.resumed",
    "campaign.completed",
    "campaign.cancelled",
    "campaign.failed",
]
# The type of the event sent by "send test event".
TEST_EVENT_TYPE = "webhook.test"


def _ipv6_pattern() -> str:
    """An IPv6 address as RFC 3986 writes one (``IPv6address``; without a zone)."""
    h16 = "[0-9A-Fa-f]{1,4}"
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"

    def groups(count: int) -> str:  # count times h16 ":"
        return f"(?:{h16}:){{{count}}}" if count else ""

    def before(most: int) -> str:  # [ *most( h16 ":" ) h16 ]
        return f"(?:(?:{h16}:){{0,{most}}}{h16})?"

    forms = [
        f"{groups(6)}{ls32}",
        f"::{groups(5)}{ls32}",
        f"{before(0)}::{groups(4)}{ls32}",
        f"{before(1)}::{groups(3)}{ls32}",
        f"{before(2)}::{groups(2)}{ls32}",
        f"{before(3)}::{h16}:{ls32}",
        f"{before(4)}::{ls32}",
        f"{before(5)}::{h16}",
        f"{before(6)}::",
    ]
    return "(?:" + "|".join(forms) + ")"


# The URLs a subscription takes, as the OpenAPI document states them: http or https, a host
# (a name of 1-63-character labels, an IPv4 address, or an IPv6 one in brackets), an optional
# port (0-65535), then a path, query or fragment in printable ASCII; no credentials, no
# spaces. The dispatcher's own check (``webhooks/targets.py``) also takes what a client should
# not send (a host in Unicode, raw non-ASCII in the path); where the host may be reached is the
# deployment's policy, refused with 403 ``WEBHOOK_TARGET_NOT_ALLOWED``.
TARGET_URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:(?:[A-Za-z0-9_-]{{1,63}}\.)*[A-Za-z0-9_-]{{1,63}}\.*|\[{_ipv6_pattern()}\])"
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})?)?"
    r"(?:[/?#][!-~]*)?$"
)
TargetUrl = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        description="Where deliveries are POSTed: an http(s) URL whose host is public, or "
        "allowed by the deployment (WEBHOOK_ALLOWED_HOSTS); any other host is refused with "
        "403 WEBHOOK_TARGET_NOT_ALLOWED",
        extra_json_schema={"pattern": TARGET_URL_PATTERN},
    ),
]
EventTypes = Annotated[list[WebhookEventType], msgspec.Meta(min_length=1, max_length=32)]
WebhookDescription = Annotated[str, msgspec.Meta(max_length=500)]
CampaignIds = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]],
    msgspec.Meta(min_length=1, max_length=100),
]
CampaignIdsOrNone = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]],
    msgspec.Meta(max_length=100),
]


class WebhookErrorCode:
    """Error codes of the webhook API (besides the shared ones in ``ErrorCode``)."""

    WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND"
    DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND"
    # The URL's host is, or resolves to, an address deliveries may not go to.
    WEBHOOK_TARGET_NOT_ALLOWED = "WEBHOOK_TARGET_NOT_ALLOWED"
    # Redeliver asked for a delivery that is still being attempted.
    DELIVERY_PENDING = "DELIVERY_PENDING"


# Bodies (HTTP and NATS) -------------------------------------------------------------------


class NewWebhook(Wire, kw_only=True):
    """A subscription to create."""

    url: TargetUrl
    events: EventTypes
    description: WebhookDescription | None = None
    # Only events of these campaigns; absent: every campaign.
    campaign_ids: CampaignIds | None = None
    active: bool = True


class WebhookChanges(Wire, kw_only=True):
    """A partial update: only the fields present change; at least one must be."""

    url: TargetUrl | None = None
    events: EventTypes | None = None
    description: WebhookDescription | None = None
    # An empty list removes the filter (every campaign again).
    campaign_ids: CampaignIdsOrNone | None = None
    # true re-enables a subscription (also one disabled after failures); false stops it.
    active: bool | None = None

    def __post_init__(self) -> None:
        if all(getattr(self, field) is None for field in self.__struct_fields__):
            raise ValueError(
                "the body must contain url, events, description, campaignIds or active"
            )


# Requests ---------------------------------------------------------------------------------


class WebhookCommand(Request):
    """A change to subscriptions or deliveries (subject ``<ns>.cmd.webhook.<name>``)."""


class WebhookQuery(Request):
    """A read of subscriptions or deliveries (subject ``<ns>.query.webhook.<name>``)."""


class CreateWebhook(WebhookCommand, tag="webhook.create"):
    meta: CommandMeta
    webhook: NewWebhook
    # Chosen by the caller to make a retried create idempotent (from the Idempotency-Key).
    webhook_id: str | None = None


class UpdateWebhook(WebhookCommand, tag="webhook.update"):
    meta: CommandMeta
    webhook_id: str
    changes: WebhookChanges


class DeleteWebhook(WebhookCommand, tag="webhook.delete"):
    meta: CommandMeta
    webhook_id: str


class RotateWebhookSecret(WebhookCommand, tag="webhook.rotate_secret"):
    meta: CommandMeta
    webhook_id: str


class SendTestEvent(WebhookCommand, tag="webhook.test"):
    meta: CommandMeta
    webhook_id: str


class RedeliverWebhook(WebhookCommand, tag="webhook.redeliver"):
    meta: CommandMeta
    webhook_id: str
    delivery_id: str


class ListWebhooks(WebhookQuery, tag="webhook.list"):
    page: int = 1
    limit: int = 20


class GetWebhook(WebhookQuery, tag="webhook.get"):
    webhook_id: str


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first attempt or a retry
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # given up: too many attempts, or too old


class ListDeliveries(WebhookQuery, tag="webhook.deliveries"):
    webhook_id: str
    page: int = 1
    limit: int = 20
    status: DeliveryStatus | None = None


class GetDelivery(WebhookQuery, tag="webhook.delivery"):
    webhook_id: str
    delivery_id: str


WebhookRequest = (
    CreateWebhook
    | UpdateWebhook
    | DeleteWebhook
    | RotateWebhookSecret
    | SendTestEvent
    | RedeliverWebhook
    | ListWebhooks
    | GetWebhook
    | ListDeliveries
    | GetDelivery
)


# Answers ----------------------------------------------------------------------------------


class WebhookView(Wire, kw_only=True):
    """A subscription as the API shows it: never with its secret."""

    id: str
    url: str
    events: list[str]
    active: bool
    description: str | None = None
    campaign_ids: list[str] | None = None
    # Why the subscription is inactive: failures, or an operator.
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    # Failed attempts in a row (reset by a success) and when that run began.
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookView, kw_only=True):
    """The answer to create and rotate-secret: the only times the secret is shown."""

    secret: str
    # After a rotation, deliveries are also signed with the previous secret until then.
    previous_secret_expires_at: datetime | None = None


class WebhookPage(Wire):
    webhooks: list[WebhookView]
    pagination: Pagination


class DeliveryAttempt(Wire, kw_only=True):
    attempt: int
    started_at: datetime
    latency_ms: float
    # The receiver's HTTP status; absent when no answer came (timeout, refused, …).
    status_code: int | None = None
    error: str | None = None
    # The first bytes (at most 512) of the receiver's answer.
    response_excerpt: str | None = None
    # The retry this attempt's failure scheduled; absent after a success or when given up.
    next_attempt_at: datetime | None = None


class DeliveryView(Wire, kw_only=True):
    """One event sent (or being sent) to one subscription, with every attempt."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    campaign_id: str | None = None
    attempt_count: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    last_latency_ms: float | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    finished_at: datetime | None = None
    attempts: list[DeliveryAttempt] = []


class DeliveryPage(Wire):
    deliveries: list[DeliveryView]
    pagination: Pagination


class WebhookPayload(Wire, kw_only=True):
    """The JSON body a receiver gets."""

    id: str
    type: str
    occurred_at: datetime
    # What the dispatcher knows of the campaign: id, name, type, status, version.
    campaign: dict[str, Any] | None = None
    # The event's own data, as on the campaign stream.
    data: dict[str, Any] = msgspec.field(default_factory=dict)
