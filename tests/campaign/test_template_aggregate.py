"""The Template aggregate, and campaign messages checked against the renderer (no server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import msgspec
import pytest
from eventsourcing.application import AggregateNotFoundError

from telecast_campaign.application import Workspace
from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import StaleVersion, ValidationFailed
from telecast_campaign.domain.message_content import resolve_message
from telecast_campaign.domain.template import Template, TemplateNotFound
from telecast_campaign.template_commands import resolve_messages
from telecast_libs.contracts.campaigns import CampaignContent, ExecutionOptions
from telecast_libs.contracts.templates import TemplateChanges, TemplateContent

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
PHOTO = {"type": "photo", "url": "https://cdn.example.com/sale.jpg"}


def template_content(**fields: object) -> TemplateContent:
    body = {"name": "Welcome", "content": "<b>Hi {{firstName|there}}</b>!", **fields}
    return msgspec.convert(body, TemplateContent)


def changes(**fields: object) -> TemplateChanges:
    return msgspec.convert(fields, TemplateChanges)


def new_template(**fields: object) -> Template:
    template = Template.create(template_content(**fields), created_by="op-1", meta=META)
    template.collect_events()
    return template


def refused(action: object) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        action()  # type: ignore[operator]
    [detail] = caught.value.details
    assert caught.value.message.startswith(f"{detail['field']}: ")
    return detail


def test_a_new_template_records_its_whole_content() -> None:
    template = Template.create(template_content(), created_by="op-1", meta=META)
    [created] = template.collect_events()
    assert type(created).__name__ == "Created"
    assert created.content == {
        "name": "Welcome",
        "content": "<b>Hi {{firstName|there}}</b>!",
        "parseMode": "html",
        "buttons": [],
    }
    assert created.meta == META
    assert template.name == "Welcome"


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"content": "Hi {{fistName}}"}, "content", "did you mean {{firstName}}?"),
        ({"content": "<b>Hi {{firstName}}"}, "content", "<b> is never closed"),
        ({"content": "Hi!", "parseMode": "markdown"}, "content", "'!' is reserved"),
        ({"content": "x" * 1020 + "{{firstName}}", "media": PHOTO}, "content", "1,024"),
        (
            {"buttons": [[{"text": "Hi {{firstName}}", "url": "https://example.com"}]]},
            "buttons[0][0]",
            "placeholders go in the content",
        ),
    ],
)
def test_a_template_that_cannot_be_sent_is_refused_naming_the_field(
    fields: dict, field: str, expected: str
) -> None:
    detail = refused(lambda: Template.create(template_content(**fields), "op-1", META))
    assert detail["field"] == field
    assert expected in detail["message"]


def test_the_length_error_carries_limit_and_worst_case() -> None:
    detail = refused(
        lambda: Template.create(template_content(content="x" * 4090 + "{{lastName}}"), "op-1", META)
    )
    assert (detail["limit"], detail["worstCase"]) == (4096, 4154)


def test_media_needs_exactly_one_source() -> None:
    with pytest.raises(msgspec.ValidationError, match="exactly one of url or fileId"):
        template_content(media={"type": "photo"})
    with pytest.raises(msgspec.ValidationError, match="exactly one of url or fileId"):
        template_content(media={**PHOTO, "fileId": "AgACAgIAAxkBAAIB"})


def test_an_update_records_only_what_changed_and_null_media_removes_it() -> None:
    template = new_template(media=PHOTO)
    template.update(changes(name="Welcome", content="Hello {{firstName|you}}"), meta=META)
    [updated] = template.collect_events()
    assert updated.changes == {"content": "Hello {{firstName|you}}"}
    template.update(changes(media=None), meta=META)
    [removed] = template.collect_events()
    assert removed.changes == {"media": None}
    assert "media" not in template.content
    template.update(changes(name="Welcome"), meta=META)
    assert template.collect_events() == []
    assert template.version == 3


def test_an_update_is_checked_as_a_whole() -> None:
    template = new_template()
    # The content was fine as HTML; in MarkdownV2 its '<', '>' and '!' are not.
    detail = refused(lambda: template.update(changes(parseMode="markdown"), meta=META))
    assert detail["field"] == "content"
    assert template.collect_events() == []
    template.update(changes(parseMode="markdown", content="*Hi* {{firstName|there}}\\!"), META)
    assert template.content["parseMode"] == "markdown"


def test_a_stale_version_and_an_empty_update_are_refused() -> None:
    template = new_template()
    with pytest.raises(StaleVersion):
        template.check_version(7)
    with pytest.raises(ValidationFailed, match="nothing to change"):
        template.update(changes(), meta=META)


def test_a_template_is_deleted_by_an_event() -> None:
    template = new_template()
    template.delete(meta=META)
    assert template.deleted
    assert [type(e).__name__ for e in template.collect_events()] == ["Deleted"]


# Campaign messages -------------------------------------------------------------------------


def campaign(*messages: dict) -> Campaign:
    content = msgspec.convert(
        {"name": "Sale", "type": "message", "messages": list(messages)}, CampaignContent
    )
    return Campaign.create(content, created_by="op-1", meta=META)


def test_inline_content_is_checked_when_the_campaign_is_saved() -> None:
    campaign({"content": "🌞 Summer Sale! Get 30% off on all items, {{firstName|friend}}!"})
    detail = refused(lambda: campaign({"content": "Hi {{fistName}}"}))
    assert detail["field"] == "messages[0].content"
    detail = refused(
        lambda: campaign({"content": "ok", "variations": [{"content": "{{x", "weight": 10}]})
    )
    assert detail["field"] == "messages[0].variations[0].content"
    detail = refused(
        lambda: campaign({"content": "ok", "personalization": {"fields": ["firstName", "email"]}})
    )
    assert detail["field"] == "messages[0].personalization.fields[1]"


def test_with_a_template_only_placeholders_are_checked_at_save() -> None:
    # '!' would be refused in MarkdownV2, but the template's parse mode is not known yet.
    campaign(
        {"templateId": "t1", "variations": [{"content": "Hot deals, {{firstName}}!", "weight": 50}]}
    )
    detail = refused(lambda: campaign({"templateId": "t1", "content": "Hi {{email}}"}))
    assert detail["field"] == "messages[0].content"


def stored(template: Template, **message: object) -> dict:
    return {"id": "msg1", "templateId": str(template.id), "variations": [], **message}


def test_resolving_takes_the_template_and_keeps_inline_text_and_variations() -> None:
    template = new_template(
        media=PHOTO, buttons=[[{"text": "Shop", "url": "https://shop.example.com"}]]
    )
    variation = {"id": "var1", "content": "<i>Yo</i> {{firstName}}", "weight": 30}
    resolved = resolve_message(stored(template, variations=[variation]), template, "messages[0]")
    assert resolved == {
        "id": "msg1",
        "templateId": str(template.id),
        "templateVersion": 1,
        "parseMode": "html",
        "buttons": [[{"text": "Shop", "url": "https://shop.example.com"}]],
        "media": PHOTO,
        "content": "<b>Hi {{firstName|there}}</b>!",
        "variations": [variation],
    }
    inline = resolve_message(stored(template, content="<u>Now</u>"), template, "messages[0]")
    assert inline["content"] == "<u>Now</u>" and inline["parseMode"] == "html"
    plain = resolve_message({"id": "msg2", "content": "5 > 4"}, None, "messages[1]")
    assert plain == {"id": "msg2", "content": "5 > 4", "variations": []}


def test_resolving_checks_texts_in_the_template_parse_mode() -> None:
    template = new_template(content="*Hi* {{firstName|there}}\\!", parseMode="markdown")
    bad = {"id": "var1", "content": "Hot deals!", "weight": 50}
    detail = refused(
        lambda: resolve_message(stored(template, variations=[bad]), template, "messages[0]")
    )
    assert detail["field"] == "messages[0].variations[0].content"
    assert "'!' is reserved" in detail["message"]


class _Repository:
    def get(self, key: uuid.UUID) -> object:
        raise AggregateNotFoundError(key)


def test_a_missing_or_deleted_template_is_refused_at_execute() -> None:
    workspace = Workspace(SimpleNamespace(repository=_Repository()), datetime.now(UTC))  # type: ignore[arg-type]
    gone = new_template()
    gone.delete(meta=META)
    workspace.touched[gone.id] = gone
    found = new_template()
    workspace.touched[found.id] = found
    missing = str(uuid.uuid4())
    messages = [stored(found), {"id": "msg2", "templateId": missing, "variations": []}]
    with pytest.raises(TemplateNotFound) as caught:
        resolve_messages(workspace, {"messages": messages})
    assert caught.value.code == "TEMPLATE_NOT_FOUND"
    assert caught.value.details == {
        "field": "messages[1].templateId",
        "templateId": missing,
        "reason": "missing",
    }
    with pytest.raises(TemplateNotFound, match="was deleted"):
        resolve_messages(workspace, {"messages": [stored(gone)]})
    with pytest.raises(TemplateNotFound, match="tmpl456 does not exist"):
        resolve_messages(workspace, {"messages": [{"id": "m", "templateId": "tmpl456"}]})
    assert [
        m["templateVersion"] for m in resolve_messages(workspace, {"messages": [stored(found)]})
    ] == [1]


def test_execute_records_the_resolved_messages_and_a_scheduled_start_keeps_them() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    recorded = [{"id": "msg1", "content": "Hi {{firstName|x}}", "variations": []}]

    def everyone(strict: bool) -> Audience:
        return Audience(None)

    now_campaign = campaign({"content": "Hi {{firstName|x}}"})
    now_campaign.collect_events()
    now_campaign.execute(ExecutionOptions(), now, META, everyone, lambda: recorded)
    [started] = now_campaign.collect_events()
    assert started.messages == recorded

    later = campaign({"content": "Hi {{firstName|x}}"})
    later.collect_events()
    options = msgspec.convert({"scheduledAt": "2026-01-02T00:00:00Z"}, ExecutionOptions)
    later.execute(options, now, META, everyone, lambda: recorded)
    later.start_scheduled(datetime(2026, 1, 2, tzinfo=UTC), META, everyone)
    scheduled, started = later.collect_events()
    assert scheduled.messages == started.messages == recorded

    def missing() -> list:
        raise TemplateNotFound("messages[0].templateId: template t does not exist")

    refused_campaign = campaign({"content": "x"})
    with pytest.raises(TemplateNotFound):
        refused_campaign.execute(ExecutionOptions(), now, META, everyone, missing)
    assert refused_campaign.status == "draft"
