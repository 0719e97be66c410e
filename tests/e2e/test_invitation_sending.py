"""Invitation campaigns through the simulator: every recipient gets an invite link of its
own, made by the sending account for the campaign's chat, in the message; a chat the
account does not administer fails each recipient with CHAT_ADMIN_REQUIRED."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from support.sending import (
    create_campaign,
    execute,
    ledger,
    make_audience,
    own_platform,
    query,
    simulator_messages,
    wait_status,
)

from telecast_devenv import Infra
from telecast_devenv.platform import Platform

CHAT = -1001234567890
NOT_ADMIN = -1009999999999
LINK = re.compile(r"https://t\.me/\+[\w-]+")


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
        "TELEGRAM_SIM_NOT_ADMIN_CHATS": str(NOT_ADMIN),
        "GUARD_MAX_ERROR_RATE": "1",
    }
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("invite"), env
    ) as running:
        yield running


def test_each_recipient_gets_a_link_of_its_own_in_the_message(
    platform: Platform, api: httpx.Client
) -> None:
    audience = make_audience(api, "invite-ok", list(range(4_000_000, 4_000_020)))
    campaign_id = create_campaign(
        api,
        audience,
        ["Join us, {{firstName}}: {{inviteLink}}"],
        type="invitation",
        invitation={"chatId": CHAT, "memberLimit": 1, "expireHours": 72},
    )
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "completed", timeout=60)
    assert {row["state"] for row in ledger(platform.database_url, execution_id)} == {"sent"}
    invites = query(
        platform.database_url,
        "SELECT link, chat_id, member_limit, join_request, expire_date IS NOT NULL "
        "FROM telegram_sim.invites WHERE chat_id = %s",
        (CHAT,),
    )
    assert len(invites) == 20
    assert {(chat, limit, join, expires) for _, chat, limit, join, expires in invites} == {
        (CHAT, 1, False, True)
    }
    sent_links = []
    for message in simulator_messages(platform.database_url, execution_id):
        (link,) = LINK.findall(message["text"])
        assert message["text"].startswith("Join us, Ann")
        sent_links.append(link)
    assert sorted(sent_links) == sorted(link for link, *_ in invites)


def test_a_chat_the_account_does_not_administer_fails_each_recipient(
    platform: Platform, api: httpx.Client
) -> None:
    audience = make_audience(api, "invite-refused", list(range(4_100_000, 4_100_005)))
    campaign_id = create_campaign(
        api,
        audience,
        ["Join: {{inviteLink}}"],
        type="invitation",
        invitation={"chatId": NOT_ADMIN},
    )
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "completed", timeout=60)
    rows = ledger(platform.database_url, execution_id)
    assert {(row["state"], row["code"]) for row in rows} == {("failed", "CHAT_ADMIN_REQUIRED")}
    assert simulator_messages(platform.database_url, execution_id) == []
