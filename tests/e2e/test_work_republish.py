"""The work queue is a transport: work items it lost are queued again from PostgreSQL
(``python -m telecast_dispatcher republish-work``), and the execution completes with every
recipient sent exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import nats
import pytest
from support.inspect import wait_until
from support.sending import (
    create_campaign,
    execute,
    ledger,
    make_audience,
    own_platform,
    simulator_count,
    simulator_messages,
    status,
    wait_sent,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        # One item at a time, 500 recipients each, 200 a second: the rest wait on the queue.
        "SEND_MAX_ITEMS": "1",
        "SEND_ITEM_SIZE": "500",
        "TELEGRAM_BOT_RATE": "200",
        "TELEGRAM_SIM_ACCOUNT_RATE": "200",
    }
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("work"), env
    ) as running:
        yield running


def purge_work_queue(platform: Platform) -> None:
    async def purge() -> None:
        connection = await nats.connect(platform.nats_url)
        try:
            await connection.jetstream().purge_stream(f"{platform.namespace.upper()}_DISPATCH_WORK")
        finally:
            await connection.close()

    asyncio.run(purge())


def test_lost_work_items_are_queued_again_and_nothing_is_sent_twice(
    platform: Platform, api: httpx.Client
) -> None:
    audience = make_audience(api, "lost-work", list(range(5_000_000, 5_001_500)))
    campaign_id = create_campaign(api, audience, ["Hello {{firstName}}"])
    execution_id = execute(api, campaign_id)
    wait_sent(platform, execution_id, 100)
    purge_work_queue(platform)  # the two items waiting behind the first are gone
    # The first item finishes; nothing else comes: the execution is stuck at 500.
    wait_until(
        lambda: simulator_count(platform.database_url, execution_id) == 500,
        timeout=30,
        what="the first item sent",
    )
    time.sleep(3)
    assert simulator_count(platform.database_url, execution_id) == 500
    assert status(api, campaign_id) == "active"

    republished = subprocess.run(
        [sys.executable, "-m", "telecast_dispatcher", "republish-work"],
        env={**os.environ, **platform["dispatcher"].env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert republished.returncode == 0, republished.stderr
    assert "2 work items" in republished.stdout
    wait_status(api, campaign_id, "completed", timeout=60)
    rows = ledger(platform.database_url, execution_id)
    assert len(rows) == 1500 and {row["state"] for row in rows} == {"sent"}
    references = [m["reference"] for m in simulator_messages(platform.database_url, execution_id)]
    assert len(references) == len(set(references)) == 1500


def test_the_leader_notices_lost_items_by_itself(platform: Platform, api: httpx.Client) -> None:
    audience = make_audience(api, "lost-work-2", list(range(5_100_000, 5_101_500)))
    campaign_id = create_campaign(api, audience, ["Hello {{firstName}}"])
    execution_id = execute(api, campaign_id)
    wait_sent(platform, execution_id, 100)
    purge_work_queue(platform)
    # The queue looks empty for LOST_AFTER_SECONDS (30 s) while items wait: queued again.
    wait_status(api, campaign_id, "completed", timeout=120)
    assert "work.lost_items_requeued" in platform["dispatcher"].log_path.read_text()
    references = [m["reference"] for m in simulator_messages(platform.database_url, execution_id)]
    assert len(references) == len(set(references)) == 1500
