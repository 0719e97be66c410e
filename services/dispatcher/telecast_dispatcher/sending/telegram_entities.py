"""A message's text in Telegram's HTML or MarkdownV2, turned into the plain text and the
entities (bold, links, …) that Telegram itself would make of it. Pure: no I/O.

The Pyrogram adapter sends the entities rather than the markup because Pyrogram parses
neither as Telegram does: it has no MarkdownV2 mode (its "Markdown" is its own dialect),
and its HTML parser unescapes text twice (``&amp;lt;`` arrives as ``<``), ignores
``<span class="tg-spoiler">`` and reads ``<pre><code class="language-x">`` as two entities.
The texts come from templates that ``telecast_libs.content.markup`` accepted, so the rules
here are Telegram's (core.telegram.org/bots/api#formatting-options) and an input it would
refuse raises ``ValueError``. Offsets and lengths count UTF-16 code units, as Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

HTML = "html"
MARKDOWN_V2 = "markdown"
_PARSE_MODES = {"html": HTML, "markdown": MARKDOWN_V2, "markdownv2": MARKDOWN_V2}

_MENTION = re.compile(r"^tg://user\?id=(\d+)$")
_CUSTOM_EMOJI = re.compile(r"^tg://emoji\?id=(\d+)$")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]+$")
_MARKDOWN_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity, typed as the Bot API names them: bold, italic, underline,
    strikethrough, spoiler, code, pre, text_link, text_mention, custom_emoji, blockquote,
    expandable_blockquote."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    user_id: int | None = None
    custom_emoji_id: int | None = None


@dataclass(frozen=True, slots=True)
class Formatted:
    text: str
    entities: list[Entity]


def parse_mode_of(parse_mode: str | None) -> str | None:
    """``html`` or ``markdown`` (MarkdownV2) from the names the platform and Telegram use
    ("html", "HTML", "markdown", "MarkdownV2"); None for plain text."""
    if parse_mode is None:
        return None
    normalized = _PARSE_MODES.get(parse_mode.lower())
    if normalized is None:
        raise ValueError(f"unknown parse mode {parse_mode!r}: use HTML, MarkdownV2 or none")
    return normalized


def to_entities(text: str, parse_mode: str | None) -> Formatted:
    """``text`` as Telegram shows it, and its entities sorted by offset (outer first)."""
    mode = parse_mode_of(parse_mode)
    if mode == HTML:
        return _HtmlReader().read(text)
    if mode == MARKDOWN_V2:
        return _MarkdownV2Reader(text).read()
    return Formatted(text, [])


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Open:
    """An entity whose end is not known yet (a link's URL is learnt at its end too)."""

    __slots__ = ("custom_emoji_id", "language", "offset", "type", "url", "user_id")

    def __init__(self, type_: str, offset: int, **attributes: object) -> None:
        self.type = type_
        self.offset = offset
        self.url: str | None = None
        self.language: str | None = None
        self.user_id: int | None = None
        self.custom_emoji_id: int | None = None
        for name, value in attributes.items():
            setattr(self, name, value)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[Entity] = []

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.length += _utf16_length(text)

    def open(self, type_: str, **attributes: object) -> _Open:
        return _Open(type_, self.length, **attributes)

    def close(self, entity: _Open) -> None:
        length = self.length - entity.offset
        if length > 0:  # Telegram drops empty entities
            self.entities.append(
                Entity(
                    entity.type,
                    entity.offset,
                    length,
                    url=entity.url,
                    language=entity.language,
                    user_id=entity.user_id,
                    custom_emoji_id=entity.custom_emoji_id,
                )
            )

    def result(self) -> Formatted:
        entities = sorted(self.entities, key=lambda e: (e.offset, -e.length))
        return Formatted("".join(self.parts), entities)


# HTML --------------------------------------------------------------------------------------

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = _Builder()
        # (tag, its entity or None when it makes none: <code> inside <pre> names the language)
        self.stack: list[tuple[str, _Open | None]] = []

    def read(self, text: str) -> Formatted:
        self.feed(text)
        self.close()
        if self.stack:
            raise ValueError(f"<{self.stack[-1][0]}> is never closed")
        return self.builder.result()

    def handle_data(self, data: str) -> None:
        self.builder.append(data)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise ValueError(f"<{tag}/>: Telegram's tags are opened and closed, never self-closing")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        entity: _Open | None
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            pre = self.stack[-1][1]
            language = attributes.get("class") or ""
            if pre is not None and language.startswith("language-"):
                pre.language = language.removeprefix("language-")
            entity = None
        elif tag in _SIMPLE_TAGS:
            entity = self.builder.open(_SIMPLE_TAGS[tag])
        elif tag == "span" and attributes.get("class") == "tg-spoiler":
            entity = self.builder.open("spoiler")
        elif tag == "a":
            href = attributes.get("href") or ""
            mention = _MENTION.match(href)
            if mention is not None:
                entity = self.builder.open("text_mention", user_id=int(mention.group(1)))
            else:
                entity = self.builder.open("text_link", url=href)
        elif tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
            entity = self.builder.open(kind)
        elif tag == "tg-emoji" and (attributes.get("emoji-id") or "").isdigit():
            emoji_id = int(attributes["emoji-id"] or 0)
            entity = self.builder.open("custom_emoji", custom_emoji_id=emoji_id)
        else:
            raise ValueError(f"<{tag}> is not a tag Telegram supports (or lacks its attribute)")
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise ValueError(f"</{tag}> does not close the innermost open tag")
        _, entity = self.stack.pop()
        if entity is not None:
            self.builder.close(entity)


# MarkdownV2 --------------------------------------------------------------------------------

_TOGGLES = {"*": "bold", "~": "strikethrough"}


class _MarkdownV2Reader:
    """Reads MarkdownV2 as ``telecast_libs.content.markup`` scans it, building entities."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.builder = _Builder()
        self.open: list[_Open] = []  # inline entities, innermost last
        self.quote: _Open | None = None

    def read(self) -> Formatted:
        text, i = self.text, 0
        line_start = True
        while i < len(text):
            c = text[i]
            if line_start:
                line_start = False
                marker = 3 if text.startswith("**>", i) else 1 if c == ">" else 0
                if marker:
                    if self.quote is None:
                        kind = "expandable_blockquote" if marker == 3 else "blockquote"
                        self.quote = self.builder.open(kind)
                    i += marker
                    continue
            if c == "\n":
                if self.quote is not None and not self._quote_goes_on(i + 1):
                    self._close_quote()
                self.builder.append(c)
                line_start = True
                i += 1
            elif c == "\\":
                following = text[i + 1 : i + 2]
                if not following or not 0 < ord(following) < 127:
                    raise ValueError(f"'\\' at {i} escapes no ASCII character")
                self.builder.append(following)
                i += 2
            elif c == "`":
                i = self._code(i)
            elif c in _TOGGLES:
                i = self._toggle(_TOGGLES[c], i, 1)
            elif c == "_":
                double = text.startswith("__", i)
                i = self._toggle("underline" if double else "italic", i, 2 if double else 1)
            elif c == "|" and text.startswith("||", i):
                ends_quote = self.quote is not None and text[i + 2 : i + 3] in ("", "\n")
                if ends_quote and not any(e.type == "spoiler" for e in self.open):
                    i += 2  # the end of an expandable block quotation
                else:
                    i = self._toggle("spoiler", i, 2)
            elif c == "[" or text.startswith("![", i):
                kind = "text_link" if c == "[" else "custom_emoji"
                self.open.append(self.builder.open(kind))
                i += 1 if c == "[" else 2
            elif c == "]":
                i = self._link_end(i)
            elif c in _MARKDOWN_RESERVED:
                raise ValueError(f"'{c}' at {i} is reserved in MarkdownV2 and not escaped")
            else:
                self.builder.append(c)
                i += 1
        if self.open:
            raise ValueError(f"{self.open[-1].type} is never closed")
        if self.quote is not None:
            self._close_quote()
        return self.builder.result()

    def _quote_goes_on(self, i: int) -> bool:
        return self.text.startswith(">", i) or self.text.startswith("**>", i)

    def _close_quote(self) -> None:
        # An inline entity that runs past the quotation's end is split in two around it.
        if any(e.type in ("text_link", "custom_emoji") for e in self.open):
            raise ValueError("a link cannot run past the end of a block quotation")
        for entity in reversed(self.open):
            self.builder.close(entity)
        assert self.quote is not None
        self.builder.close(self.quote)
        self.quote = None
        self.open = [self.builder.open(e.type) for e in self.open]

    def _toggle(self, kind: str, i: int, width: int) -> int:
        if self.open and self.open[-1].type == kind:
            self.builder.close(self.open.pop())
        elif any(e.type == kind for e in self.open):
            raise ValueError(f"{kind} closed at {i} while {self.open[-1].type} is still open")
        else:
            self.open.append(self.builder.open(kind))
        return i + width

    def _code(self, i: int) -> int:
        fence = "```" if self.text.startswith("```", i) else "`"
        j, content = i + len(fence), []
        while j < len(self.text):
            if self.text[j] == "\\" and j + 1 < len(self.text):
                content.append(self.text[j + 1])
                j += 2
            elif self.text.startswith(fence, j):
                break
            else:
                content.append(self.text[j])
                j += 1
        else:
            raise ValueError(f"code opened with '{fence}' at {i} is never closed")
        body, language = "".join(content), None
        if fence == "```":
            first_line, newline, rest = body.partition("\n")
            if newline and (not first_line or _LANGUAGE.match(first_line)):
                # The first line names the language; Telegram shows what follows it.
                body, language = rest, first_line or None
        entity = self.builder.open("pre" if fence == "```" else "code", language=language)
        self.builder.append(body)
        self.builder.close(entity)
        return j + len(fence)

    def _link_end(self, i: int) -> int:
        if not self.open or self.open[-1].type not in ("text_link", "custom_emoji"):
            raise ValueError(f"']' at {i} is reserved in MarkdownV2 and not escaped")
        entity = self.open.pop()
        if not self.text.startswith("(", i + 1):
            raise ValueError(f"the link's [text] at {i} is not followed by (URL)")
        j, url = i + 2, []
        while j < len(self.text) and self.text[j] != ")":
            if self.text[j] == "\\" and j + 1 < len(self.text):
                j += 1
            url.append(self.text[j])
            j += 1
        if j >= len(self.text):
            raise ValueError(f"the URL of the link at {i} is never closed by ')'")
        target = "".join(url)
        if entity.type == "custom_emoji":
            emoji = _CUSTOM_EMOJI.match(target)
            if emoji is None:
                raise ValueError(f"custom emoji ({target}): the URL is tg://emoji?id=<id>")
            entity.custom_emoji_id = int(emoji.group(1))
        elif (mention := _MENTION.match(target)) is not None:
            entity.type, entity.user_id = "text_mention", int(mention.group(1))
        else:
            entity.url = target
        self.builder.close(entity)
        return j + 1
