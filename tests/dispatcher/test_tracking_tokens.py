"""Tracked-link tokens: what is signed comes back, anything altered or signed with another
secret is refused, and tokens stay short. No I/O."""

from __future__ import annotations

import base64
import uuid

import pytest

from telecast_libs.tracking import (
    DEV_TRACKING_SECRET,
    InvalidToken,
    TrackedLink,
    sign,
    token_of,
    verify,
)

SECRET = "a-test-secret-of-at-least-thirty-two-characters"
LINK = TrackedLink(
    execution_id=str(uuid.uuid4()),
    contact_id=str(uuid.uuid4()),
    message_id="msg1",
    url="https://shop.example.com/black-friday?utm_source=telegram&x=ü",
)


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_signed_link_verifies_to_the_same_fields() -> None:
    token = sign(SECRET, LINK)
    assert verify(SECRET, token) == LINK


def test_a_token_is_url_safe_and_short() -> None:
    token = sign(SECRET, LINK)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # Two binary UUIDs, the message id, the URL and a 16-byte MAC: about 75 bytes of overhead.
    assert len(token) <= (len(LINK.url.encode()) + 80) * 4 / 3 + 1


def test_every_altered_byte_is_refused() -> None:
    raw = _raw(sign(SECRET, LINK))
    for i in range(len(raw)):
        altered = bytearray(raw)
        altered[i] ^= 0x01
        with pytest.raises(InvalidToken):
            verify(SECRET, _token(altered))


def test_another_secret_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify(DEV_TRACKING_SECRET, sign(SECRET, LINK))


@pytest.mark.parametrize("token", ["", "x", "!!!!", "a" * 10, "A" * 40, "-_-_" * 30])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify(SECRET, token)


def test_a_truncated_token_is_refused() -> None:
    token = sign(SECRET, LINK)
    for cut in (1, 5, 22, len(token) - 1):
        with pytest.raises(InvalidToken):
            verify(SECRET, token[:-cut])


def test_token_of_finds_tracked_links_under_the_base_only() -> None:
    token = sign(SECRET, LINK)
    assert token_of(f"http://127.0.0.1:8000/r/{token}", "http://127.0.0.1:8000/") == token
    assert token_of(f"https://go.example.com/r/{token}", "http://127.0.0.1:8000") is None
    assert token_of("http://127.0.0.1:8000/r/", "http://127.0.0.1:8000") is None
