"""Priority: a high-priority execution started while a low one is sending goes first; the
low one waits, then finishes, and nothing is sent twice."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.sending import (
    create_campaign,
    execute,
    make_audience,
    own_platform,
    simulator_messages,
    wait_sent,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        "SEND_ITEM_SIZE": "100",
        "TELEGRAM_BOT_RATE": "100",
        "TELEGRAM_SIM_ACCOUNT_RATE": "100",
    }
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("priority"), env
    ) as running:
        yield running


def test_a_high_priority_execution_overtakes_a_low_one(
    platform: Platform, api: httpx.Client
) -> None:
    low_audience = make_audience(api, "prio-low", list(range(6_000_000, 6_001_500)))
    high_audience = make_audience(api, "prio-high", list(range(6_100_000, 6_100_200)))
    low = create_campaign(api, low_audience, ["low {{firstName}}"])
    high = create_campaign(api, high_audience, ["high {{firstName}}"])
    low_execution = execute(api, low, priority="low")
    wait_sent(platform, low_execution, 200)
    high_execution = execute(api, high, priority="high")
    wait_status(api, high, "completed", timeout=60)
    wait_status(api, low, "completed", timeout=120)

    high_times = sorted(
        m["accepted_at"] for m in simulator_messages(platform.database_url, high_execution)
    )
    low_messages = simulator_messages(platform.database_url, low_execution)
    assert len(high_times) == 200
    assert len({m["reference"] for m in low_messages}) == len(low_messages) == 1500
    # While the high one sent, the low one almost stopped: only what it had already
    # claimed (a quarter of a second of sending) went out among the high one's messages.
    among = [m for m in low_messages if high_times[0] < m["accepted_at"] < high_times[-1]]
    print(f"low messages among the high one's: {len(among)}")
    assert len(among) <= 40
    assert max(m["accepted_at"] for m in low_messages) > high_times[-1]
