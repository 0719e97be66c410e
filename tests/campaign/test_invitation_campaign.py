"""Invitation campaigns: the ``invitation`` content and its rules, without any server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import ChangeConflicts, EditNotAllowed, ValidationFailed
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent, ExecutionOptions

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHANNEL = {"chatId": -1001234567890, "expireHours": 72, "memberLimit": 1}


def everyone(strict: bool) -> Audience:
    return Audience(None)


def draft(**fields: Any) -> Campaign:
    content = msgspec.convert(
        {"name": "VIP Channel", "type": "invitation", **fields}, CampaignContent
    )
    campaign = Campaign.create(content, created_by="op-1", meta=META)
    campaign.collect_events()
    return campaign


def execute(campaign: Campaign) -> str:
    return campaign.execute(ExecutionOptions(), NOW, META, everyone)


def test_the_invitation_is_stored_as_written_and_defaults_are_left_out() -> None:
    campaign = draft(invitation={"chatId": -1001234567890})
    assert campaign.content["invitation"] == {"chatId": -1001234567890}
    assert draft(invitation=CHANNEL).content["invitation"] == CHANNEL


def test_an_invitation_campaign_with_its_chat_executes() -> None:
    campaign = draft(invitation=CHANNEL)
    execute(campaign)
    assert campaign.status == "active"


def test_an_invitation_campaign_without_a_chat_cannot_be_executed_and_nothing_changes() -> None:
    campaign = draft()
    with pytest.raises(ValidationFailed) as refused:
        execute(campaign)
    assert refused.value.details == [
        {"field": "invitation.chatId", "message": "required to execute an invitation campaign"}
    ]
    assert campaign.status == "draft"
    assert campaign.collect_events() == []


def test_a_status_change_to_active_follows_the_same_rule() -> None:
    campaign = draft()
    with pytest.raises(ValidationFailed):
        campaign.change_status("active", NOW, META, everyone)
    assert campaign.status == "draft"


def test_an_invitation_on_another_type_is_kept_but_not_required() -> None:
    message = draft(type="message")
    execute(message)
    assert message.status == "active"
    kept = draft(type="message", invitation=CHANNEL)
    assert kept.content["invitation"] == CHANNEL


def test_an_update_merges_into_the_invitation() -> None:
    campaign = draft(invitation=CHANNEL)
    campaign.update(
        msgspec.convert({"invitation": {"chatId": -1009876543210}}, CampaignChanges), META
    )
    [updated] = campaign.collect_events()
    moved = {**CHANNEL, "chatId": -1009876543210}
    assert updated.changes == {"invitation": moved}
    assert campaign.content["invitation"] == moved
    campaign.update(msgspec.convert({"invitation": {"expireHours": None}}, CampaignChanges), META)
    assert campaign.content["invitation"] == {"chatId": -1009876543210, "memberLimit": 1}
    execute(campaign)
    assert campaign.status == "active"


def test_an_invitation_patch_without_a_chat_needs_one_stored() -> None:
    campaign = draft()
    # A valid patch of a campaign that has an invitation: a conflict with this one (409).
    with pytest.raises(ChangeConflicts) as refused:
        campaign.update(msgspec.convert({"invitation": {"expireHours": 5}}, CampaignChanges), META)
    assert refused.value.details[0]["field"] == "invitation.chatId"
    assert "invitation" not in campaign.content


def test_the_invitation_is_frozen_once_the_campaign_leaves_draft() -> None:
    campaign = draft(invitation=CHANNEL)
    execute(campaign)
    with pytest.raises(EditNotAllowed) as refused:
        campaign.update(
            msgspec.convert({"invitation": {"chatId": -1009876543210}}, CampaignChanges), META
        )
    assert refused.value.details["fields"] == ["invitation"]


def test_a_member_limit_is_refused_on_a_link_that_asks_for_approval() -> None:
    with pytest.raises(ValidationFailed) as refused:
        draft(invitation={"chatId": -1001, "joinRequest": True, "memberLimit": 5})
    assert refused.value.details[0]["field"] == "invitation.memberLimit"
    approved = draft(invitation={"chatId": -1001, "joinRequest": True})
    assert approved.content["invitation"] == {"chatId": -1001, "joinRequest": True}


def test_clone_copies_the_invitation() -> None:
    source = draft(invitation=CHANNEL)
    copy = source.clone(None, True, "op-2", META)
    assert copy.content["invitation"] == CHANNEL


@pytest.mark.parametrize(
    "invitation",
    [
        {},  # chatId is required
        {"chatId": "-1001"},
        {"chatId": 1001234567890},  # a user, or a channel without its -100
        {"chatId": -1001, "expireHours": 0},
        {"chatId": -1001, "expireHours": 8761},
        {"chatId": -1001, "memberLimit": 0},
        {"chatId": -1001, "memberLimit": 100000},
        {"chatId": -1001, "joinRequest": "yes"},
        {"chatId": -1001, "link": "https://t.me/+x"},  # unknown fields are refused
    ],
)
def test_bad_invitations_are_refused_by_the_contract(invitation: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(
            {"name": "n", "type": "invitation", "invitation": invitation}, CampaignContent
        )
