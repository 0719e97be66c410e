"""The Template aggregate: a message's content with placeholders, its parse mode, buttons
and media.

A template is checked whenever it is written (placeholders, markup, the rendered length at
its longest), so a stored template can be sent to any recipient. Deleting one is an event
like any other; an execution keeps the content it recorded when it was started, so neither an
edit nor a deletion changes what a running campaign sends.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from telecast_campaign.domain.errors import StaleVersion, ValidationFailed
from telecast_libs.content.rendering import TemplateError, check
from telecast_libs.contracts.base import decode, encode, to_builtins
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.templates import (
    TEMPLATE_NOT_FOUND,
    TemplateChanges,
    TemplateContent,
)


class UnknownTemplate(Problem):
    """A template request names no template (404)."""

    code = ErrorCode.NOT_FOUND


class TemplateNotFound(Problem):
    """A campaign refers to a template that does not exist or was deleted (409)."""

    code = TEMPLATE_NOT_FOUND


def invalid(field: str, error: TemplateError) -> ValidationFailed:
    """The 400 for a text that cannot be sent, naming the field (and line and column)."""
    return ValidationFailed(
        f"{field}: {error.message}",
        details=[{"field": field, "message": error.message, **error.details}],
    )


def check_template(content: TemplateContent) -> None:
    """Raise ``ValidationFailed`` naming the field when the template cannot be sent."""
    try:
        check(content.content, content.parse_mode.value, has_media=content.media is not None)
    except TemplateError as error:
        raise invalid("content", error) from None
    for r, row in enumerate(content.buttons):
        for c, button in enumerate(row):
            if "{{" in button.text or "{{" in button.url:
                field = f"buttons[{r}][{c}]"
                message = "buttons are not personalized; placeholders go in the content"
                raise ValidationFailed(
                    f"{field}: {message}", details=[{"field": field, "message": message}]
                )


def _stored(content: TemplateContent) -> dict[str, Any]:
    """The content as events carry it: every field present but an absent media."""
    stored = to_builtins(content)
    stored["parseMode"] = content.parse_mode.value
    stored.setdefault("buttons", [])
    return stored


class Template(Aggregate):
    """A message template. Public methods check the rules; ``@event`` methods record."""

    @classmethod
    def create(
        cls,
        content: TemplateContent,
        created_by: str,
        meta: dict[str, Any],
        template_id: uuid.UUID | None = None,
    ) -> Template:
        check_template(content)
        return cls._create(
            cls.Created,
            id=template_id or uuid.uuid4(),
            content=_stored(content),
            created_by=created_by,
            meta=meta,
        )

    @event("Created")
    def __init__(self, content: dict[str, Any], created_by: str, meta: dict[str, Any]) -> None:
        self.content = content
        self.created_by = created_by
        self.deleted = False

    @property
    def name(self) -> str:
        return self.content["name"]

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"template is at version {self.version}, not {expected}",
                details={"currentVersion": self.version},
            )

    def update(self, changes: TemplateChanges, meta: dict[str, Any]) -> None:
        changed = to_builtins(changes)
        if not changed:
            raise ValidationFailed("nothing to change: the body names no field")
        merged = {**self.content, **changed}
        if merged.get("media") is None:
            merged.pop("media", None)  # "media": null removes it
        content = decode(encode(merged), TemplateContent)
        check_template(content)
        stored = _stored(content)
        effective = {
            key: stored.get(key) for key in changed if stored.get(key) != self.content.get(key)
        }
        if effective:
            self._updated(changes=effective, meta=meta)

    @event("Updated")
    def _updated(self, changes: dict[str, Any], meta: dict[str, Any]) -> None:
        content = {**self.content, **changes}
        if content.get("media") is None:
            content.pop("media", None)
        self.content = content

    def delete(self, meta: dict[str, Any]) -> None:
        self._deleted(meta=meta)

    @event("Deleted")
    def _deleted(self, meta: dict[str, Any]) -> None:
        self.deleted = True
