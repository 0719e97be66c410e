"""Telegram's markup: what its HTML and MarkdownV2 parse modes accept, the text a reader
sees once the markup is parsed with the entities (bold, links, …) Telegram makes of it, and
how a value is escaped to stay literal text. Pure: no I/O.

One scanner per parse mode serves both sides: a template is checked with it when it is saved
(anything Telegram may refuse is refused here, with the line and column, so that a template
that passes is sent as written), and the dispatcher's Pyrogram adapter sends the entities it
builds rather than the markup, because Pyrogram parses neither as Telegram does: it has no
MarkdownV2 mode (its "Markdown" is its own dialect), and its HTML parser unescapes text twice
(``&amp;lt;`` arrives as ``<``), ignores ``<span class="tg-spoiler">`` and reads
``<pre><code class="language-x">`` as two entities. The rules follow Telegram's documentation
(core.telegram.org/bots/api#formatting-options). Offsets and lengths count UTF-16 code units,
as Telegram does.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

HTML = "html"
MARKDOWN = "markdown"  # Telegram's MarkdownV2
PARSE_MODES = (HTML, MARKDOWN)
# The names the platform and Telegram use for each parse mode.
_PARSE_MODE_NAMES = {"html": HTML, "markdown": MARKDOWN, "markdownv2": MARKDOWN}

_MARKDOWN_ESCAPE = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_MENTION = re.compile(r"^tg://user\?id=(\d+)$")


class Located(Protocol):
    """A text to scan, which knows where each of its offsets comes from in the source and
    raises the error for it."""

    text: str

    def error(
        self, message: str, offset: int, details: dict[str, Any] | None = None
    ) -> NoReturn: ...

    def where(self, offset: int) -> str: ...

    def refuse_placeholder_in(self, fragment: str, offset: int, where: str) -> None: ...


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
class LinkTarget:
    """Where a link's URL is written in the scanned text: ``text[start:end]`` is the URL as
    written (an HTML attribute's value with its quotes; a MarkdownV2 link's, escapes
    included), so that it can be replaced (``tracking.links`` in the dispatcher)."""

    start: int
    end: int
    url: str


@dataclass(frozen=True, slots=True)
class Markup:
    """What a reader sees, the entities sorted by offset (outer first), and where each
    http(s) or tg:// link's URL is written (text links and mentions, not custom emoji)."""

    visible: str
    entities: list[Entity]
    links: list[LinkTarget] = field(default_factory=list)


def parse_mode_of(parse_mode: str | None) -> str | None:
    """``html`` or ``markdown`` (MarkdownV2) from the names the platform and Telegram use
    ("html", "HTML", "markdown", "MarkdownV2"); None for plain text."""
    if parse_mode is None:
        return None
    normalized = _PARSE_MODE_NAMES.get(parse_mode.lower())
    if normalized is None:
        raise ValueError(f"unknown parse mode {parse_mode!r}: use HTML, MarkdownV2 or none")
    return normalized


def scan(parse_mode: str | None, built: Located) -> Markup:
    """What the reader sees of ``built`` and its entities; ``built.error`` for anything
    Telegram would refuse."""
    mode = parse_mode_of(parse_mode)
    if mode == HTML:
        return _HtmlScanner(built).scan()
    if mode == MARKDOWN:
        return _MarkdownScanner(built).scan()
    return Markup(built.text, [])


def to_entities(text: str, parse_mode: str | None) -> Markup:
    """A message's text as Telegram shows it, with its entities; ``ValueError`` for markup
    Telegram would refuse (the texts come from checked templates: it should not happen)."""
    return scan(parse_mode, _Plain(text))


