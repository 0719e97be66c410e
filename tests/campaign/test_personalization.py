"""A message's ``personalization``: ``enabled: false`` uses no recipient data, ``fields``
names the only contact fields its texts may use. Without any server."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import ValidationFailed
from telecast_campaign.domain.message_content import resolve_message
from telecast_campaign.domain.template import Template
from telecast_libs.content.messages import personalize, resolve
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent
from telecast_libs.contracts.templates import TemplateContent

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
JANE = {"firstName": "Jane", "lastName": "Doe", "inviteLink": "https://t.me/+abc"}


def campaign(*messages: dict[str, Any], templates: Any = None) -> Campaign:
    content = msgspec.convert(
        {"name": "Black Friday", "type": "message", "messages": list(messages)}, CampaignContent
    )
    if templates is None:
        return Campaign.create(content, created_by="op-1", meta=META)
    return Campaign.create(content, created_by="op-1", meta=META, templates=templates)


def refused(action: Any) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        action()
    [detail] = caught.value.details
    assert caught.value.message.startswith(f"{detail['field']}: ")
    return detail


def template(text: str) -> Template:
    content = msgspec.convert({"name": "t", "content": text}, TemplateContent)
    return Template.create(content, created_by="op-1", meta=META)


def rendered(message: dict[str, Any], recipient: dict[str, Any] = JANE) -> str:
    resolved = resolve({"id": "msg1", **message}, None, "messages[0]")
    return personalize(resolved, "c1", "contact-1", recipient)["text"]


def test_without_personalization_every_placeholder_uses_the_recipient() -> None:
    assert rendered({"content": "Hi {{firstName|there}} {{lastName|}}"}) == "Hi Jane Doe"


def test_disabled_personalization_renders_every_fallback() -> None:
    message = {
        "content": "Hi {{firstName|there}}{{lastName}}, join: {{inviteLink}}",
        "personalization": {"enabled": False, "fields": ["firstName"]},
    }
    # No contact data; the invite link is the sender's, made for the recipient, and stays.
    assert rendered(message) == "Hi there, join: https://t.me/+abc"
    # enabled defaults to false, as the schema declares.
    assert rendered({**message, "personalization": {}}) == "Hi there, join: https://t.me/+abc"


def test_enabled_personalization_uses_the_recipient() -> None:
    message = {"content": "Hi {{firstName|there}}", "personalization": {"enabled": True}}
    assert rendered(message) == "Hi Jane"


def test_a_placeholder_outside_fields_is_refused_when_saved_naming_it() -> None:
    detail = refused(
        lambda: campaign(
            {
                "content": "Hi {{firstName}} {{lastName|}}",
                "personalization": {"enabled": True, "fields": ["firstName"]},
            }
        )
    )
    assert detail["field"] == "messages[0].content"
    assert detail["placeholder"] == "lastName"
    assert detail["allowed"] == ["firstName"]


def test_fields_apply_to_variations_and_an_empty_list_allows_no_contact_field() -> None:
    detail = refused(
        lambda: campaign(
            {
                "content": "Hello, join {{inviteLink}}",
                "variations": [{"content": "Hi {{firstName|you}}", "weight": 50}],
                "personalization": {"enabled": True, "fields": []},
            }
        )
    )
    assert detail["field"] == "messages[0].variations[0].content"
    assert detail["placeholder"] == "firstName"


def test_fields_are_not_enforced_when_personalization_is_off() -> None:
    saved = campaign(
        {
            "content": "Hi {{lastName|there}}",
            "personalization": {"enabled": False, "fields": ["firstName"]},
        }
    )
    assert saved.content["messages"][0]["personalization"] == {"fields": ["firstName"]}


def test_an_update_is_checked_too() -> None:
    saved = campaign({"content": "Hi {{firstName|there}}"})
    patch = msgspec.convert(
        {
            "messages": [
                {
                    "content": "Hi {{lastName|there}}",
                    "personalization": {"enabled": True, "fields": ["firstName"]},
                }
            ]
        },
        CampaignChanges,
    )
    detail = refused(lambda: saved.update(patch, META))
    assert detail["placeholder"] == "lastName"
    assert saved.version == 1


def test_an_existing_templates_placeholders_are_checked_when_saved() -> None:
    welcome = template("Hi {{firstName|there}}, last bought {{lastPurchase|never}}")
    message = {
        "templateId": str(welcome.id),
        "personalization": {"enabled": True, "fields": ["firstName"]},
    }
    detail = refused(lambda: campaign(message, templates={str(welcome.id): welcome}.get))
    assert detail["field"] == "messages[0].templateId"
    assert detail["placeholder"] == "lastPurchase"
    # With the field listed the same campaign is saved.
    allowed = {
        **message,
        "personalization": {"enabled": True, "fields": ["firstName", "lastPurchase"]},
    }
    campaign(allowed, templates={str(welcome.id): welcome}.get)


def test_a_template_made_after_the_campaign_is_checked_at_execute() -> None:
    welcome = template("Hi {{lastName|there}}")
    saved = campaign(
        {
            "templateId": str(welcome.id),
            "personalization": {"enabled": True, "fields": ["firstName"]},
        }
    )
    stored = saved.content["messages"][0]
    detail = refused(lambda: resolve_message(stored, welcome, "messages[0]"))
    assert detail["field"] == "messages[0].templateId"
    assert detail["placeholder"] == "lastName"
