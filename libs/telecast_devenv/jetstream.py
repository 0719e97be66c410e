"""JetStream housekeeping for test sessions."""

from __future__ import annotations

import nats


async def delete_streams(nats_url: str, prefix: str) -> list[str]:
    """Delete every JetStream stream whose name starts with ``prefix``, and the streams of
    key-value buckets whose name does (``KV_<prefix>…``); return their names."""
    connection = await nats.connect(nats_url)
    try:
        jetstream = connection.jetstream()
        names: list[str] = []
        while page := await jetstream.streams_info(offset=len(names)):
            names.extend(info.config.name for info in page if info.config.name)
        doomed = [name for name in names if name.startswith((prefix, f"KV_{prefix}"))]
        for name in doomed:
            await jetstream.delete_stream(name)
        return doomed
    finally:
        await connection.close()
