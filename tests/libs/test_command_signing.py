"""What the command side accepts without a server: a query passes unchecked, a command
needs a trusted signer's signature, made within the last minute and not ahead of time."""

from __future__ import annotations

import pytest

from telecast_libs import command_signing
from telecast_libs.command_signing import (
    GATEWAY,
    CommandSigner,
    CommandVerifier,
    Trusted,
    generate_signing_key,
    public_key_of,
)

KEY = generate_signing_key()
VERIFIER = CommandVerifier("telecast.cmd.", {GATEWAY: Trusted(public_key_of(KEY))})
SIGNER = CommandSigner(GATEWAY, KEY)
COMMAND = "telecast.cmd.campaign.pause"
PAYLOAD = b'{"kind":"campaign.pause","meta":{"actor":{"id":"op-1"},"correlationId":"c"}}'


def signed_at(monkeypatch: pytest.MonkeyPatch, offset: float) -> dict[str, str]:
    now = command_signing.time.time()
    monkeypatch.setattr(command_signing.time, "time", lambda: now + offset)
    headers = SIGNER.sign(COMMAND, PAYLOAD)
    monkeypatch.undo()
    return headers


def test_a_signed_command_is_accepted_and_a_query_needs_no_signature() -> None:
    assert VERIFIER.refusal(COMMAND, PAYLOAD, SIGNER.sign(COMMAND, PAYLOAD)) is None
    assert VERIFIER.refusal("telecast.query.campaign.get", b"{}", None) is None


def test_a_signature_is_good_for_its_subject_only() -> None:
    # The subject names the command: a pause signed cannot be sent as a delete.
    headers = SIGNER.sign(COMMAND, PAYLOAD)
    refused = VERIFIER.refusal("telecast.cmd.campaign.delete", PAYLOAD, headers)
    assert refused is not None and refused.code == "COMMAND_NOT_AUTHENTIC"


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-59, True), (-61, False), (5, True), (15, False)]
)
def test_a_signature_is_good_for_a_minute_and_never_from_the_future(
    monkeypatch: pytest.MonkeyPatch, offset: float, accepted: bool
) -> None:
    refused = VERIFIER.refusal(COMMAND, PAYLOAD, signed_at(monkeypatch, offset))
    assert (refused is None) is accepted, refused


@pytest.mark.parametrize(
    "header", ["", "gateway", "gateway;x;AAAA", "gateway;1;%%%", "gateway;1;AAAA;extra"]
)
def test_a_malformed_signature_is_refused_not_a_crash(header: str) -> None:
    refused = VERIFIER.refusal(COMMAND, PAYLOAD, {command_signing.SIGNATURE_HEADER: header})
    assert refused is not None and refused.code == "COMMAND_NOT_AUTHENTIC"
