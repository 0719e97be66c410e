"""Tracked links: a rendered message's URLs rewritten into ``<TRACKING_BASE_URL>/r/<token>``.

What is rewritten: URL buttons, HTML ``<a href>`` and MarkdownV2 ``[text](url)`` links, when
they are ``http(s)://``. What is not: ``tg://`` links (custom emoji, user mentions), bare
URLs in the text (rewriting them would change what the reader sees and its length), and any
link whose tracked form would be longer than ``MAX_URL_LENGTH`` (it is left as it is).
Telegram counts a text's length after parsing the markup, so a longer ``href`` changes
nothing of the 4,096 (or 1,024 for a caption) characters. Pure functions: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telecast_libs.content.markup import HTML, MARKDOWN
from telecast_libs.tracking import TrackedLink, link_path, sign

# The longest URL we put in a button or a link (a template's button URL is at most this).
MAX_URL_LENGTH = 2048

_TRACKABLE = re.compile(r"^https?://\S+$", re.IGNORECASE)
# An <a> tag as Telegram's HTML allows it (href is its only attribute), the value quoted in
# either way or not at all.
_HTML_LINK = re.compile(
    r"(<a\s+href\s*=\s*)(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+))(\s*>)", re.IGNORECASE
)
_MARKDOWN_URL_SPECIAL = re.compile(r"([)\\])")

Track = Callable[[str], str]


@dataclass(frozen=True)
class LinkTracker:
    """Makes the tracked URLs of one installation (``TRACKING_BASE_URL``, ``TRACKING_SECRET``)."""

    base_url: str
    secret: str

    def for_delivery(self, execution_id: str, contact_id: str, message_id: str) -> Track:
        """The rewrite of one URL of one delivery: tracked, or the URL itself when it is
        not trackable or its tracked form would be too long."""
        base = self.base_url.rstrip("/")

        def track(url: str) -> str:
            if not _TRACKABLE.match(url):
                return url
            token = sign(self.secret, TrackedLink(execution_id, contact_id, message_id, url))
            tracked = base + link_path(token)
            return tracked if len(tracked) <= MAX_URL_LENGTH else url

        return track


def rewrite(
    text: str, parse_mode: str | None, buttons: list[list[dict[str, Any]]], track: Track
) -> tuple[str, list[list[dict[str, Any]]]]:
    """``text`` and ``buttons`` with every trackable URL replaced by ``track(url)``; the
    markup stays valid for ``parse_mode``."""
    new_buttons = [
        [{**button, "url": track(button["url"])} if button.get("url") else button for button in row]
        for row in buttons
    ]
    if parse_mode == HTML:
        text = _rewrite_html(text, track)
    elif parse_mode == MARKDOWN:
        text = _rewrite_markdown(text, track)
    return text, new_buttons


def _rewrite_html(text: str, track: Track) -> str:
    def replace(match: re.Match[str]) -> str:
        raw = next(v for v in match.group(2, 3, 4) if v is not None)
        url = html.unescape(raw)
        tracked = track(url)
        if tracked == url:
            return match.group(0)
        return f'{match.group(1)}"{html.escape(tracked, quote=True)}"{match.group(5)}'

    # Telegram refuses an <a> inside <pre> or <code> (the templates are checked), and a
    # literal "<a" there is written &lt;a: every match is a link.
    return _HTML_LINK.sub(replace, text)


def _rewrite_markdown(text: str, track: Track) -> str:
    """Scans MarkdownV2 as Telegram does: escapes and code spans are skipped, and the URL of
    each ``[text](url)`` link (not a ``![emoji](tg://…)``) is rewritten."""
    out: list[str] = []
    i, n = 0, len(text)
    opened: list[str] = []  # "[" or "![" for each open link text
    while i < n:
        c = text[i]
        if c == "\\":
            out.append(text[i : i + 2])
            i += 2
        elif c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _code_end(text, i + len(fence), fence)
            out.append(text[i:end])
            i = end
        elif text.startswith("![", i):
            opened.append("![")
            out.append("![")
            i += 2
        elif c == "[":
            opened.append("[")
            out.append(c)
            i += 1
        elif c == "]" and opened and text.startswith("(", i + 1):
            kind = opened.pop()
            j, url = i + 2, []
            while j < n and text[j] != ")":
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                url.append(text[j])
                j += 1
            target = "".join(url)
            tracked = track(target) if kind == "[" else target
            if tracked == target:
                out.append(text[i : j + 1])
            else:
                out.append("](" + _MARKDOWN_URL_SPECIAL.sub(r"\\\1", tracked) + ")")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _code_end(text: str, start: int, fence: str) -> int:
    j = start
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            j += 2
        elif text.startswith(fence, j):
            return j + len(fence)
        else:
            j += 1
    return len(text)
