"""Secrets sealed at rest: AES-256-GCM under a key from the environment.

A webhook's signing secret must be readable by the dispatcher (it signs with it), so it
cannot be hashed; sealed, a copy of the database (a backup, a replica, a leaked dump) does
not give it away without ``DATA_ENCRYPTION_KEY`` too. A sealed value is text:
``sealed:v1:`` and the base64url of a 12-byte nonce and the ciphertext with its tag. A
value without that prefix was stored before sealing existed and is read as it is; it is
sealed the next time it is written (rotate the secret to seal it now).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
# Only for development (TELECAST_ENV=development): elsewhere the dispatcher refuses it.
DEV_DATA_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"telecast-development-data-key-32").decode()
_CONTEXT = b"telecast.sealed.v1"


class SealingError(ValueError):
    """The key is malformed, or a sealed value was not sealed with it."""


def generate_key() -> str:
    """A new key for ``DATA_ENCRYPTION_KEY``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class Sealer:
    def __init__(self, key: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        except (binascii.Error, ValueError):
            raise SealingError("not base64url") from None
        if len(raw) != 32:
            raise SealingError("expected 32 bytes, base64url-encoded (44 characters)")
        self._aead = AESGCM(raw)

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _CONTEXT)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # stored before sealing
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _CONTEXT).decode()
        except InvalidTag:
            raise SealingError("sealed with another key (DATA_ENCRYPTION_KEY changed?)") from None
