"""Looking behind the API: the event store, the stream and the read model, as they are."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from telecast_libs.subjects import subjects_for


def stored_events(database_url: str, campaign_id: str) -> list[tuple[int, str]]:
    """(version, topic) of every event the event store holds for a campaign."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_version, topic FROM campaign.campaigns_events "
            "WHERE originator_id = %s ORDER BY originator_version",
            (campaign_id,),
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def count_all_stored_events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        try:
            return conn.execute("SELECT count(*) FROM campaign.campaigns_events").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


def relay_position(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT position FROM campaign.relay_position").fetchone()[0]


def read_model_rows(database_url: str, campaign_id: str) -> list[dict]:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            "SELECT id::text, version, name, deleted_at FROM projection.campaigns WHERE id = %s",
            (campaign_id,),
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def checkpoint(database_url: str) -> tuple[int, int]:
    """(stream sequence, notification position) the projection has applied."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT stream_seq, position FROM projection.checkpoints").fetchone()
    return (row[0], row[1]) if row else (0, 0)


async def _stream_messages(nats_url: str, namespace: str) -> list[tuple[dict, dict]]:
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(subjects.campaign_events_stream)
        total = info.state.messages
        # Every subject of the stream (campaigns, segments, templates): ``total`` counts them all.
        subscription = await js.pull_subscribe(
            subjects.event(">"),
            durable=None,
            stream=subjects.campaign_events_stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        messages: list[tuple[dict, dict]] = []
        while len(messages) < total:
            batch = await subscription.fetch(min(1000, total - len(messages)), timeout=5)
            messages += [(json.loads(m.data), dict(m.headers or {})) for m in batch]
        await subscription.unsubscribe()
        return messages
    finally:
        await nc.close()


def stream_messages(nats_url: str, namespace: str) -> list[tuple[dict, dict]]:
    """Every message in the campaign service's event stream (campaigns, segments, templates):
    (envelope, headers)."""
    return asyncio.run(_stream_messages(nats_url, namespace))


def stream_last_seq(nats_url: str, namespace: str) -> int:
    async def last() -> int:
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().stream_info(subjects_for(namespace).campaign_events_stream)
            return info.state.last_seq
        finally:
            await nc.close()

    return asyncio.run(last())


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or condition}")
