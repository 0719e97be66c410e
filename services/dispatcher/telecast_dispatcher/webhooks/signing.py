"""Webhook secrets and signatures.

``X-Telecast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, keyed
with the subscription's secret (the whole string, ``whsec_…``, as UTF-8). During the grace
period after a rotation the header carries a second ``v1=`` made with the previous secret;
a receiver accepts a delivery when any ``v1`` matches.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Telecast-Signature"
EVENT_ID_HEADER = "X-Telecast-Event-Id"
EVENT_TYPE_HEADER = "X-Telecast-Event-Type"
DELIVERY_ID_HEADER = "X-Telecast-Delivery-Id"

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """32 random bytes, base64url, with a prefix that makes a leaked secret recognizable."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(keys: Sequence[str], timestamp: int, body: bytes) -> str:
    """The header value signing ``body`` at ``timestamp`` with each of ``keys``."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(k, timestamp, body)}" for k in keys)])


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: True when ``header`` signs ``body`` with ``secret``, recently.

    The tolerance refuses a replay of an old, captured delivery.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
