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

from telecast_libs.content.markup import HTML, parse_mode_of, to_entities
from telecast_libs.tracking import TrackedLink, link_path, sign

# The longest URL we put in a button or a link (a template's button URL is at most this).
MAX_URL_LENGTH = 2048

_TRACKABLE = re.compile(r"^https?://\S+$", re.IGNORECASE)
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
    markup stays valid for ``parse_mode``. The links are found by the scanner that checked
    the template (``markup.scan``): ``ValueError`` for markup Telegram would refuse."""
    new_buttons = [
        [{**button, "url": track(button["url"])} if button.get("url") else button for button in row]
        for row in buttons
    ]
    mode = parse_mode_of(parse_mode)
    if mode is None:
        return text, new_buttons
    pieces, written = [], 0
    for link in to_entities(text, mode).links:
        tracked = track(link.url)
        if tracked != link.url:
            pieces += [text[written : link.start], _written(tracked, mode)]
            written = link.end
    pieces.append(text[written:])
    return "".join(pieces), new_buttons


def _written(url: str, parse_mode: str) -> str:
    """``url`` as a link's target is written in ``parse_mode``."""
    if parse_mode == HTML:
        return f'"{html.escape(url, quote=True)}"'
    return _MARKDOWN_URL_SPECIAL.sub(r"\\\1", url)
