"""``Idempotency-Key``: a retried POST returns the first answer and changes nothing more.

Keys belong to the operator who sent them and are kept for ``IDEMPOTENCY_KEY_TTL_HOURS``
(24 by default). The first request with a key runs and its answer is stored (unless it was a
5xx: a failure may be retried for real); a retry with the same method, path and body gets
that answer again, marked ``Idempotent-Replayed: true``; the same key with another request is
refused (409: the request is valid, and conflicts with the one the key already stands for).
A retry that arrives while the first is still running is told so (409).

An answer that carries a secret (a webhook's signing secret, new tokens) is never stored:
its retry answers 409 ``SECRET_NOT_REPLAYED`` with the resource's id, since the secret is
shown once (rotate it if the first answer was lost).

Creations are idempotent even if the gateway dies between the command and storing its
answer: create and clone derive the new campaign's id from the key (``creation_id``), so a
repeated command finds the campaign it already made.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

from psycopg_pool import AsyncConnectionPool

from telecast_libs.contracts.errors import ErrorCode
from telecast_libs.log import get_logger

log = get_logger(__name__)

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
_STREAMED_PATHS = frozenset({"/api/v1/contacts/import"})
# Answers that carry a secret shown only once: kept as a refusal naming the resource, never
# as they were.
_SECRET_ANSWERS = re.compile(r"^/api/v1/(webhooks/?|webhooks/[^/]+/rotate-secret|auth/password)$")
# Headers of a stored answer worth replaying.
_KEPT_HEADERS = {b"content-type", b"etag", b"location"}
_NAMESPACE = uuid.UUID("0b7c4d64-5f7e-4a8e-9d7b-6c1f1a2b3c4d")


def creation_id(operator_id: str, key: str | None, path: str) -> str | None:
    """The id a create or clone gives its new campaign when the request carries a key."""
    if key is None:
        return None
    return str(uuid.uuid5(_NAMESPACE, f"{operator_id}\n{key}\n{path}"))


def valid_key(raw: bytes) -> str | None:
    try:
        key = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return key if 1 <= len(key) <= 255 and key.isprintable() else None


def abandoned_after(nats_request_timeout_ms: int, read_your_writes_timeout_ms: int) -> float:
    """The longest a request with a key can run: a command and a read (each within the NATS
    timeout), the wait for the read model, and a second of slack."""
    return (2 * nats_request_timeout_ms + read_your_writes_timeout_ms) / 1000 + 1


class IdempotencyStore:
    def __init__(self, pool: AsyncConnectionPool, ttl_hours: int, abandoned_seconds: float) -> None:
        self.pool = pool
        self.ttl_hours = ttl_hours
        # A first request still running after this long died with its gateway: no request
        # takes longer (see ``abandoned_after``), so its key may be taken over.
        self.abandoned_seconds = abandoned_seconds
        self._purged_at = 0.0

    async def claim(self, operator_id: str, key: str, request_hash: str) -> tuple[str, Any]:
        """("run", None) when this request is to run; otherwise ("replay", stored answer),
        ("reused", None) or ("busy", None)."""
        await self._purge_now_and_then()
        async with self.pool.connection() as conn:
            inserted = await conn.execute(
                "INSERT INTO gateway.idempotency_keys (operator_id, key, request_hash) "
                "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (operator_id, key, request_hash),
            )
            if inserted.rowcount == 1:
                return "run", None
            row = await (
                await conn.execute(
                    "SELECT request_hash, status, headers, body, "
                    "extract(epoch FROM now() - created_at) FROM gateway.idempotency_keys "
                    "WHERE operator_id = %s AND key = %s",
                    (operator_id, key),
                )
            ).fetchone()
            if row is None:  # purged in between: start afresh
                return await self.claim(operator_id, key, request_hash)
            stored_hash, status, headers, body, age = row
            if stored_hash != request_hash:
                return "reused", None
            if status is not None:
                return "replay", (status, headers, bytes(body))
            if age < self.abandoned_seconds:
                return "busy", None
            taken = await conn.execute(
                "UPDATE gateway.idempotency_keys SET created_at = now() "
                "WHERE operator_id = %s AND key = %s AND status IS NULL "
                "AND extract(epoch FROM now() - created_at) >= %s",
                (operator_id, key, self.abandoned_seconds),
            )
            return ("run", None) if taken.rowcount == 1 else ("busy", None)

    async def complete(
        self, operator_id: str, key: str, status: int, headers: list, body: bytes
    ) -> None:
        async with self.pool.connection() as conn:
            if status >= 500:
                await conn.execute(
                    "DELETE FROM gateway.idempotency_keys WHERE operator_id = %s AND key = %s",
                    (operator_id, key),
                )
                return
            kept = [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in headers
                if k.lower() in _KEPT_HEADERS
            ]
            await conn.execute(
                "UPDATE gateway.idempotency_keys SET status = %s, headers = %s, body = %s "
                "WHERE operator_id = %s AND key = %s",
                (status, json.dumps(kept), body, operator_id, key),
            )

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged_at < 600:
            return
        self._purged_at = time.monotonic()
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM gateway.idempotency_keys WHERE created_at < now() - make_interval("
                "hours => %s)",
                (self.ttl_hours,),
            )


def _error(status: int, code: str, message: str, details: Any = None) -> tuple[int, list, bytes]:
    error = {"code": code, "message": message, **({"details": details} if details else {})}
    body = json.dumps({"success": False, "error": error}).encode()
    return status, [(b"content-type", b"application/json")], body


def _without_secret(status: int, body: bytes) -> tuple[int, list, bytes]:
    """What a retry of a request whose answer held a secret gets instead of that answer."""
    try:
        data = json.loads(body).get("data") or {}
        resource = data.get("id") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        resource = None
    return _error(
        409,
        "SECRET_NOT_REPLAYED",
        "this request already ran; its answer held a secret, which is shown only once "
        "(rotate it if the first answer was lost)",
        {"id": resource, "status": status} if resource else {"status": status},
    )


def request_hash(scope: dict, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotent_posts(app: Any) -> Any:
    """ASGI middleware applying ``Idempotency-Key`` to authenticated POST requests."""

    async def middleware(scope: dict, receive: Any, send: Any) -> None:
        raw_key = dict(scope.get("headers", [])).get(HEADER) if scope["type"] == "http" else None
        user = scope.get("user")
        if (
            raw_key is None
            or scope["method"] != "POST"
            or user is None
            # An import is streamed (it may be gigabytes) and is an upsert: retrying it is
            # already safe, and buffering it to fingerprint it is not.
            or scope["path"] in _STREAMED_PATHS
        ):
            await app(scope, receive, send)
            return
        key = valid_key(raw_key)
        if key is None:
            await _answer(
                send,
                *_error(
                    400,
                    ErrorCode.VALIDATION_ERROR,
                    "Idempotency-Key must be 1-255 printable ASCII characters",
                ),
            )
            return
        body = await _read_body(receive)
        if body is None:
            await _answer(send, *_error(413, "PAYLOAD_TOO_LARGE", "the body is over 1 MiB"))
            return
        store: IdempotencyStore = scope["app"].state.idempotency
        fingerprint = request_hash(scope, body)
        verdict, stored = await store.claim(user.id, key, fingerprint)
        if verdict == "replay":
            status, headers, stored_body = stored
            raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            await _answer(send, status, [*raw_headers, REPLAYED], stored_body)
            return
        if verdict == "reused":
            await _answer(
                send,
                *_error(
                    409,
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used with another request; use a new key",
                ),
            )
            return
        if verdict == "busy":
            await _answer(
                send,
                *_error(
                    409,
                    "IDEMPOTENCY_KEY_IN_USE",
                    "a request with this Idempotency-Key is still running; retry shortly",
                ),
            )
            return

        answer: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def replay_body() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        # The answer is stored before the client sees it: a retry sent the moment the first
        # answer arrives must find it, not a request "still running".
        try:
            await app(scope, replay_body, capture)
        finally:
            kept = (answer["status"], answer["headers"], bytes(answer["body"]))
            if answer["status"] < 300 and _SECRET_ANSWERS.match(scope["path"]):
                kept = _without_secret(answer["status"], kept[2])
            try:
                await store.complete(user.id, key, *kept)
            except Exception as error:
                log.warning("idempotency.not_stored", error=repr(error))
        await _answer(send, answer["status"], answer["headers"], bytes(answer["body"]))

    return middleware


MAX_BODY_BYTES = 1024 * 1024


async def _read_body(receive: Any) -> bytes | None:
    """The whole body (to fingerprint it), or None past the gateway's body limit."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
