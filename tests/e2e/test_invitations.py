"""Invitation campaigns through HTTP: the ``invitation`` content in create, update, detail
and clone, the rule at execute, and ``{{inviteLink}}`` in previews."""

from __future__ import annotations

import httpx
import pytest
from support.inspect import count_all_stored_events

from telecast_devenv.platform import Platform

CAMPAIGNS = "/api/v1/campaigns"
CHANNEL = {"chatId": -1001234567890, "expireHours": 72, "memberLimit": 1}
MESSAGE = {"content": "Hi {{firstName|there}}, join us: {{inviteLink}}"}


def _create(api: httpx.Client, **fields: object) -> str:
    body = {"name": "VIP Channel", "type": "invitation", "messages": [MESSAGE], **fields}
    answer = api.post(CAMPAIGNS, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _detail(api: httpx.Client, campaign_id: str) -> dict:
    answer = api.get(f"{CAMPAIGNS}/{campaign_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert "Traceback" not in answer.text
    return body["error"]


def test_create_get_update_and_clone_carry_the_invitation(api: httpx.Client) -> None:
    cid = _create(api, invitation=CHANNEL)
    assert _detail(api, cid)["invitation"] == CHANNEL
    patch = {"invitation": {"chatId": -1009876543210, "expireHours": None}}
    updated = api.put(f"{CAMPAIGNS}/{cid}", json=patch)
    assert updated.status_code == 200, updated.text
    # A merge patch: the chat changes, null removes expireHours, memberLimit stays.
    moved = {"chatId": -1009876543210, "memberLimit": 1}
    assert _detail(api, cid)["invitation"] == moved
    copy = api.post(f"{CAMPAIGNS}/{cid}/clone").json()["data"]["id"]
    assert _detail(api, copy)["invitation"] == moved
    assert "invitation" not in _detail(api, _create(api))


def test_executing_an_invitation_campaign_without_its_chat_is_refused_and_changes_nothing(
    platform: Platform, api: httpx.Client
) -> None:
    cid = _create(api)
    before = count_all_stored_events(platform.database_url)
    error = _refused(
        api.post(f"{CAMPAIGNS}/{cid}/execute", json={"testMode": True}), 400, "VALIDATION_ERROR"
    )
    assert error["details"][0]["field"] == "invitation.chatId"
    assert "invitation" in error["message"]
    _refused(api.put(f"{CAMPAIGNS}/{cid}", json={"status": "active"}), 400, "VALIDATION_ERROR")
    assert count_all_stored_events(platform.database_url) == before
    detail = _detail(api, cid)
    assert detail["status"] == "draft" and "execution" not in detail

    api.put(f"{CAMPAIGNS}/{cid}", json={"invitation": CHANNEL})
    executed = api.post(f"{CAMPAIGNS}/{cid}/execute", json={"testMode": True})
    assert executed.status_code == 200, executed.text
    # Once out of draft, the chat no longer changes.
    _refused(
        api.put(f"{CAMPAIGNS}/{cid}", json={"invitation": {"chatId": -1005}}),
        409,
        "EDIT_NOT_ALLOWED",
    )


def test_an_invitation_on_another_type_is_kept_but_not_required(api: httpx.Client) -> None:
    cid = _create(api, type="message", messages=[], invitation=CHANNEL)
    assert _detail(api, cid)["invitation"] == CHANNEL
    plain = _create(api, type="message", messages=[])
    assert api.post(f"{CAMPAIGNS}/{plain}/execute", json={"testMode": True}).status_code == 200


def test_a_preview_shows_a_stand_in_for_the_link(api: httpx.Client) -> None:
    contact = {"contact": {"firstName": "Jo"}}
    invitation = _create(api, invitation=CHANNEL)
    answer = api.post(f"{CAMPAIGNS}/{invitation}/preview", json=contact)
    assert answer.status_code == 200, answer.text
    [message] = answer.json()["data"]["messages"]
    assert message["text"] == "Hi Jo, join us: https://t.me/+INVITE_LINK"
    # Another type is sent without a link: its preview shows the fallback (here nothing).
    other = _create(api, type="message", messages=[{"content": "Join: {{inviteLink|soon}}"}])
    [message] = api.post(f"{CAMPAIGNS}/{other}/preview", json=contact).json()["data"]["messages"]
    assert message["text"] == "Join: soon"


# The update's answer: 400 for a body that breaks a rule by itself; an invitation setting
# without a chat is a valid patch of a campaign that has one, so on a draft without one it
# conflicts with what is stored (409).
_BAD_BODY = (400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("invitation", "field", "update_refusal"),
    [
        # A missing field is named in the message; details name the object that lacks it.
        ({"expireHours": 72}, "chatId", (409, "CONFLICTS_WITH_CAMPAIGN")),
        ({"chatId": -1001, "expireHours": 0}, "invitation.expireHours", _BAD_BODY),
        ({"chatId": -1001, "expireHours": 8761}, "invitation.expireHours", _BAD_BODY),
        ({"chatId": -1001, "memberLimit": 100000}, "invitation.memberLimit", _BAD_BODY),
        ({"chatId": 1001234567890}, "invitation.chatId", _BAD_BODY),
        (
            {"chatId": -1001, "joinRequest": True, "memberLimit": 5},
            "invitation.memberLimit",
            _BAD_BODY,
        ),
        ({"chatId": -1001, "link": "x"}, None, _BAD_BODY),
    ],
)
def test_bad_invitations_are_refused_and_store_nothing(
    platform: Platform,
    api: httpx.Client,
    invitation: dict,
    field: str | None,
    update_refusal: tuple[int, str],
) -> None:
    before = count_all_stored_events(platform.database_url)
    body = {"name": "Bad", "type": "invitation", "invitation": invitation}
    error = _refused(api.post(CAMPAIGNS, json=body), 400, "VALIDATION_ERROR")
    if field is not None:
        assert field in error["message"] or any(
            field == d.get("field") for d in error.get("details") or []
        ), error
    draft = _create(api)
    _refused(api.put(f"{CAMPAIGNS}/{draft}", json={"invitation": invitation}), *update_refusal)
    assert "invitation" not in _detail(api, draft)
    assert count_all_stored_events(platform.database_url) == before + 1  # the draft only
