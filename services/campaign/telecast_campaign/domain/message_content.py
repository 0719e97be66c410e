"""What a campaign message says: checked when the campaign is saved, and resolved against its
template when the campaign is executed (how a message and its template combine is
``telecast_libs.content.messages``).

An inline text's parse mode is only known with its template, and a template may be created
after the campaign that names it: saving a campaign checks the placeholders (and, when there
is no template, everything), executing checks the rest and records the resolved content, so
that a later edit of the template changes nothing of what the execution sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telecast_campaign.domain.template import Template, invalid
from telecast_libs.content.messages import InvalidText, check_fields, resolve
from telecast_libs.content.rendering import TemplateError, check, check_field, parse
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.campaigns import CampaignMessage

# The campaign's messages resolved against their templates as they are now (the caller looks
# the templates up; see template_commands.resolve_messages).
MessagesOf = Callable[[], list[dict[str, Any]]]


def check_message(message: CampaignMessage, field: str) -> None:
    """Raise ``ValidationFailed`` naming the field (``messages[0].content``…) when a text of
    the message cannot be rendered."""
    texts = [(f"{field}.content", message.content)] if message.content is not None else []
    texts += [
        (f"{field}.variations[{j}].content", variation.content)
        for j, variation in enumerate(message.variations)
    ]
    stored = to_builtins(message)
    for name, text in texts:
        try:
            if message.template_id is None:
                check(text, None)
            else:
                parse(text)
        except TemplateError as error:
            raise invalid(name, error) from None
        try:
            check_fields(stored, name, text)
        except InvalidText as failure:
            raise invalid(failure.field, failure.error) from None
    personal_fields = (message.personalization.fields if message.personalization else None) or []
    for k, personal in enumerate(personal_fields):
        try:
            check_field(personal)
        except TemplateError as error:
            raise invalid(f"{field}.personalization.fields[{k}]", error) from None


# A template by id as it is now: None when there is none (the caller looks it up).
TemplateOf = Callable[[str], Template | None]


def check_template_fields(content: dict[str, Any], templates: TemplateOf) -> None:
    """Refuse, now rather than only at execute, a placeholder of an existing template that
    a (stored) message takes its text from and whose ``personalization.fields`` leaves
    out (``ValidationFailed`` naming ``messages[i].templateId`` and the placeholder)."""
    for index, message in enumerate(content.get("messages", [])):
        template_id = message.get("templateId")
        if template_id is None or message.get("content"):
            continue
        template = templates(template_id)
        if template is None or template.deleted:
            continue  # refused with TEMPLATE_NOT_FOUND when executed
        try:
            check_fields(message, f"messages[{index}].templateId", template.content["content"])
        except InvalidText as failure:
            raise invalid(failure.field, failure.error) from None


def resolve_message(
    message: dict[str, Any], template: Template | None, field: str
) -> dict[str, Any]:
    """The content an execution records for one (stored) campaign message, with its
    template as it is now (see ``telecast_libs.content.messages.resolve``)."""
    found = None
    if template is not None:
        found = {**template.content, "id": str(template.id), "version": template.version}
    try:
        return resolve(message, found, field)
    except InvalidText as failure:
        raise invalid(failure.field, failure.error) from None
