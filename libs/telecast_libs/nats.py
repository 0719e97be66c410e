"""NATS helpers: a resilient connection and idempotent JetStream declarations."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

from telecast_libs.log import get_logger

log = get_logger(__name__)


async def connect(url: str, name: str) -> Client:
    async def disconnected() -> None:
        log.warning("nats.disconnected")

    async def reconnected() -> None:
        log.info("nats.reconnected")

    async def error(exc: Exception) -> None:
        log.warning("nats.error", error=str(exc))

    return await nats.connect(
        servers=url.split(","),
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
