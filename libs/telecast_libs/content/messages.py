"""A campaign message resolved against its template, and personalized for one recipient.

``resolve`` gives what an execution records for a message (and what a preview shows): its
text in its parse mode, buttons, media and variations. A message's own content is its
template (text, parse mode, buttons, media), its inline ``content`` (plain text), or both, in
which case the inline text replaces the template's and keeps the rest; each variation
replaces the text and keeps the rest. ``personalize`` picks the recipient's variation and
renders it: the sender and the preview do exactly the same.

A message's ``personalization`` says what of the recipient it may use. Without one, every
placeholder is filled in from the recipient. With ``enabled: false`` no recipient data is
used: each placeholder renders its fallback (an invitation's ``{{inviteLink}}``, made for the
recipient by the sender, is not contact data and still renders). With ``fields``, a text that
names a contact field outside them is refused (``check_fields``), when the campaign is saved
and again when it is executed, with its template as it is then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telecast_libs.content.rendering import INVITE_LINK, TemplateError, check, parse, render
from telecast_libs.content.variations import choose


class InvalidText(Exception):
    """A text of a message that cannot be sent, and the field that holds it."""

    def __init__(self, field: str, error: TemplateError) -> None:
        super().__init__(f"{field}: {error.message}")
        self.field = field
        self.error = error


def resolve(
    message: Mapping[str, Any], template: Mapping[str, Any] | None, field: str
) -> dict[str, Any]:
    """``message`` in its stored form (``{"id", "content", "templateId", "variations"}``),
    ``template`` the template it names (``{"id", "version", "content", "parseMode",
    "buttons", "media"}``) or None. Every text is checked in the parse mode it will be sent
    in (``InvalidText`` names the field, such as ``messages[0].variations[1].content``)."""
    parse_mode = template["parseMode"] if template is not None else None
    media = template.get("media") if template is not None else None
    texts = [(f"{field}.content", message["content"])] if message.get("content") else []
    texts += [
        (f"{field}.variations[{j}].content", variation["content"])
        for j, variation in enumerate(message.get("variations") or [])
    ]
    for name, text in texts:
        try:
            check(text, parse_mode, has_media=media is not None)
        except TemplateError as error:
            raise InvalidText(name, error) from None
        check_fields(message, name, text)
    if template is not None and not message.get("content"):
        # The template's own text is what the message says (the inline one replaces it).
        check_fields(message, f"{field}.templateId", template["content"])
    resolved: dict[str, Any] = {"id": message["id"]}
    personalization = message.get("personalization")
    if personalization is not None and not personalization.get("enabled", False):
        resolved["personalized"] = False
    text = message.get("content")
    if template is not None:
        text = text or template["content"]
        resolved.update(
            templateId=str(template["id"]),
            templateVersion=template["version"],
            parseMode=parse_mode,
            buttons=template.get("buttons") or [],
        )
        if media is not None:
            resolved["media"] = media
    if text is not None:
        resolved["content"] = text
    resolved["variations"] = [
        {"id": v["id"], "weight": v["weight"], "content": v["content"]}
        for v in message.get("variations") or []
    ]
    return resolved


def check_fields(message: Mapping[str, Any], name: str, text: str) -> None:
    """Raise ``InvalidText`` naming ``name`` when ``text`` (a text of ``message``, or of its
    template) has a placeholder for a contact field that the message's
    ``personalization.fields`` does not list. Nothing is refused without such a list, or
    when personalization is off (no recipient data is used then)."""
    personalization = message.get("personalization") or {}
    allowed = personalization.get("fields")
    if allowed is None or not personalization.get("enabled", False):
        return
    for placeholder in parse(text).placeholders:
        if placeholder.field != INVITE_LINK and placeholder.field not in allowed:
            listed = ", ".join(allowed) or "none"
            raise InvalidText(
                name,
                TemplateError(
                    f"{{{{{placeholder.field}}}}} is not in the message's "
                    f"personalization.fields ({listed}); add it there or remove it",
                    text,
                    placeholder.offset,
                    {"placeholder": placeholder.field, "allowed": list(allowed)},
                ),
            )


def personalize(
    resolved: Mapping[str, Any],
    campaign_id: str,
    contact_id: str,
    recipient: Mapping[str, Any],
) -> dict[str, Any]:
    """The message as ``recipient`` receives it: ``{"messageId", "variationId" (None for the
    message's own content), "text", "parseMode", "buttons", "media"}``."""
    variation_id = choose(campaign_id, contact_id, resolved)
    source = resolved.get("content", "")
    for variation in resolved.get("variations") or []:
        if variation["id"] == variation_id:
            source = variation["content"]
    parse_mode = resolved.get("parseMode")
    if resolved.get("personalized") is False:
        recipient = {key: value for key, value in recipient.items() if key == INVITE_LINK}
    return {
        "messageId": resolved["id"],
        "variationId": variation_id,
        "text": render(parse(source), parse_mode, recipient),
        "parseMode": parse_mode,
        "buttons": resolved.get("buttons") or [],
        "media": resolved.get("media"),
    }
