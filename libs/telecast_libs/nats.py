"""NATS helpers: a resilient connection, idempotent JetStream declarations, and pipelined
publishing that never waits without a deadline."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

from telecast_libs.log import get_logger
from telecast_libs.settings import CommonSettings

log = get_logger(__name__)


async def connect(settings: CommonSettings, name: str) -> Client:
    """Connect to ``NATS_URL`` as the service's NATS user, over TLS if configured."""

    async def disconnected() -> None:
        log.warning("nats.disconnected")

    async def reconnected() -> None:
        log.info("nats.reconnected")

    async def error(exc: Exception) -> None:
        log.warning("nats.error", error=str(exc))

    return await nats.connect(
        servers=settings.nats_url.split(","),
        **credentials(settings),
        **tls_options(settings),
        name=name,
        # Keep trying for as long as the service lives: NATS restarts must not kill it.
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        error_cb=error,
    )


def credentials(settings: CommonSettings) -> dict[str, Any]:
    """nats.connect's options for the service's user; none without a password (development
    on a server that asks for none)."""
    if settings.nats_user is None or not settings.nats_password:
        return {}
    return {
        "user": settings.nats_user,
        "password": settings.nats_password,
        # Answers to this user's requests (JetStream's too) come to _INBOX.<user>.…, the only
        # inboxes its permissions let it read: no service can read another's answers.
        "inbox_prefix": f"_INBOX.{settings.nats_user}",
    }


def tls_options(settings: CommonSettings) -> dict[str, Any]:
    """nats.connect's options for TLS, with a tls:// URL or a configured CA or certificate:
    the server's certificate verified against the CA (else the system's), this client's
    presented if one is set. The handshake comes first, before the server says anything:
    nats-py otherwise upgrades only when the server's greeting asks for TLS, so whoever
    answered in the server's place could have the password sent in clear. The server's tls
    block needs ``handshake_first`` (deploy/nats/nats-server.conf)."""
    tls_url = any(server.strip().startswith("tls://") for server in settings.nats_url.split(","))
    if not (tls_url or settings.nats_tls_ca or settings.nats_tls_cert):
        return {}
    context = ssl.create_default_context(cafile=settings.nats_tls_ca or None)
    if settings.nats_tls_cert:
        context.load_cert_chain(settings.nats_tls_cert, settings.nats_tls_key or None)
    return {"tls": context, "tls_handshake_first": True}


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def recreate_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Replace a durable consumer (its start position cannot be updated in place)."""
    try:
        await js.delete_consumer(stream, config.durable_name)
    except NotFoundError:
        pass
    await js.add_consumer(stream, config)


# How long a pipelined batch may wait for its acknowledgements. JetStream acks a batch of
# thousands in well under a second here, even under load; acks missing after this went down
# with a server or a connection (the batch is published again: JetStream drops duplicates).
PUBLISH_ACK_SECONDS = 3.0


async def publish_pipelined(
    js: JetStreamContext,
    messages: Iterable[tuple[str, bytes, dict[str, str]]],
    *,
    timeout: float = PUBLISH_ACK_SECONDS,
) -> int:
    """Publish (subject, payload, headers) without waiting between messages, then wait for
    every acknowledgement, all within ``timeout``; the number published.

    Raises ``TimeoutError`` when acks are missing by then. Waiting on without a deadline is
    what must not happen: acks lost with a restarting server never come, and nats-py frees a
    pending-publish slot only when its future is done, so unresolved futures would stall
    every later publish of the process, silently. The futures left are cancelled, which
    gives their slots back; the caller's outbox (PostgreSQL) still holds the messages.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    futures: list[asyncio.Future] = []
    try:
        for subject, payload, headers in messages:
            futures.append(
                await js.publish_async(
                    subject,
                    payload,
                    headers=headers,
                    wait_stall=max(deadline - loop.time(), 0.001),
                )
            )
        if not futures:
            return 0
        done, pending = await asyncio.wait(futures, timeout=max(deadline - loop.time(), 0))
        if pending:
            raise TimeoutError(
                f"{len(pending)} of {len(futures)} JetStream acks missing after {timeout} s"
            )
        for future in done:
            future.result()  # a refusal (no stream, wrong sequence) raises here
        return len(futures)
    finally:
        for future in futures:
            if not future.done():
                future.cancel()
