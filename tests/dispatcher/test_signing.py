"""Webhook signatures: what receivers verify."""

from __future__ import annotations

import hashlib
import hmac

from telecast_dispatcher.webhooks.signing import (
    SECRET_PREFIX,
    new_secret,
    signature,
    signature_header,
    verify,
)

BODY = b'{"id":"e1","type":"campaign.created"}'
SECRET = "whsec_test-secret"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_700_000_000, BODY) == expected
    assert signature_header([SECRET], 1_700_000_000, BODY) == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_a_fresh_signature_and_refuses_anything_else() -> None:
    header = signature_header([SECRET], 1_700_000_000, BODY)
    assert verify(SECRET, header, BODY, now=1_700_000_010)
    assert not verify("whsec_other", header, BODY, now=1_700_000_010)
    assert not verify(SECRET, header, BODY + b" ", now=1_700_000_010)
    # A captured delivery replayed later is refused.
    assert not verify(SECRET, header, BODY, now=1_700_000_000 + 301)
    assert not verify(SECRET, "v1=abc", BODY, now=1_700_000_000)
    assert not verify(SECRET, "t=1700000000", BODY, now=1_700_000_000)
    assert not verify(SECRET, "", BODY)


def test_after_a_rotation_either_secret_verifies() -> None:
    header = signature_header(["whsec_new", "whsec_old"], 1_700_000_000, BODY)
    assert header.count("v1=") == 2
    for key in ("whsec_new", "whsec_old"):
        assert verify(key, header, BODY, now=1_700_000_000)
    assert not verify("whsec_neither", header, BODY, now=1_700_000_000)


def test_secrets_are_32_random_bytes() -> None:
    made = {new_secret() for _ in range(100)}
    assert len(made) == 100
    for secret in made:
        assert secret.startswith(SECRET_PREFIX)
        # base64url of 32 bytes: 43 characters, no padding.
        assert len(secret) == len(SECRET_PREFIX) + 43
