"""Message templates: placeholders, Telegram's markup, and the lengths Telegram allows.

A template is text with placeholders: ``{{firstName}}``, or ``{{firstName|there}}`` with a
fallback for a recipient who has no first name. ``check`` runs when a template (or a
campaign's inline content) is saved and refuses, with the line and column, an unclosed
``{{``, an unknown field, markup Telegram would reject, and a text that could render longer
than Telegram allows. ``render`` fills a checked template in for one recipient.

Parse modes: ``"html"`` (Telegram's HTML), ``"markdown"`` (Telegram's MarkdownV2: the legacy
Markdown mode cannot escape its own markers, so a value such as ``snake_case`` could break a
message), or ``None`` for plain text. A value put into a template is escaped for the parse
mode, so a recipient's name can never add or break markup. Lengths count what Telegram
counts, the text after its markup is parsed, in UTF-16 code units (an emoji outside the
Basic Multilingual Plane counts twice), which is never less than Telegram's own count.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

HTML = "html"
MARKDOWN = "markdown"
PARSE_MODES = (HTML, MARKDOWN)

# Telegram's limits, after its markup is parsed.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ENTITY_LIMIT = 100

# The longest a value is put into a message (in UTF-16 code units); a longer value is cut
# to it, ending with "…". Names follow Telegram's own limits; a date is YYYY-MM-DD.
FIELD_MAX_LENGTH: dict[str, int] = {
    "firstName": 64,
    "lastName": 64,
    "username": 32,
    "languageCode": 16,
    "location": 2,
    "age": 3,
    "lastPurchase": 10,
}
ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_MAX_LENGTH = 256
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
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
            f"{{{{{field}}}}}: an attribute key is 1 to 64 letters, digits, '_' or '-'",
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
    markup = _scan(parse_mode, built)
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
    if markup.entities > ENTITY_LIMIT:
        raise TemplateError(
            f"the text has {markup.entities} formatting entities; Telegram allows "
            f"{ENTITY_LIMIT} in a message",
            details={"limit": ENTITY_LIMIT, "entities": markup.entities},
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

    def error(self, message: str, offset: int, details: dict[str, Any] | None = None) -> None:
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


@dataclass
class _Markup:
    visible: str
    entities: int


def _scan(parse_mode: str | None, built: _Built) -> _Markup:
    if parse_mode == HTML:
        return _scan_html(built)
    if parse_mode == MARKDOWN:
        return _scan_markdown(built)
    return _Markup(built.text, 0)


# HTML --------------------------------------------------------------------------------------

# Telegram's tags, with the attributes each requires and allows.
_HTML_TAGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    **{
        name: (frozenset(), frozenset())
        for name in ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler")
    },
    "pre": (frozenset(), frozenset()),
    "span": (frozenset({"class"}), frozenset()),
    "a": (frozenset({"href"}), frozenset()),
    "code": (frozenset(), frozenset({"class"})),
    "blockquote": (frozenset(), frozenset({"expandable"})),
    "tg-emoji": (frozenset({"emoji-id"}), frozenset()),
}
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[^\s=>/\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?)>"
)
_ATTRIBUTE = re.compile(r"([^\s=>/\"']+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPECIAL = re.compile(r"[<>&]")
_LINK = re.compile(r"^(?:https?|tg)://\S+$", re.IGNORECASE)
_PLAIN_TEXT_TAGS = ("pre", "code")


def _scan_html(built: _Built) -> _Markup:
    text = built.text
    visible: list[str] = []
    entities = 0
    open_tags: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        special = _HTML_SPECIAL.search(text, i)
        if special is None:
            visible.append(text[i:])
            break
        visible.append(text[i : special.start()])
        i = special.start()
        if text[i] == "&":
            entity = _ENTITY.match(text, i)
            if entity is None:
                built.error("'&' starts no entity: write &amp; for a literal '&'", i)
            visible.append(_entity_text(entity))  # type: ignore[arg-type]
            i = entity.end()  # type: ignore[union-attr]
            continue
        if text[i] == ">":
            built.error("write &gt; for a literal '>'", i)
        tag = _TAG.match(text, i)
        if tag is None:
            built.error("'<' starts no tag: write &lt; for a literal '<'", i)
        assert tag is not None
        built.refuse_placeholder_in(tag.group(0), i, "inside a tag")
        closing, name, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
        if name not in _HTML_TAGS:
            built.error(
                f"<{name}> is not a tag Telegram supports; use {', '.join(_HTML_TAGS)}",
                i,
                {"allowed": list(_HTML_TAGS)},
            )
        if tag.group(4):
            built.error(f"<{name}/>: Telegram's tags are opened and closed, never self-closing", i)
        if closing:
            _close_html(built, open_tags, name, attributes, i)
        else:
            _check_html_attributes(built, name, attributes, i)
            _check_html_nesting(built, open_tags, name, i)
            open_tags.append((name, i))
            entities += 1
        i = tag.end()
    if open_tags:
        name, opened = open_tags[-1]
        built.error(f"<{name}> is never closed", opened)
    return _Markup("".join(visible), entities)


def _entity_text(entity: re.Match[str]) -> str:
    named, decimal, hexadecimal = entity.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


def _close_html(
    built: _Built, open_tags: list[tuple[str, int]], name: str, attributes: str, at: int
) -> None:
    if attributes.strip():
        built.error(f"</{name}>: a closing tag takes no attributes", at)
    if not open_tags:
        built.error(f"</{name}> closes a tag that was never opened", at)
    innermost, opened = open_tags[-1]
    if innermost != name:
        built.error(
            f"</{name}> comes before </{innermost}>: <{innermost}> (at {built.where(opened)}) "
            "must be closed first",
            at,
        )
    open_tags.pop()


def _check_html_attributes(built: _Built, name: str, attributes: str, at: int) -> None:
    required, allowed = _HTML_TAGS[name]
    found: dict[str, str | None] = {}
    for attribute in _ATTRIBUTE.finditer(attributes):
        key = attribute.group(1).lower()
        values = attribute.group(2, 3, 4)
        value = next((v for v in values if v is not None), None)
        if key not in required | allowed:
            built.error(f"<{name}> takes no attribute {key!r}", at)
        if key in found:
            built.error(f"<{name}> has {key!r} twice", at)
        found[key] = html.unescape(value) if value is not None else None
    for key in sorted(required - found.keys()):
        built.error(f"<{name}> needs a {key!r} attribute", at)
    href = found.get("href")
    if name == "a" and not _LINK.match(href or ""):
        built.error(f"<a href={href!r}>: a link must start with http://, https:// or tg://", at)
    if name == "span" and found.get("class") != "tg-spoiler":
        built.error('<span> is only for spoilers: <span class="tg-spoiler">', at)
    if name == "tg-emoji" and not (found.get("emoji-id") or "").isdigit():
        built.error("<tg-emoji>: emoji-id is the custom emoji's numeric id", at)
    if name == "code" and "class" in found and not (found["class"] or "").startswith("language-"):
        built.error('<code class=…> names a language, as in class="language-python"', at)
    if name == "blockquote" and found.get("expandable") is not None:
        built.error("<blockquote expandable> takes no value", at)


def _check_html_nesting(
    built: _Built, open_tags: list[tuple[str, int]], name: str, at: int
) -> None:
    names = [open_name for open_name, _ in open_tags]
    plain = [n for n in names if n in _PLAIN_TEXT_TAGS]
    if plain and not (name == "code" and names[-1] == "pre" and len(plain) == 1):
        built.error(f"<{name}> cannot be inside <{plain[-1]}>, which holds plain text", at)
    if name in ("a", "blockquote") and name in names:
        built.error(f"<{name}> cannot be inside another <{name}>", at)


# MarkdownV2 --------------------------------------------------------------------------------

_MARKDOWN_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_ESCAPE = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]+$")
_CUSTOM_EMOJI = re.compile(r"^tg://emoji\?id=\d+$")
_MARKERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "link": "[",
    "custom emoji": "![",
}


class _MarkdownScanner:
    def __init__(self, built: _Built) -> None:
        self.built = built
        self.text = built.text
        self.visible: list[str] = []
        self.entities = 0
        self.open: list[tuple[str, int]] = []

    def scan(self) -> _Markup:
        text, i, in_quote = self.text, 0, False
        line_start = True
        while i < len(text):
            c = text[i]
            if line_start:
                line_start = False
                marker = 3 if text.startswith("**>", i) else 1 if c == ">" else 0
                if marker and not in_quote:
                    self.entities += 1
                in_quote = bool(marker)
                if marker:
                    i += marker
                    continue
            if c == "\n":
                self.visible.append(c)
                line_start = True
                i += 1
            elif c == "\\":
                i = self._escaped(i)
            elif c == "`":
                i = self._code(i)
            elif c == "*":
                i = self._toggle("bold", i, 1)
            elif c == "_":
                double = text.startswith("__", i)
                i = self._toggle("underline" if double else "italic", i, 2 if double else 1)
            elif c == "~":
                i = self._toggle("strikethrough", i, 1)
            elif c == "|" and text.startswith("||", i):
                ends_quote = in_quote and text[i + 2 : i + 3] in ("", "\n")
                if ends_quote and not any(kind == "spoiler" for kind, _ in self.open):
                    i += 2  # the end of an expandable block quotation
                else:
                    i = self._toggle("spoiler", i, 2)
            elif c == "[" or text.startswith("![", i):
                self.open.append(("link" if c == "[" else "custom emoji", i))
                i += 1 if c == "[" else 2
            elif c == "]":
                i = self._link_end(i)
            elif c in _MARKDOWN_RESERVED:
                self.built.error(
                    f"'{c}' is reserved in MarkdownV2: write '\\{c}' for a literal '{c}'", i
                )
            else:
                self.visible.append(c)
                i += 1
        if self.open:
            kind, opened = self.open[-1]
            self.built.error(f"{kind} opened with '{_MARKERS[kind]}' is never closed", opened)
        return _Markup("".join(self.visible), self.entities)

    def _escaped(self, i: int) -> int:
        following = self.text[i + 1 : i + 2]
        if not following or not 0 < ord(following) < 127:
            self.built.error(
                "'\\' escapes the character after it: write '\\\\' for a literal '\\'", i
            )
        self.visible.append(following)
        return i + 2

    def _toggle(self, kind: str, i: int, width: int) -> int:
        if self.open and self.open[-1][0] == kind:
            self.open.pop()
            self.entities += 1
        elif any(open_kind == kind for open_kind, _ in self.open):
            inner, opened = self.open[-1]
            self.built.error(
                f"'{_MARKERS[kind]}' closes {kind} while {inner} (opened at "
                f"{self.built.where(opened)}) is still open: close it first",
                i,
            )
        else:
            self.open.append((kind, i))
        return i + width

    def _code(self, i: int) -> int:
        fence = "```" if self.text.startswith("```", i) else "`"
        j, content = i + len(fence), []
        while j < len(self.text):
            if self.text[j] == "\\" and j + 1 < len(self.text):
                content.append(self.text[j + 1])
                j += 2
            elif self.text.startswith(fence, j):
                body = "".join(content)
                first_line, newline, rest = body.partition("\n")
                if fence == "```" and newline and _LANGUAGE.match(first_line):
                    body = rest
                self.visible.append(body)
                self.entities += 1
                return j + len(fence)
            else:
                content.append(self.text[j])
                j += 1
        kind = "pre-formatted block" if fence == "```" else "code"
        self.built.error(f"{kind} opened with '{fence}' is never closed", i)
        return j

    def _link_end(self, i: int) -> int:
        if not self.open or self.open[-1][0] not in ("link", "custom emoji"):
            self.built.error("']' is reserved in MarkdownV2: write '\\]' for a literal ']'", i)
        kind, _ = self.open.pop()
        if not self.text.startswith("(", i + 1):
            self.built.error(f"a {kind}'s [text] must be followed by (URL)", i)
        j, url = i + 2, []
        while j < len(self.text) and self.text[j] != ")":
            if self.text[j] == "\\" and j + 1 < len(self.text):
                j += 1
            url.append(self.text[j])
            j += 1
        if j >= len(self.text):
            self.built.error(f"the URL of a {kind} is never closed by ')'", i + 1)
        target = "".join(url)
        self.built.refuse_placeholder_in(self.text[i + 2 : j], i + 2, f"in the URL of a {kind}")
        if kind == "link" and not _LINK.match(target):
            self.built.error(
                f"link ({target}): a link must start with http://, https:// or tg://", i + 1
            )
        if kind == "custom emoji" and not _CUSTOM_EMOJI.match(target):
            self.built.error(f"custom emoji ({target}): the URL is tg://emoji?id=<id>", i + 1)
        self.entities += 1
        return j + 1


def _scan_markdown(built: _Built) -> _Markup:
    return _MarkdownScanner(built).scan()


# Rendering ---------------------------------------------------------------------------------


def escape(value: str, parse_mode: str | None) -> str:
    """``value`` as literal text in ``parse_mode``."""
    if parse_mode == HTML:
        return html.escape(value, quote=False)
    if parse_mode == MARKDOWN:
        return _MARKDOWN_ESCAPE.sub(r"\\\1", value)
    return value


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
