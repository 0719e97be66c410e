"""Telegram's markup: what its HTML and MarkdownV2 parse modes accept, the text a reader
sees once the markup is parsed, and how a value is escaped to stay literal text.

The scanners follow Telegram's documentation (core.telegram.org/bots/api#formatting-options)
strictly: anything Telegram may refuse is refused here, with the line and column, so that a
template that passes is sent as written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Protocol

HTML = "html"
MARKDOWN = "markdown"
PARSE_MODES = (HTML, MARKDOWN)

_MARKDOWN_ESCAPE = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


class Located(Protocol):
    """A text to scan, which knows where each of its offsets comes from in the source and
    raises the error for it."""

    text: str

    def error(self, message: str, offset: int, details: dict[str, Any] | None = None) -> None: ...

    def where(self, offset: int) -> str: ...

    def refuse_placeholder_in(self, fragment: str, offset: int, where: str) -> None: ...


@dataclass
class Markup:
    visible: str
    entities: int


def scan(parse_mode: str | None, built: Located) -> Markup:
    """What the reader sees of ``built`` and how many entities it has."""
    if parse_mode == HTML:
        return _scan_html(built)
    if parse_mode == MARKDOWN:
        return _scan_markdown(built)
    return Markup(built.text, 0)


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


def _scan_html(built: Located) -> Markup:
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
    return Markup("".join(visible), entities)


def _entity_text(entity: re.Match[str]) -> str:
    named, decimal, hexadecimal = entity.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


def _close_html(
    built: Located, open_tags: list[tuple[str, int]], name: str, attributes: str, at: int
) -> None:
    if attributes.strip():
        built.error(f"</{name}>: a closing tag takes no attributes", at)
    if all(open_name != name for open_name, _ in open_tags):
        built.error(f"</{name}> closes a tag that was never opened", at)
    innermost, opened = open_tags[-1]
    if innermost != name:
        built.error(
            f"</{name}> comes before </{innermost}>: <{innermost}> (at {built.where(opened)}) "
            "must be closed first",
            at,
        )
    open_tags.pop()


def _check_html_attributes(built: Located, name: str, attributes: str, at: int) -> None:
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
    built: Located, open_tags: list[tuple[str, int]], name: str, at: int
) -> None:
    names = [open_name for open_name, _ in open_tags]
    plain = [n for n in names if n in _PLAIN_TEXT_TAGS]
    if plain and not (name == "code" and names[-1] == "pre" and len(plain) == 1):
        built.error(f"<{name}> cannot be inside <{plain[-1]}>, which holds plain text", at)
    if name in ("a", "blockquote") and name in names:
        built.error(f"<{name}> cannot be inside another <{name}>", at)


# MarkdownV2 --------------------------------------------------------------------------------

_MARKDOWN_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
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
    def __init__(self, built: Located) -> None:
        self.built = built
        self.text = built.text
        self.visible: list[str] = []
        self.entities = 0
        self.open: list[tuple[str, int]] = []

    def scan(self) -> Markup:
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
        return Markup("".join(self.visible), self.entities)

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


def _scan_markdown(built: Located) -> Markup:
    return _MarkdownScanner(built).scan()


def escape(value: str, parse_mode: str | None) -> str:
    """``value`` as literal text in ``parse_mode``."""
    if parse_mode == HTML:
        return html.escape(value, quote=False)
    if parse_mode == MARKDOWN:
        return _MARKDOWN_ESCAPE.sub(r"\\\1", value)
    return value
