"""Message templates: placeholders, Telegram's markup, and the lengths Telegram allows.

A template is text with placeholders: ``{{firstName}}``, or ``{{firstName|there}}`` with a
fallback for a recipient who has no first name. ``check`` runs when a template (or a
campaign's inline content) is saved and refuses, with the line and column, an unclosed
``{{``, an unknown field, markup Telegram would reject, and a text that could render longer
than Telegram allows. ``render`` fills a checked template in for one recipient.

Parse modes: ``"html"`` (Telegram's HTML), ``"markdown"`` (Telegram's MarkdownV2: the legacy
Markdown mode cannot escape its own markers, so a value such as ``snake_case`` could break a
message), or ``None`` for plain text. A value put into a template is escaped for the parse
mode, so a recipient's name can never add or break markup (the markup rules are in
``markup``). Lengths count what Telegram counts, the text after its markup is parsed, in
UTF-16 code units (an emoji outside the Basic Multilingual Plane counts twice), which is
never less than Telegram's own count.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NoReturn

from telecast_libs.content.markup import escape, scan

# Telegram's limits, after its markup is parsed.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ENTITY_LIMIT = 100

# The recipient's own invite link, made by the sender for an invitation campaign (about 30
# characters: https://t.me/+ and a 16-character hash); absent from every other recipient.
INVITE_LINK = "inviteLink"
# What a preview shows in its place: no link is made before the message is sent.
INVITE_LINK_PREVIEW = "https://t.me/+INVITE_LINK"

# The longest a value is put into a message (in UTF-16 code units); a longer value is cut
# to it, ending with "…". Names follow Telegram's own limits; a date is YYYY-MM-DD; an
# invite link is given room to spare, as a cut link would not work.
FIELD_MAX_LENGTH: dict[str, int] = {
    "firstName": 64,
    "lastName": 64,
    "username": 32,
    "languageCode": 35,
    "location": 2,
    "age": 3,
    "lastPurchase": 10,
    INVITE_LINK: 64,
}
ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_MAX_LENGTH = 256
# As contacts store them: a flat object of scalars, whose keys may contain dots.
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
KNOWN_FIELDS = (*FIELD_MAX_LENGTH, f"{ATTRIBUTE_PREFIX}<key>")


class TemplateError(ValueError):
    """A template that cannot be sent: ``message`` says why and where (line and column)."""

    def __init__(
        self,
        message: str,
        source: str | None = None,
        offset: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.details = dict(details or {})
        if source is not None and offset is not None:
            line, column = line_and_column(source, offset)
            message = f"{message} (line {line}, column {column})"
            self.details.update(line=line, column=column)
        super().__init__(message)
        self.message = message


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def utf16_length(text: str) -> int:
    """Telegram's measure of a text: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# Placeholders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    field: str
    # None: none given (a missing value renders as nothing).
    fallback: str | None
    # Where the placeholder starts in the template's source.
    offset: int

    @property
    def max_length(self) -> int:
        return FIELD_MAX_LENGTH.get(self.field, ATTRIBUTE_MAX_LENGTH)

    @property
    def longest(self) -> int:
        """The longest this placeholder can render: its field's maximum or its fallback."""
        return max(self.max_length, utf16_length(self.fallback or ""))


