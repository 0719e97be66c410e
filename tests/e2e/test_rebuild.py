"""Rebuild: the read models dropped and replayed from the streams answer byte for byte what
the live ones answered (campaigns, detail, statistics, progress, segments, templates), and
the statistics equal the dispatcher's ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from support.inspect import wait_until
from support.sending import (
    create_campaign,
    execute,
    ledger,
    make_audience,
    own_platform,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform

MIX = "USER_IS_BLOCKED=0.05,PEER_ID_INVALID=0.03"


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
        "TELEGRAM_SIM_ERROR_MIX": MIX,
        "GUARD_MAX_ERROR_RATE": "1",
    }
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("rebuild"), env
    ) as running:
        yield running


def answers(api: httpx.Client, campaign_ids: list[str]) -> dict[str, bytes]:
    """Every read a client can make of these campaigns, as the bytes of its answer."""
    paths = ["/api/v1/campaigns?limit=100", "/api/v1/segments", "/api/v1/templates"]
    for campaign_id in campaign_ids:
        paths += [
            f"/api/v1/campaigns/{campaign_id}",
            f"/api/v1/campaigns/{campaign_id}/statistics",
            f"/api/v1/campaigns/{campaign_id}/statistics?period=30d",
            f"/api/v1/campaigns/{campaign_id}/progress",
        ]
    return {path: api.get(path).content for path in paths}


def test_a_rebuild_answers_byte_for_byte_what_the_live_read_models_did(
    platform: Platform, api: httpx.Client
) -> None:
    template = api.post(
        "/api/v1/templates",
        json={"name": "greeting", "content": "Hello {{firstName}}!", "parseMode": "html"},
    )
    assert template.status_code == 201, template.text
    campaigns, executions = [], []
    for batch, first in (("rebuild-a", 3_000_000), ("rebuild-b", 3_100_000)):
        audience = make_audience(api, batch, list(range(first, first + 400)))
        campaign_id = create_campaign(
            api, audience, ["Hi {{firstName}}", "Second for {{firstName}}"]
        )
        campaigns.append(campaign_id)
        executions.append(execute(api, campaign_id))
    draft = create_campaign(api, audience, ["never sent"], name="a draft")
    campaigns.append(draft)
    for campaign_id in campaigns[:2]:
        wait_status(api, campaign_id, "completed", timeout=120)

    def settled() -> dict[str, bytes]:
        # The statistics follow the delivery events; wait until they hold every outcome.
        for campaign_id, execution_id in zip(campaigns[:2], executions, strict=True):
            rows = ledger(platform.database_url, execution_id)
            body = api.get(f"/api/v1/campaigns/{campaign_id}/statistics").json()["data"]
            if body["overview"]["messagesSent"] != len(rows):
                return {}
        return answers(api, campaigns)

    wait_until(lambda: bool(settled()), timeout=60, what="statistics with every outcome")
    before = settled()
    # The figures are the ledger's.
    for campaign_id, execution_id in zip(campaigns[:2], executions, strict=True):
        rows = ledger(platform.database_url, execution_id)
        overview = api.get(f"/api/v1/campaigns/{campaign_id}/statistics").json()["data"]
        overview = overview["overview"]
        assert overview["delivered"] == sum(r["state"] == "sent" for r in rows)
        assert overview["messagesSent"] == len(rows) == 800

    rebuilt = subprocess.run(
        [sys.executable, "-m", "telecast_projection", "rebuild"],
        env={**os.environ, **platform["projection"].env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    wait_until(
        lambda: "projection.rebuild_requested" in platform["projection"].log_path.read_text(),
        timeout=20,
        what="the projection to take the rebuild",
    )
    wait_until(lambda: answers(api, campaigns) == before, timeout=90, what="the replay")
    after = answers(api, campaigns)
    assert after == before
    assert b'"messagesSent":800' in before[f"/api/v1/campaigns/{campaigns[0]}/statistics"]


def test_a_rebuild_is_refused_when_a_stream_lost_its_history(platform: Platform) -> None:
    import asyncio

    import nats

    async def trim() -> None:
        connection = await nats.connect(platform.nats_url)
        try:
            js = connection.jetstream()
            stream = f"{platform.namespace.upper()}_DELIVERY_EVENTS"
            info = await js.stream_info(stream)
            await js.delete_msg(stream, info.state.first_seq)
        finally:
            await connection.close()

    asyncio.run(trim())
    refused = subprocess.run(
        [sys.executable, "-m", "telecast_projection", "rebuild"],
        env={**os.environ, **platform["projection"].env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "republish" in refused.stderr and "DELIVERY_EVENTS" in refused.stderr
