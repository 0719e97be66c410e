"""Pipelined publishing to a nats-server of the test's own, frozen and restarted under it.

Acknowledgements lost with a server must end the wait within its deadline and give the
client's pending-publish slots back: before, they were awaited forever, and every later
publish of the process stalled behind them, silently.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from telecast_devenv.embedded import EmbeddedNats
from telecast_devenv.platform import free_port
from telecast_libs.nats import publish_pipelined


def batch(count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    return [("pubtest.events", str(n).encode(), {}) for n in range(count)]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    running = EmbeddedNats(tmp_path / "nats", free_port(), keep_store=False)
    running.start()
    try:
        yield running
    finally:
        if running.pid is not None:
            os.kill(running.pid, signal.SIGCONT)
        running.stop()


async def test_acks_that_never_come_end_the_wait_and_free_the_publisher(
    server: EmbeddedNats,
) -> None:
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="PUBTEST", subjects=["pubtest.>"]))
    assert await publish_pipelined(js, batch(10)) == 10

    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)  # the server takes nothing in and answers nothing
    try:
        with pytest.raises(TimeoutError, match="acks missing"):
            await asyncio.wait_for(publish_pipelined(js, batch(500), timeout=1.0), 10)
        assert not js._publish_async_futures  # every slot given back
    finally:
        os.kill(server.pid, signal.SIGCONT)

    # The server restarts on its store: the same client publishes again by itself.
    server.stop(keep_store=True)
    server.start()
    for _ in range(50):
        try:
            assert await publish_pipelined(js, batch(100), timeout=2.0) == 100
            break
        except (TimeoutError, nats.errors.Error):
            await asyncio.sleep(0.2)
    else:
        pytest.fail("publishing did not recover after the server restarted")
    await nc.close()