@dataclass(frozen=True)
class Template:
    """A template's source split into literal text and placeholders."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> list[Placeholder]:
        return [part for part in self.parts if isinstance(part, Placeholder)]

    @property
    def fields(self) -> list[str]:
        """The fields the template uses, each once, in order of first use."""
        return list(dict.fromkeys(p.field for p in self.placeholders))


# Parsed templates are immutable; the dispatcher renders the same few texts for every
# recipient of an execution.
@functools.lru_cache(maxsize=1024)
def parse(source: str) -> Template:
    """Split ``source`` into text and placeholders; ``TemplateError`` for a ``{{`` that is
    not closed, an empty placeholder, a ``|`` in a fallback or an unknown field."""
    parts: list[str | Placeholder] = []
    position = 0
    while True:
        start = source.find("{{", position)
        if start < 0:
            parts.append(source[position:])
            break
        end = source.find("}}", start + 2)
        nested = source.find("{{", start + 2)
        if end < 0 or (0 <= nested < end):
            raise TemplateError("'{{' is not closed by '}}'", source, start)
        parts.append(source[position:start])
        parts.append(_placeholder(source, start, source[start + 2 : end]))
        position = end + 2
    return Template(source, tuple(part for part in parts if part != ""))


def _placeholder(source: str, offset: int, body: str) -> Placeholder:
    field, bar, fallback = body.partition("|")
    field = field.strip()
    if not field:
        raise TemplateError("a placeholder needs a field name, as in {{firstName}}", source, offset)
    if "|" in fallback:
        raise TemplateError(
            f"the fallback of {{{{{field}}}}} contains '|'; a fallback cannot", source, offset
        )
    check_field(field, source, offset)
    return Placeholder(field, fallback.strip() if bar else None, offset)


def check_field(field: str, source: str | None = None, offset: int | None = None) -> None:
    """Raise ``TemplateError`` unless ``field`` is one a placeholder may name."""
    if field in FIELD_MAX_LENGTH:
        return
    if field.startswith(ATTRIBUTE_PREFIX):
        if _ATTRIBUTE_KEY.match(field.removeprefix(ATTRIBUTE_PREFIX)):
            return
        raise TemplateError(
            f"{{{{{field}}}}}: an attribute key is a letter or '_', then up to 63 letters, "
            "digits, '_', '.' or '-'",
            source,
            offset,
            {"placeholder": field},
        )
    by_case = {known.lower(): known for known in FIELD_MAX_LENGTH}
    guess = by_case.get(field.lower()) or next(
        iter(difflib.get_close_matches(field, list(FIELD_MAX_LENGTH), n=1)), None
    )
    hint = f"did you mean {{{{{guess}}}}}? " if guess else ""
    raise TemplateError(
        f"unknown placeholder {{{{{field}}}}}: {hint}the fields are {', '.join(KNOWN_FIELDS)}",
        source,
        offset,
        {"placeholder": field, "known": list(KNOWN_FIELDS)},
    )


# Checking a template ------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A template that passed ``check``, and how long it can render at most."""

    template: Template
    parse_mode: str | None
    longest: int
    limit: int


def check(source: str, parse_mode: str | None, *, has_media: bool = False) -> Checked:
    """Everything Telegram would refuse, found before anything is sent.

    The text is checked with each placeholder at its longest (its field's maximum, or its
    fallback if longer): if that fits the limit (4,096, or 1,024 for the caption of a
    message with media), every recipient's message does.
    """
    template = parse(source)
    if _SENTINEL_CHARS & set(source):
        raise TemplateError(
            "the text contains U+FDD0 or U+FDD1, Unicode noncharacters that cannot be sent",
            source,
            min(source.find(c) for c in _SENTINEL_CHARS if c in source),
        )
    built = _Built(template)
    markup = scan(parse_mode, built)
    rendered = [int(m.group(1)) for m in _SENTINEL.finditer(markup.visible)]
    static = _SENTINEL.sub("", markup.visible)
    placeholders = template.placeholders
    longest = utf16_length(static) + sum(placeholders[i].longest for i in rendered)
    limit = CAPTION_LIMIT if has_media else TEXT_LIMIT
    if longest > limit:
        what = "a caption (the message has media)" if has_media else "a message"
        counted = ", ".join(
            f"{{{{{placeholders[i].field}}}}} as {placeholders[i].longest}" for i in rendered[:5]
        )
        raise TemplateError(
            f"the text can reach {longest:,} characters once rendered, over Telegram's limit "
            f"of {limit:,} for {what}"
            + (f"; placeholders count at their longest ({counted})" if counted else ""),
            details={"limit": limit, "worstCase": longest},
        )
    if len(markup.entities) > ENTITY_LIMIT:
        raise TemplateError(
            f"the text has {len(markup.entities)} formatting entities; Telegram allows "
            f"{ENTITY_LIMIT} in a message",
            details={"limit": ENTITY_LIMIT, "entities": len(markup.entities)},
        )
    can_be_empty = not static.strip() and not any(
        (placeholders[i].fallback or "").strip() for i in rendered
    )
    if can_be_empty and not has_media:
        raise TemplateError(
            "the text is empty for a recipient without these fields, and Telegram refuses an "
            "empty message: add text or a fallback, as in {{firstName|there}}"
        )
    return Checked(template, parse_mode, longest, limit)


# While checking, each placeholder stands as U+FDD0 <its index> U+FDD1: characters that are
# plain text in every parse mode, so the markup is checked as it will be sent, and a
# placeholder found where a value cannot go (inside a tag, in a URL) is named.
_SENTINEL = re.compile("\ufdd0(\\d+)\ufdd1")
_SENTINEL_CHARS = frozenset("\ufdd0\ufdd1")


class _Built:
    """The template's text with each placeholder as a sentinel, and the way back from an
    offset in that text to one in the source."""

    def __init__(self, template: Template) -> None:
        self.template = template
        pieces: list[str] = []
        # (start in the built text, start in the source, is a placeholder)
        self._origins: list[tuple[int, int, bool]] = []
        built_at, source_at = 0, 0
        index = 0
        for part in template.parts:
            if isinstance(part, Placeholder):
                piece = f"\ufdd0{index}\ufdd1"
                index += 1
                self._origins.append((built_at, part.offset, True))
                source_at = template.source.find("}}", part.offset + 2) + 2
            else:
                piece = part
                self._origins.append((built_at, source_at, False))
                source_at += len(part)
            pieces.append(piece)
            built_at += len(piece)
        self.text = "".join(pieces)

    def source_offset(self, offset: int) -> int:
        for start, source_start, is_placeholder in reversed(self._origins):
            if start <= offset:
                return source_start if is_placeholder else source_start + offset - start
        return 0

    def error(self, message: str, offset: int, details: dict[str, Any] | None = None) -> NoReturn:
        raise TemplateError(message, self.template.source, self.source_offset(offset), details)

    def where(self, offset: int) -> str:
        line, column = line_and_column(self.template.source, self.source_offset(offset))
        return f"line {line}, column {column}"

    def refuse_placeholder_in(self, fragment: str, offset: int, where: str) -> None:
        found = _SENTINEL.search(fragment)
        if found:
            field = self.template.placeholders[int(found.group(1))].field
            self.error(
                f"{{{{{field}}}}} is {where}; a placeholder can only stand in the text",
                offset + found.start(),
            )


# Rendering ---------------------------------------------------------------------------------


def field_value(recipient: Mapping[str, Any], field: str) -> str | None:
    """The recipient's value of ``field`` as text, cut to the field's maximum; None when the
    recipient has none (or only whitespace)."""
    if field.startswith(ATTRIBUTE_PREFIX):
        attributes = recipient.get("attributes") or {}
        raw = attributes.get(field.removeprefix(ATTRIBUTE_PREFIX))
        limit = ATTRIBUTE_MAX_LENGTH
    else:
        raw = recipient.get(field)
        limit = FIELD_MAX_LENGTH[field]
    if field == "lastPurchase":
        text = _as_date(raw)
    else:
        text = _as_text(raw)
    if text is None or not text.strip():
        return None
    return _cut(text, limit)


def render(template: Template, parse_mode: str | None, recipient: Mapping[str, Any]) -> str:
    """The template filled in for ``recipient`` (its fields as on the wire: ``firstName``,
    ``attributes``…): a missing value gives the fallback, or nothing."""
    pieces = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
        else:
            value = field_value(recipient, part.field)
            pieces.append(escape(value if value is not None else part.fallback or "", parse_mode))
    return "".join(pieces)


def _as_text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"), default=str)


def _as_date(raw: Any) -> str | None:
    """A purchase time as a date, YYYY-MM-DD (in UTC)."""
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            return raw
    if isinstance(raw, datetime):
        moment = raw.astimezone(UTC) if raw.tzinfo else raw
        return moment.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    return _as_text(raw)


def _cut(text: str, limit: int) -> str:
    if utf16_length(text) <= limit:
        return text
    kept, used = [], 1  # room for the ellipsis
    for character in text:
        used += utf16_length(character)
        if used > limit:
            break
        kept.append(character)
    return "".join(kept) + "…"
