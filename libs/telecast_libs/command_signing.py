"""Signed commands: a service acts on a command only if the gateway or the dispatcher sent it.

NATS permissions say who may publish a command subject; a signature says who wrote the
command, its actor and metadata included. The senders (the gateway, and the dispatcher for
the few commands sending decides) each hold an Ed25519 private key and sign every request
they send; the services that carry out commands hold public keys only, so a process that
steals a verifier's secrets (the projection's, say) still cannot forge a command.

What is signed: the signer's name, the moment of signing (Unix milliseconds), the subject
(which names the command's kind) and the message's bytes exactly as sent, so that no field
(the actor, the correlation id, the body) can change without the signature failing. The
signature travels in the ``Telecast-Signature`` header as ``<signer>;<ms>;<base64url>``. A
command signed more than ``MAX_AGE_S`` ago (or too far in the future: clocks must agree to a
few seconds, use NTP) is refused, so a captured command cannot be replayed later.

Keys are 32 raw bytes, base64url: a private key for ``GATEWAY_SIGNING_KEY`` and
``DISPATCHER_SIGNING_KEY``, its public key for ``GATEWAY_VERIFY_KEY`` and
``DISPATCHER_VERIFY_KEY``. ``python -m telecast_libs.command_signing`` makes a pair.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from telecast_libs.contracts.errors import ErrorBody, ErrorCode
from telecast_libs.log import get_logger

log = get_logger(__name__)

SIGNATURE_HEADER = "Telecast-Signature"
# The signers, by the names their signatures carry.
GATEWAY = "gateway"
DISPATCHER = "dispatcher"
# How old a signed command may be when it arrives: a request is answered within seconds,
# and nothing retries a command with its old signature.
MAX_AGE_S = 60.0
# How far ahead of the verifier's clock a signer's may be.
MAX_AHEAD_S = 10.0


class SigningKeyError(ValueError):
    """A key is not 32 bytes of base64url."""


def _raw(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except (binascii.Error, ValueError):
        raise SigningKeyError("not base64url") from None
    if len(raw) != 32:
        raise SigningKeyError("expected 32 bytes, base64url-encoded (43 characters)")
    return raw


def check_key(key: str) -> None:
    """Raise SigningKeyError unless the key is 32 bytes of base64url."""
    _raw(key)


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def private_key(key: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_raw(key))


def public_key(key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_raw(key))


def public_key_of(signing_key: str) -> str:
    """The verify key that goes with a signing key."""
    raw = private_key(signing_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _text(raw)


def generate_signing_key() -> str:
    key = Ed25519PrivateKey.generate()
    return _text(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def _development_key(signer: str) -> str:
    return _text(hashlib.sha256(f"telecast development {signer} signing key".encode()).digest())


# Only for development (TELECAST_ENV=development): published with the source, so elsewhere
# every service refuses them (and the verify keys that go with them).
DEV_GATEWAY_SIGNING_KEY = _development_key("gateway")
DEV_GATEWAY_VERIFY_KEY = public_key_of(DEV_GATEWAY_SIGNING_KEY)
DEV_DISPATCHER_SIGNING_KEY = _development_key("dispatcher")
DEV_DISPATCHER_VERIFY_KEY = public_key_of(DEV_DISPATCHER_SIGNING_KEY)


def _signed_bytes(signer: str, signed_ms: int, subject: str, payload: bytes) -> bytes:
    return f"{signer}\n{signed_ms}\n{subject}\n".encode() + payload


class CommandSigner:
    """Signs what one service sends (``signer`` is its name: gateway, dispatcher)."""

    def __init__(self, signer: str, signing_key: str) -> None:
        self.signer = signer
        self._key = private_key(signing_key)

    def sign(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The request's headers with the signature added."""
        signed_ms = int(time.time() * 1000)
        signature = self._key.sign(_signed_bytes(self.signer, signed_ms, subject, payload))
        value = f"{self.signer};{signed_ms};{_text(signature)}"
        return {**(headers or {}), SIGNATURE_HEADER: value}


@dataclass(frozen=True)
class Trusted:
    """A signer a service trusts: its verify key, and the commands it may send (None: all)."""

    verify_key: str
    commands: Collection[str] | None = None


class CommandVerifier:
    """Decides whether a command comes from a signer this service trusts for it.

    ``prefix`` is the namespace's command subjects' (``<ns>.cmd.``): requests on other
    subjects (queries) are not checked here.
    """

    def __init__(self, prefix: str, trusted: Mapping[str, Trusted]) -> None:
        self.prefix = prefix
        self._keys = {name: public_key(t.verify_key) for name, t in trusted.items()}
        self._commands = {name: t.commands for name, t in trusted.items()}

    def refusal(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None
    ) -> ErrorBody | None:
        """None if the command may be carried out, else the error to answer with (logged:
        a refused command is a misconfiguration or an attack, never a client's mistake)."""
        refused = self._check(subject, payload, headers, time.time())
        if refused is not None:
            log.warning("command.not_authentic", subject=subject, reason=refused.message)
        return refused

    def _check(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None, now: float
    ) -> ErrorBody | None:
        if not subject.startswith(self.prefix):
            return None
        kind = subject[len(self.prefix) :]
        header = (headers or {}).get(SIGNATURE_HEADER)
        if not header:
            return _refused("the command is not signed")
        try:
            signer, signed_ms_text, signature_text = header.split(";")
            signed_ms = int(signed_ms_text)
            signature = base64.urlsafe_b64decode(signature_text + "=" * (-len(signature_text) % 4))
        except ValueError:
            return _refused("the command's signature is malformed")
        key = self._keys.get(signer)
        if key is None:
            return _refused(
                f"the command is signed by {signer!r}, whom this service does not trust"
            )
        allowed = self._commands[signer]
        if allowed is not None and kind not in allowed:
            return _refused(f"{signer} may not send {kind}")
        try:
            key.verify(signature, _signed_bytes(signer, signed_ms, subject, payload))
        except InvalidSignature:
            return _refused("the command does not match its signature")
        age = now - signed_ms / 1000
        if age > MAX_AGE_S or age < -MAX_AHEAD_S:
            return _refused(
                f"the command's signature is {age:.0f} s old; at most {MAX_AGE_S:.0f} s is "
                "accepted (are the clocks in step?)"
            )
        return None


def _refused(message: str) -> ErrorBody:
    return ErrorBody(code=ErrorCode.COMMAND_NOT_AUTHENTIC, message=message)


if __name__ == "__main__":
    signing = generate_signing_key()
    print(f"signing key (the sender's only): {signing}")
    print(f"verify key (for the services that check it): {public_key_of(signing)}")
