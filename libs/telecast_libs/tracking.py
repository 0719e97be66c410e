"""Tracked-link tokens: which delivery a followed link belongs to, and where it goes.

A token carries (execution id, contact id, message id, target URL) as msgpack (ids as 16
raw bytes), followed by the first 16 bytes of an HMAC-SHA256 of it under
``TRACKING_SECRET``, in base64url without padding. The dispatcher makes them when it
renders a message; the gateway verifies them at ``GET /r/<token>``. Nothing is stored:
whoever holds the secret can verify any token, and nobody without it can make one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import msgspec

# Only for development (TELECAST_ENV=development): elsewhere the dispatcher and the gateway
# refuse to start on it. Both must have the same secret.
DEV_TRACKING_SECRET = "telecast-development-tracking-secret-change-me"
MIN_SECRET_LENGTH = 32

_VERSION = 1
_MAC_BYTES = 16
# Keeps these MACs apart from anything else the same secret might sign.
_DOMAIN = b"telecast.tracking.v1\n"
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(tuple[int, bytes, bytes, str, str])


class InvalidToken(ValueError):
    """Not a token this installation made: malformed, tampered with, or another secret."""


@dataclass(frozen=True, slots=True)
class TrackedLink:
    execution_id: str
    contact_id: str
    message_id: str
    url: str


def _mac(secret: str, payload: bytes) -> bytes:
    digest = hmac.new(secret.encode(), _DOMAIN + payload, hashlib.sha256).digest()
    return digest[:_MAC_BYTES]


def sign(secret: str, link: TrackedLink) -> str:
    """The token of ``link`` (ids must be UUIDs)."""
    payload = _encoder.encode(
        (
            _VERSION,
            uuid.UUID(link.execution_id).bytes,
            uuid.UUID(link.contact_id).bytes,
            link.message_id,
            link.url,
        )
    )
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode()


def verify(secret: str, token: str) -> TrackedLink:
    """The link ``token`` carries; ``InvalidToken`` unless it was signed with ``secret``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None
    if len(raw) <= _MAC_BYTES:
        raise InvalidToken("too short")
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InvalidToken("bad signature")
    try:
        version, execution, contact, message_id, url = _decoder.decode(payload)
        if version != _VERSION:
            raise InvalidToken(f"unknown version {version}")
        link = TrackedLink(
            str(uuid.UUID(bytes=execution)), str(uuid.UUID(bytes=contact)), message_id, url
        )
    except (msgspec.DecodeError, ValueError) as error:
        # Signed by us, so only a bug makes this; still an invalid token, not a crash.
        raise InvalidToken(f"malformed: {error}") from None
    # Whoever holds the secret could sign any target: a redirect only ever leads to an
    # absolute web address (never javascript:, data:, a relative path or another scheme).
    target = urlsplit(link.url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise InvalidToken("the link does not lead to an http(s) address")
    return link


def link_path(token: str) -> str:
    """The gateway's path that follows a token."""
    return f"/r/{token}"


def token_of(url: str, base_url: str) -> str | None:
    """The token of ``url`` if it is a tracked link under ``base_url``, else None."""
    prefix = base_url.rstrip("/") + "/r/"
    if not url.startswith(prefix):
        return None
    token = url[len(prefix) :]
    return token or None
