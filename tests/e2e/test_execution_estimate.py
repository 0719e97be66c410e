"""``estimatedCompletion`` in the execute answer, through HTTP, on a platform that sends at a
known rate (one simulated bot at 10 messages per second): from the audience, the rate and
the work queued ahead; for a scheduled execution, from its start."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.inspect import wait_until
from support.sending import create_campaign, detail, make_audience, own_platform, wait_status

from telecast_devenv.infra import Infra
from telecast_devenv.platform import Platform

RATE = 10.0


@pytest.fixture(scope="module")
def platform(
    infra: Infra, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {"TELEGRAM_BOT_RATE": str(RATE), "TELEGRAM_SIM_ACCOUNTS": "sim-bot-1"}
    with own_platform(
        infra.database_url, nats_url, tmp_path_factory.mktemp("logs"), env
    ) as running:
        yield running


def _execute(api: httpx.Client, campaign_id: str, **options: object) -> dict:
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/execute", json=options)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _when(body: dict) -> datetime:
    return datetime.fromisoformat(body["estimatedCompletion"])


def _progress(api: httpx.Client, campaign_id: str) -> dict:
    return api.get(f"/api/v1/campaigns/{campaign_id}/progress").json()["data"]


def test_an_execution_completes_when_its_audience_is_sent_at_the_accounts_rate(
    api: httpx.Client,
) -> None:
    audience = make_audience(api, "estimate-now", list(range(61_000_000, 61_000_050)))
    # 50 recipients, two messages each: 100 messages at 10 per second.
    campaign = create_campaign(api, audience, ["First", "Second"])
    before = datetime.now(UTC)
    body = _execute(api, campaign)
    after = datetime.now(UTC)
    estimate = _when(body)
    assert before + timedelta(seconds=9) <= estimate <= after + timedelta(seconds=11)
    wait_status(api, campaign, "completed", timeout=120)
    completed = datetime.fromisoformat(detail(api, campaign)["execution"]["completedAt"])
    print(f"estimated {estimate.isoformat()}, completed {completed.isoformat()}")
    # The rate is a limit: sending cannot be done much before the estimate.
    assert completed >= estimate - timedelta(seconds=2)


def test_the_work_queued_ahead_delays_the_estimate(api: httpx.Client) -> None:
    ahead = make_audience(api, "estimate-ahead", list(range(62_000_000, 62_000_300)))
    behind = make_audience(api, "estimate-behind", list(range(63_000_000, 63_000_020)))
    first = create_campaign(api, ahead, ["Ahead"])
    second = create_campaign(api, behind, ["Behind"])
    _execute(api, first, priority="high")
    wait_until(
        lambda: _progress(api, first)["progress"]["total"] == 300,
        timeout=30,
        what="the first execution planned",
    )
    left_before = 300 - _progress(api, first)["progress"]["processed"]
    before = datetime.now(UTC)
    body = _execute(api, second, priority="low")
    after = datetime.now(UTC)
    left_after = 300 - _progress(api, first)["progress"]["processed"]
    assert left_after > 20, "the first execution ended too soon to tell"
    # What the first one has left, then the second's 20 messages, at 10 per second.
    earliest = before + timedelta(seconds=(left_after + 20) / RATE - 1)
    latest = after + timedelta(seconds=(left_before + 20) / RATE + 1)
    assert earliest <= _when(body) <= latest
    wait_status(api, second, "completed", timeout=120)


def test_a_scheduled_execution_is_estimated_from_its_start(api: httpx.Client) -> None:
    audience = make_audience(api, "estimate-later", list(range(64_000_000, 64_000_020)))
    campaign = create_campaign(api, audience, ["Later"])
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    body = _execute(api, campaign, scheduledAt=start.isoformat())
    assert body["status"] == "scheduled"
    # 20 messages at 10 per second, from the start (what is queued now is sent by then).
    assert _when(body) == start + timedelta(seconds=2)
    sampled = create_campaign(api, audience, ["Later, half"])
    body = _execute(api, sampled, scheduledAt=start.isoformat(), targetPercentage=50)
    assert _when(body) == start + timedelta(seconds=1)


def test_nothing_to_send_has_no_estimate(api: httpx.Client) -> None:
    answer = api.post("/api/v1/campaigns", json={"name": "Nobody", "type": "message"})
    campaign = answer.json()["data"]["id"]
    body = _execute(api, campaign)
    assert body["status"] == "started" and "estimatedCompletion" not in body