class _Plain:
    """A text that is its own source (no placeholders): errors are ``ValueError``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, offset: int, details: dict[str, Any] | None = None) -> NoReturn:
        raise ValueError(f"{message} (at {offset})")

    def where(self, offset: int) -> str:
        return f"offset {offset}"

    def refuse_placeholder_in(self, fragment: str, offset: int, where: str) -> None:
        return None


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Open:
    """An entity whose end is not known yet (a link's URL is learnt at its end too)."""

    __slots__ = ("custom_emoji_id", "language", "offset", "opened_at", "type", "url", "user_id")

    def __init__(self, type_: str, offset: int, opened_at: int, **attributes: Any) -> None:
        self.type = type_
        self.offset = offset
        # Where its marker is in the scanned text (for errors).
        self.opened_at = opened_at
        self.url: str | None = None
        self.language: str | None = None
        self.user_id: int | None = None
        self.custom_emoji_id: int | None = None
        for name, value in attributes.items():
            setattr(self, name, value)


class _Builder:
    """The visible text and the entities, as a scanner reads them."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[Entity] = []
        self.links: list[LinkTarget] = []

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.length += _utf16_length(text)

    def open(self, type_: str, opened_at: int, **attributes: Any) -> _Open:
        return _Open(type_, self.length, opened_at, **attributes)

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

    def result(self) -> Markup:
        entities = sorted(self.entities, key=lambda e: (e.offset, -e.length))
        return Markup("".join(self.parts), entities, self.links)


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
# The entity each tag that takes no attribute makes.
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
    "span": "spoiler",  # only <span class="tg-spoiler"> is accepted
    "code": "code",
    "pre": "pre",
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


class _HtmlScanner:
    def __init__(self, built: Located) -> None:
        self.built = built
        self.builder = _Builder()
        # (tag, where it opened, its entity or None: <code> inside <pre> names the language)
        self.open_tags: list[tuple[str, int, _Open | None]] = []

    def scan(self) -> Markup:
        built, text, i = self.built, self.built.text, 0
        while i < len(text):
            special = _HTML_SPECIAL.search(text, i)
            if special is None:
                self.builder.append(text[i:])
                break
            self.builder.append(text[i : special.start()])
            i = special.start()
            if text[i] == "&":
                entity = _ENTITY.match(text, i)
                if entity is None:
                    built.error("'&' starts no entity: write &amp; for a literal '&'", i)
                self.builder.append(_entity_text(entity))
                i = entity.end()
                continue
            if text[i] == ">":
                built.error("write &gt; for a literal '>'", i)
            tag = _TAG.match(text, i)
            if tag is None:
                built.error("'<' starts no tag: write &lt; for a literal '<'", i)
            built.refuse_placeholder_in(tag.group(0), i, "inside a tag")
            closing, name, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in _HTML_TAGS:
                built.error(
                    f"<{name}> is not a tag Telegram supports; use {', '.join(_HTML_TAGS)}",
                    i,
                    {"allowed": list(_HTML_TAGS)},
                )
            if tag.group(4):
                built.error(
                    f"<{name}/>: Telegram's tags are opened and closed, never self-closing", i
                )
            if closing:
                self._close(name, attributes, i)
            else:
                found = self._attributes(name, attributes, i)
                self._check_nesting(name, i)
                self.open_tags.append((name, i, self._entity(name, found, i)))
                if name == "a":
                    self._note_link(tag, found["href"] or "")
            i = tag.end()
        if self.open_tags:
            name, opened, _ = self.open_tags[-1]
            built.error(f"<{name}> is never closed", opened)
        return self.builder.result()

    def _note_link(self, tag: re.Match[str], href: str) -> None:
        attributes_at = tag.start(3)
        value = next(_ATTRIBUTE.finditer(tag.group(3)))  # href is <a>'s only attribute
        quoted = 2 if value.group(2) is not None else 3 if value.group(3) is not None else 4
        start, end = value.span(quoted)
        if quoted != 4:  # the quotes belong to what is replaced
            start, end = start - 1, end + 1
        self.builder.links.append(LinkTarget(attributes_at + start, attributes_at + end, href))

    def _entity(self, name: str, found: dict[str, str | None], at: int) -> _Open | None:
        open_tags, builder = self.open_tags, self.builder
        if name == "code" and open_tags and open_tags[-1][0] == "pre":
            pre = open_tags[-1][2]
            language = found.get("class")
            if pre is not None and language:
                pre.language = language.removeprefix("language-")
            return None
        if name == "a":
            href = found["href"] or ""
            mention = _MENTION.match(href)
            if mention is not None:
                return builder.open("text_mention", at, user_id=int(mention.group(1)))
            return builder.open("text_link", at, url=href)
        if name == "blockquote":
            expandable = "expandable" in found
            return builder.open("expandable_blockquote" if expandable else "blockquote", at)
        if name == "tg-emoji":
            return builder.open("custom_emoji", at, custom_emoji_id=int(found["emoji-id"] or 0))
        return builder.open(_SIMPLE_TAGS[name], at)

    def _close(self, name: str, attributes: str, at: int) -> None:
        built = self.built
        if attributes.strip():
            built.error(f"</{name}>: a closing tag takes no attributes", at)
        if all(open_name != name for open_name, _, _ in self.open_tags):
            built.error(f"</{name}> closes a tag that was never opened", at)
        innermost, opened, entity = self.open_tags[-1]
        if innermost != name:
            built.error(
                f"</{name}> comes before </{innermost}>: <{innermost}> (at "
                f"{built.where(opened)}) must be closed first",
                at,
            )
        self.open_tags.pop()
        if entity is not None:
            self.builder.close(entity)

    def _attributes(self, name: str, attributes: str, at: int) -> dict[str, str | None]:
        built = self.built
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
        language = found.get("class")
        if name == "code" and "class" in found and not (language or "").startswith("language-"):
            built.error('<code class=…> names a language, as in class="language-python"', at)
        if name == "blockquote" and found.get("expandable") is not None:
            built.error("<blockquote expandable> takes no value", at)
        return found

    def _check_nesting(self, name: str, at: int) -> None:
        names = [open_name for open_name, _, _ in self.open_tags]
        plain = [n for n in names if n in _PLAIN_TEXT_TAGS]
        if plain and not (name == "code" and names[-1] == "pre" and len(plain) == 1):
            self.built.error(f"<{name}> cannot be inside <{plain[-1]}>, which holds plain text", at)
        if name in ("a", "blockquote") and name in names:
            self.built.error(f"<{name}> cannot be inside another <{name}>", at)


def _entity_text(entity: re.Match[str]) -> str:
    named, decimal, hexadecimal = entity.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


# MarkdownV2 --------------------------------------------------------------------------------

_MARKDOWN_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]+$")
_CUSTOM_EMOJI = re.compile(r"^tg://emoji\?id=(\d+)$")
# How an operator wrote each entity, for errors.
_MARKERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "text_link": "[",
    "custom_emoji": "![",
}
_NAMES = {"text_link": "link", "custom_emoji": "custom emoji"}


class _MarkdownScanner:
    def __init__(self, built: Located) -> None:
        self.built = built
        self.text = built.text
        self.builder = _Builder()
        self.open: list[_Open] = []  # inline entities, innermost last
        self.quote: _Open | None = None

    def scan(self) -> Markup:
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
                        self.quote = self.builder.open(kind, i)
                    i += marker
                    continue
            if c == "\n":
                if self.quote is not None and not self._quote_goes_on(i + 1):
                    self._close_quote(i)
                self.builder.append(c)
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
                ends_quote = self.quote is not None and text[i + 2 : i + 3] in ("", "\n")
                if ends_quote and not any(e.type == "spoiler" for e in self.open):
                    i += 2  # the end of an expandable block quotation
                else:
                    i = self._toggle("spoiler", i, 2)
            elif c == "[" or text.startswith("![", i):
                kind = "text_link" if c == "[" else "custom_emoji"
                self.open.append(self.builder.open(kind, i))
                i += 1 if c == "[" else 2
            elif c == "]":
                i = self._link_end(i)
            elif c in _MARKDOWN_RESERVED:
                self.built.error(
                    f"'{c}' is reserved in MarkdownV2: write '\\{c}' for a literal '{c}'", i
                )
            else:
                self.builder.append(c)
                i += 1
        if self.open:
            entity = self.open[-1]
            self.built.error(
                f"{_name(entity.type)} opened with '{_MARKERS[entity.type]}' is never closed",
                entity.opened_at,
            )
        if self.quote is not None:
            self._close_quote(i)
        return self.builder.result()

    def _escaped(self, i: int) -> int:
        following = self.text[i + 1 : i + 2]
        if not following or not 0 < ord(following) < 127:
            self.built.error(
                "'\\' escapes the character after it: write '\\\\' for a literal '\\'", i
            )
        self.builder.append(following)
        return i + 2

    def _quote_goes_on(self, i: int) -> bool:
        return self.text.startswith(">", i) or self.text.startswith("**>", i)

    def _close_quote(self, at: int) -> None:
        # An inline entity that runs past the quotation's end is split in two around it.
        if any(e.type in ("text_link", "custom_emoji") for e in self.open):
            self.built.error("a link cannot run past the end of a block quotation", at)
        for entity in reversed(self.open):
            self.builder.close(entity)
        assert self.quote is not None
        self.builder.close(self.quote)
        self.quote = None
        self.open = [self.builder.open(e.type, e.opened_at) for e in self.open]

    def _toggle(self, kind: str, i: int, width: int) -> int:
        if self.open and self.open[-1].type == kind:
            self.builder.close(self.open.pop())
        elif any(e.type == kind for e in self.open):
            inner = self.open[-1]
            self.built.error(
                f"'{_MARKERS[kind]}' closes {kind} while {_name(inner.type)} (opened at "
                f"{self.built.where(inner.opened_at)}) is still open: close it first",
                i,
            )
        else:
            self.open.append(self.builder.open(kind, i))
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
            kind = "pre-formatted block" if fence == "```" else "code"
            self.built.error(f"{kind} opened with '{fence}' is never closed", i)
        body, language = "".join(content), None
        if fence == "```":
            first_line, newline, rest = body.partition("\n")
            if newline and (not first_line or _LANGUAGE.match(first_line)):
                # The first line names the language; Telegram shows what follows it.
                body, language = rest, first_line or None
        entity = self.builder.open("pre" if fence == "```" else "code", i, language=language)
        self.builder.append(body)
        self.builder.close(entity)
        return j + len(fence)

    def _link_end(self, i: int) -> int:
        if not self.open or self.open[-1].type not in ("text_link", "custom_emoji"):
            self.built.error("']' is reserved in MarkdownV2: write '\\]' for a literal ']'", i)
        entity = self.open.pop()
        kind = _name(entity.type)
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
        if entity.type == "custom_emoji":
            emoji = _CUSTOM_EMOJI.match(target)
            if emoji is None:
                self.built.error(f"custom emoji ({target}): the URL is tg://emoji?id=<id>", i + 1)
            entity.custom_emoji_id = int(emoji.group(1))
        elif not _LINK.match(target):
            self.built.error(
                f"link ({target}): a link must start with http://, https:// or tg://", i + 1
            )
        else:
            self.builder.links.append(LinkTarget(i + 2, j, target))
            mention = _MENTION.match(target)
            if mention is not None:
                entity.type, entity.user_id = "text_mention", int(mention.group(1))
            else:
                entity.url = target
        self.builder.close(entity)
        return j + 1


def _name(entity_type: str) -> str:
    return _NAMES.get(entity_type, entity_type)


def escape(value: str, parse_mode: str | None) -> str:
    """``value`` as literal text in ``parse_mode``."""
    if parse_mode == HTML:
        return html.escape(value, quote=False)
    if parse_mode == MARKDOWN:
        return _MARKDOWN_ESCAPE.sub(r"\\\1", value)
    return value
