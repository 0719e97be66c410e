"""Sending end to end from a single bot account: the guards pause a campaign (error rate,
budget), a group gets no more than its per-minute limit, and PEER_FLOOD on the only account
fails the running campaign."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from support.inspect import wait_until
from support.sending import (
    assert_exactly_once,
    campaign_events,
    create_campaign,
    execute,
    ledger,
    make_audience,
    own_platform,
    query,
    simulator_control,
    simulator_count,
    wait_published,
    wait_sent,
    wait_status,
)
from support.telegram_sim import limit_violations, recorded, sent_rows

from telecast_devenv import Infra
from telecast_devenv.platform import Platform

ACCOUNT = "solo"
RATE = 30
GROUP_PER_MINUTE = 2
MIN_OUTCOMES = 20


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {
        "TELEGRAM_SIM_ACCOUNTS": ACCOUNT,
        "TELEGRAM_BOT_RATE": str(RATE),
        "TELEGRAM_SIM_ACCOUNT_RATE": str(RATE),
        "GUARD_MAX_ERROR_RATE": "0.5",
        "GUARD_MIN_OUTCOMES": str(MIN_OUTCOMES),
        "MESSAGE_COST": "1",
        "SEND_GROUP_PER_MINUTE": str(GROUP_PER_MINUTE),
        "TELEGRAM_SIM_GROUP_RATE_PER_MINUTE": str(GROUP_PER_MINUTE),
    }
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


def _paused_events(platform: Platform, campaign_id: str) -> list[dict]:
    return [
        data for kind, data in campaign_events(platform, campaign_id) if kind == "campaign.paused"
    ]


def test_a_high_error_rate_pauses_the_campaign(platform: Platform, api: httpx.Client) -> None:
    simulator_control(platform, "configure", errorMix="USER_IS_BLOCKED=0.8")
    try:
        ids = list(range(30_000_000, 30_000_200))
        audience = make_audience(api, "error-rate", ids)
        campaign_id = create_campaign(api, audience, ["Hello {{firstName}}"])
        execution_id = execute(api, campaign_id)
        wait_status(api, campaign_id, "paused", timeout=60)
    finally:
        simulator_control(platform, "configure", errorMix="")

    wait_until(lambda: _paused_events(platform, campaign_id), what="campaign.paused")
    (paused,) = _paused_events(platform, campaign_id)
    assert paused["code"] == "ERROR_RATE"
    assert "error rate" in paused["reason"]
    print("paused:", paused["reason"])
    wait_published(platform.database_url, execution_id)
    rows = ledger(platform.database_url, execution_id)
    outcomes = [r for r in rows if r["state"] in ("sent", "failed")]
    print(f"{len(outcomes)} outcomes of {len(ids)} when the guard tripped")
    assert MIN_OUTCOMES <= len(outcomes) < len(ids)
    assert simulator_count(platform.database_url, execution_id) == sum(
        1 for r in rows if r["state"] == "sent"
    )


def test_an_exhausted_budget_pauses_the_campaign(platform: Platform, api: httpx.Client) -> None:
    budget = 50
    ids = list(range(30_100_000, 30_100_200))
    audience = make_audience(api, "budget", ids)
    campaign_id = create_campaign(api, audience, ["Offer for {{firstName}}"], budget=budget)
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "paused", timeout=60)

    wait_until(lambda: _paused_events(platform, campaign_id), what="campaign.paused")
    (paused,) = _paused_events(platform, campaign_id)
    assert paused["code"] == "BUDGET_EXHAUSTED"
    assert paused["reason"]
    time.sleep(1.0)  # sends under way when the guard tripped are answered and recorded
    wait_published(platform.database_url, execution_id)
    sent = sum(1 for r in ledger(platform.database_url, execution_id) if r["state"] == "sent")
    accepted = simulator_count(platform.database_url, execution_id)
    print(f"budget {budget}: {sent} sent ({accepted} accepted by the simulator)")
    assert sent == accepted
    # Overshoot: the sends under way when the guard tripped (at 30/s, a claim of about 8).
    assert budget <= sent < budget + RATE


def test_a_group_gets_no_more_than_its_per_minute_limit(
    platform: Platform, api: httpx.Client
) -> None:
    """Slow by design: the third message to each group waits for the window (about 60 s)."""
    groups = [-100_300_000_001, -100_300_000_002]
    audience = make_audience(api, "groups", groups, chat_type="group")
    campaign_id = create_campaign(api, audience, ["One", "Two", "Three"])
    started = time.monotonic()
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "completed", timeout=150)
    print(f"3 messages to 2 groups at {GROUP_PER_MINUTE}/min: {time.monotonic() - started:.1f}s")

    rows, _, messages = assert_exactly_once(platform, execution_id, len(groups), 3)
    assert all(r["state"] == "sent" for r in rows)
    assert {m["chat_kind"] for m in messages} == {"group"}
    assert limit_violations(sent_rows(messages), RATE, 0, GROUP_PER_MINUTE) == []
    over_limit = asyncio.run(
        recorded(platform.database_url, "refusals", "chat_id = ANY(%s) AND over_limit", (groups,))
    )
    assert over_limit == []


def test_peer_flood_on_the_only_account_fails_the_campaign(
    platform: Platform, api: httpx.Client
) -> None:
    ids = list(range(30_300_000, 30_300_300))
    audience = make_audience(api, "no-account", ids)
    campaign_id = create_campaign(api, audience, ["Last one, {{firstName}}"])
    execution_id = execute(api, campaign_id)
    wait_sent(platform, execution_id, 30)
    simulator_control(platform, "peer_flood", ACCOUNT)
    wait_status(api, campaign_id, "paused", timeout=60)

    def failed() -> list[dict]:
        return [
            data
            for kind, data in campaign_events(platform, campaign_id)
            if kind == "campaign.failed"
        ]

    wait_until(failed, what="campaign.failed")
    (event,) = failed()
    assert event["code"] == "NO_SENDING_ACCOUNT"
    assert event["executionId"] == execution_id
    assert event["reason"]
    assert query(
        platform.database_url, "SELECT account, state, code FROM dispatcher.account_states"
    ) == [(ACCOUNT, "limited", "PEER_FLOOD")]
    sent = sum(1 for r in ledger(platform.database_url, execution_id) if r["state"] == "sent")
    print(f"{sent} of {len(ids)} sent before PEER_FLOOD")
    assert 30 <= sent < len(ids)
    assert "campaign.completed" not in [kind for kind, _ in campaign_events(platform, campaign_id)]
