"""The webhook API's refusals, each with its stable code."""

from __future__ import annotations

import uuid

from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.webhooks import WebhookErrorCode


class WebhookNotFound(Problem):
    code = WebhookErrorCode.WEBHOOK_NOT_FOUND

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"webhook {webhook_id[:100]!r} does not exist")


class DeliveryNotFound(Problem):
    code = WebhookErrorCode.DELIVERY_NOT_FOUND

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"webhook {webhook_id[:100]!r} has no delivery with this id")


class TargetNotAllowed(Problem):
    code = WebhookErrorCode.WEBHOOK_TARGET_NOT_ALLOWED


class DeliveryPending(Problem):
    code = WebhookErrorCode.DELIVERY_PENDING


def parse_id(value: str, missing: Problem) -> uuid.UUID:
    """An id from the API: what is not a UUID names nothing that exists."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing from None
