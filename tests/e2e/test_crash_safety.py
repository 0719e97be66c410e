"""Crash safety: real processes killed at the worst moments lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import httpx
import nats
from support import signed
from support.inspect import (
    checkpoint,
    read_model_rows,
    relay_position,
    stored_events,
    stream_last_seq,
    stream_messages,
    wait_until,
)

from telecast_devenv.platform import Platform
from telecast_libs.failpoints import EXIT_CODE
from telecast_libs.subjects import subjects_for


def test_relay_killed_between_publish_and_position_save_duplicates_nothing(
    platform: Platform, api: httpx.Client
) -> None:
    campaign = platform["campaign"]
    campaign.stop()
    campaign.start(TELECAST_FAILPOINTS="relay.after_publish")
    campaign.wait_ready()
    position_before = relay_position(platform.database_url)

    answer = api.post("/api/v1/campaigns", json={"name": "Crash test", "type": "message"})
    assert answer.status_code == 201, answer.text
    campaign_id = answer.json()["data"]["id"]
    # The relay published the event, then died before saving its position.
    assert campaign.wait_exit(timeout=20) == EXIT_CODE
    assert relay_position(platform.database_url) == position_before

    campaign.start()
    campaign.wait_ready()
    wait_until(
        lambda: relay_position(platform.database_url) > position_before,
        what="the restarted relay to publish again",
    )
    on_stream = [
        envelope
        for envelope, _ in stream_messages(platform.nats_url, platform.namespace)
        if envelope["aggregateId"] == campaign_id
    ]
    assert len(on_stream) == 1, "JetStream kept a duplicate of the re-published event"
    wait_until(
        lambda: (
            checkpoint(platform.database_url)[0]
            == stream_last_seq(platform.nats_url, platform.namespace)
        ),
        what="the projection to catch up",
    )
    rows = read_model_rows(platform.database_url, campaign_id)
    assert [(r["version"], r["name"]) for r in rows] == [(1, "Crash test")]
    assert len(stored_events(platform.database_url, campaign_id)) == 1


async def _send_commands(nats_url: str, namespace: str, count: int, ids: list[str]) -> None:
    """Create campaigns and update each three times, straight through the command subject."""
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    meta = {"actor": {"id": "crash-test"}, "correlationId": uuid.uuid4().hex}

    async def one(index: int) -> None:
        create = {
            "kind": "campaign.create",
            "meta": meta,
            "content": {"name": f"load {index}", "type": "message"},
        }
        reply = json.loads(
            (
                await signed.request(
                    nc, subjects.command("campaign.create"), json.dumps(create).encode()
                )
            ).data
        )
        campaign_id = reply["result"]["aggregateId"]
        for version in (1, 2, 3):
            update = {
                "kind": "campaign.update",
                "meta": meta,
                "campaignId": campaign_id,
                "changes": {"name": f"load {index} v{version + 1}"},
                "expectedVersion": version,
            }
            reply = json.loads(
                (
                    await signed.request(
                        nc, subjects.command("campaign.update"), json.dumps(update).encode()
                    )
                ).data
            )
            assert reply["ok"], reply
        ids.append(campaign_id)

    try:
        for start in range(0, count, 20):
            await asyncio.gather(*(one(i) for i in range(start, min(count, start + 20))))
    finally:
        await nc.close()


def test_projection_killed_mid_stream_applies_everything_exactly_once(
    platform: Platform,
) -> None:
    projection = platform["projection"]
    ids: list[str] = []
    writer = threading.Thread(
        target=lambda: asyncio.run(_send_commands(platform.nats_url, platform.namespace, 200, ids))
    )
    writer.start()
    # Kill the projection while events are flowing, twice.
    for _ in range(2):
        wait_until(lambda: len(ids) >= 40 or not writer.is_alive(), what="some commands")
        projection.kill()
        projection.start()
        projection.wait_ready()
        baseline = len(ids)
        wait_until(lambda b=baseline: len(ids) >= b + 40 or not writer.is_alive(), what="more")
    writer.join(timeout=120)
    assert len(ids) == 200

    wait_until(
        lambda: (
            checkpoint(platform.database_url)[0]
            == stream_last_seq(platform.nats_url, platform.namespace)
        ),
        timeout=60,
        what="the projection to apply the whole stream",
    )
    # The restarted projection resumed from its checkpoint, not from the start of the stream.
    follows = [
        json.loads(line)
        for line in projection.log_path.read_text().splitlines()
        if '"follower.following"' in line
    ]
    assert len(follows) >= 3
    assert follows[-1]["stream_seq"] > 0
    for campaign_id in ids:
        rows = read_model_rows(platform.database_url, campaign_id)
        assert len(rows) == 1
        assert rows[0]["version"] == 4, rows
        assert rows[0]["name"].endswith(" v4")
    # Every event of these campaigns is on the stream exactly once.
    envelopes = [e for e, _ in stream_messages(platform.nats_url, platform.namespace)]
    keys = [
        (e["aggregateId"], e["aggregateVersion"]) for e in envelopes if e["aggregateId"] in set(ids)
    ]
    assert len(keys) == len(set(keys)) == 200 * 4
