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
from telecast_libs.content.messages import InvalidText, resolve
from telecast_libs.content.rendering import TemplateError, check, check_field, parse
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
    for name, text in texts:
        try:
            if message.template_id is None:
                check(text, None)
            else:
                parse(text)
        except TemplateError as error:
            raise invalid(name, error) from None
    for k, personal in enumerate(message.personalization.fields if message.personalization else []):
        try:
            check_field(personal)
        except TemplateError as error:
            raise invalid(f"{field}.personalization.fields[{k}]", error) from None


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
