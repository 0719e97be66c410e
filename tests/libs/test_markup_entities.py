"""Telegram's HTML and MarkdownV2 read into plain text and entities, as Telegram reads them
(what the Pyrogram adapter sends)."""

from __future__ import annotations

import pytest

from telecast_libs.content.markup import Entity, parse_mode_of, to_entities


def entities(text: str, mode: str | None) -> tuple[str, list[tuple]]:
    formatted = to_entities(text, mode)
    return formatted.visible, [
        tuple(
            v
            for v in (e.type, e.offset, e.length, e.url or e.language or e.user_id)
            if v is not None
        )
        for e in formatted.entities
    ]


def test_markdown_v2_bold_italic_underline_strike_spoiler() -> None:
    assert entities("*b* _i_ __u__ ~s~ ||p||", "MarkdownV2") == (
        "b i u s p",
        [
            ("bold", 0, 1),
            ("italic", 2, 1),
            ("underline", 4, 1),
            ("strikethrough", 6, 1),
            ("spoiler", 8, 1),
        ],
    )


def test_markdown_v2_nesting() -> None:
    assert entities("*bold _both_*", "markdown") == (
        "bold both",
        [("bold", 0, 9), ("italic", 5, 4)],
    )


def test_markdown_v2_code_and_pre() -> None:
    assert entities(r"`a\`b` and ```python" "\n" "x = 1\n```", "markdown") == (
        "a`b and x = 1\n",
        [("code", 0, 3), ("pre", 8, 6, "python")],
    )
    assert entities("```\nplain```", "markdown") == ("plain", [("pre", 0, 5)])
    # Reserved characters are plain inside code.
    assert entities("`*not bold*`", "markdown") == ("*not bold*", [("code", 0, 10)])


def test_markdown_v2_links_mentions_and_custom_emoji() -> None:
    assert entities(
        r"[a *b*](https://x.example/p\)q) [me](tg://user?id=42) ![👍](tg://emoji?id=5)", "markdown"
    ) == (
        "a b me 👍",
        [
            ("text_link", 0, 3, "https://x.example/p)q"),
            ("bold", 2, 1),
            ("text_mention", 4, 2, 42),
            ("custom_emoji", 7, 2),
        ],
    )
    assert to_entities("![👍](tg://emoji?id=5)", "markdown").entities[0].custom_emoji_id == 5


def test_markdown_v2_escapes_are_literal() -> None:
    assert entities(r"1\.5 \* \_ \\ \[x\] \(y\) 50\% \- \!", "markdown") == (
        r"1.5 * _ \ [x] (y) 50% - !",
        [],
    )


def test_markdown_v2_block_quotations() -> None:
    assert entities(">one\n>two\nafter", "markdown") == ("one\ntwo\nafter", [("blockquote", 0, 7)])
    assert entities("**>one\n>two||\nafter", "markdown") == (
        "one\ntwo\nafter",
        [("expandable_blockquote", 0, 7)],
    )


def test_offsets_count_utf16_code_units() -> None:
    # An emoji outside the Basic Multilingual Plane counts twice.
    assert entities("😀 *b*", "markdown") == ("😀 b", [("bold", 3, 1)])
    assert entities("😀 <b>b</b>", "html") == ("😀 b", [("bold", 3, 1)])


@pytest.mark.parametrize(
    "text", ["*open", "a.b", "_a *b_ c*", "[x](http://a", "`never closed", "x]"]
)
def test_markdown_v2_that_telegram_refuses_raises(text: str) -> None:
    with pytest.raises(ValueError):
        to_entities(text, "markdown")


def test_html_as_telegram_reads_it() -> None:
    text = (
        '<b>A &amp;lt; B</b> <span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> '
        '<pre><code class="language-py">c</code></pre> '
        '<a href="https://x.example/?a=1&amp;b=2">l</a> '
        '<blockquote expandable>q</blockquote> <tg-emoji emoji-id="9">👍</tg-emoji>'
    )
    assert entities(text, "HTML") == (
        "A &lt; B s t c l q 👍",
        [
            ("bold", 0, 8),
            ("spoiler", 9, 1),
            ("spoiler", 11, 1),
            ("pre", 13, 1, "py"),
            ("text_link", 15, 1, "https://x.example/?a=1&b=2"),
            ("expandable_blockquote", 17, 1),
            ("custom_emoji", 19, 2),
        ],
    )


def test_html_code_alone_and_empty_entities() -> None:
    assert entities("<code>x</code><b></b>", "html") == ("x", [("code", 0, 1)])


@pytest.mark.parametrize("text", ["<b>open", "<b><i>x</b></i>", "<br/>", "<marquee>x</marquee>"])
def test_html_that_telegram_refuses_raises(text: str) -> None:
    with pytest.raises(ValueError):
        to_entities(text, "html")


def test_parse_modes() -> None:
    assert parse_mode_of("MarkdownV2") == parse_mode_of("markdown") == "markdown"
    assert parse_mode_of("HTML") == "html"
    assert parse_mode_of(None) is None
    assert to_entities("*x* <b>", None).entities == []
    with pytest.raises(ValueError, match="unknown parse mode"):
        parse_mode_of("rtf")


def test_entity_is_plain_data() -> None:
    assert Entity("bold", 0, 1) == Entity("bold", 0, 1)
