"""Sending end to end, unthrottled, with Telegram's recipient errors: a campaign to 10,000
contacts completes, and the ledger, the delivery events and the simulator's record agree on
exactly one outcome per recipient; test mode sends to test recipients only."""

from __future__ import annotations

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
    make_audience,
    own_platform,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform
from telecast_dispatcher.sending.outcomes import classify
from telecast_telegram_sim import expected_refusal

ERROR_MIX = (
    "USER_IS_BLOCKED=0.02,INPUT_USER_DEACTIVATED=0.01,PEER_ID_INVALID=0.005,RPC_CALL_FAIL=0.02"
)


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
        "TELEGRAM_SIM_ERROR_MIX": ERROR_MIX,
        # The error-rate guard stays off here (test_sending_guards.py trips it).
        "GUARD_MAX_ERROR_RATE": "1",
    }
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


def test_ten_thousand_recipients_each_get_exactly_one_outcome(
    platform: Platform, api: httpx.Client
) -> None:
    ids = list(range(10_000_000, 10_010_000))
    started = time.monotonic()
    audience = make_audience(api, "ten-thousand", ids)
    print(f"imported {len(ids)} contacts and segment counted in {time.monotonic() - started:.1f}s")
    campaign_id = create_campaign(api, audience, ["Hello {{firstName}}!"])
    execution_id = execute(api, campaign_id)
    took = wait_status(api, campaign_id, "completed", timeout=300)
    print(f"10,000 recipients: completed {took:.1f}s after execute")

    rows, events, messages = assert_exactly_once(platform, execution_id, len(ids), 1)

    failed_codes: dict[str, int] = {}
    for row in rows:
        expected = expected_refusal(row["telegram_id"], ERROR_MIX)
        if expected is None:
            # A transient error five times in a row is possible, but not at 2%.
            assert row["state"] == "sent", row
        else:
            assert row["state"] == "failed", row
            assert row["code"] == classify(expected).code, row
            failed_codes[row["code"]] = failed_codes.get(row["code"], 0) + 1
    print("failed by code:", failed_codes)
    assert set(failed_codes) == {"USER_BLOCKED", "USER_DEACTIVATED", "PEER_INVALID"}

    by_chat = {m["chat_id"]: m for m in messages}
    for tid in ids[:: len(ids) // 50]:
        if tid in by_chat:
            assert by_chat[tid]["text"] == f"Hello {audience.first_names[tid]}!"
    assert sum(1 for e in events if e.type == "delivery.sent") == len(messages)

    blocked = [r["contact_id"] for r in rows if r["code"] == "USER_BLOCKED"]
    assert blocked
    wait_until(
        lambda: all(api.get(f"/api/v1/contacts/{c}").json()["data"]["blocked"] for c in blocked),
        timeout=30,
        interval=0.5,
        what="the blocked contacts marked blocked",
    )
    not_blocked = [r["contact_id"] for r in rows if r["state"] == "sent"][:20]
    assert not any(api.get(f"/api/v1/contacts/{c}").json()["data"]["blocked"] for c in not_blocked)

    completed = [
        data
        for kind, data in campaign_events(platform, campaign_id)
        if kind == "campaign.completed"
    ]
    assert len(completed) == 1
    assert completed[0].get("code") == "ALL_RECIPIENTS_DONE"


def test_test_mode_sends_to_test_recipients_only(platform: Platform, api: httpx.Client) -> None:
    ids = list(range(10_100_000, 10_100_040))
    testers = frozenset(ids[::8])
    audience = make_audience(api, "test-mode", ids, test_recipients=testers)
    campaign_id = create_campaign(api, audience, ["Preview for {{firstName}}"])
    execution_id = execute(api, campaign_id, testMode=True)
    wait_status(api, campaign_id, "completed", timeout=60)

    rows, _, messages = assert_exactly_once(platform, execution_id, len(testers), 1)
    assert {r["telegram_id"] for r in rows} == set(testers)
    assert {m["chat_id"] for m in messages} <= set(testers)
    assert {m["chat_id"] for m in messages} == {
        r["telegram_id"] for r in rows if r["state"] == "sent"
    }
