"""Link rewriting at render time: URL buttons, HTML and MarkdownV2 links become tracked
links; tg:// links, callback buttons, code and bare URLs do not; the markup stays valid. No
I/O."""

from __future__ import annotations

import uuid

from telecast_dispatcher.tracking.links import MAX_URL_LENGTH, LinkTracker, rewrite
from telecast_libs.content.rendering import check
from telecast_libs.tracking import token_of, verify

SECRET = "a-test-secret-of-at-least-thirty-two-characters"
BASE = "http://127.0.0.1:8000"
EXECUTION, CONTACT = str(uuid.uuid4()), str(uuid.uuid4())
TRACK = LinkTracker(BASE, SECRET).for_delivery(EXECUTION, CONTACT, "msg1")


def _target(tracked: str) -> str:
    token = token_of(tracked, BASE)
    assert token is not None, tracked
    link = verify(SECRET, token)
    assert (link.execution_id, link.contact_id, link.message_id) == (EXECUTION, CONTACT, "msg1")
    return link.url


def test_url_buttons_are_tracked_and_callback_buttons_kept() -> None:
    buttons = [
        [{"text": "Shop", "url": "https://shop.example.com/?a=1&b=2"}],
        [{"text": "Later", "callbackData": "later"}, {"text": "App", "url": "tg://resolve?x"}],
    ]
    text, rewritten = rewrite("Hi", None, buttons, TRACK)
    assert text == "Hi"
    assert _target(rewritten[0][0]["url"]) == "https://shop.example.com/?a=1&b=2"
    assert rewritten[0][0]["text"] == "Shop"
    assert rewritten[1] == buttons[1]
    assert buttons[0][0]["url"] == "https://shop.example.com/?a=1&b=2"  # not changed in place


def test_html_links_are_tracked_with_their_entities_kept_valid() -> None:
    source = (
        '<b>Sale</b> <a href="https://shop.example.com/?a=1&amp;b=2">here</a>, '
        "<a href='http://x.example.com/p'>there</a>, "
        '<a href="tg://user?id=42">you</a> and https://bare.example.com'
    )
    check(source, "html")
    text, _ = rewrite(source, "html", [], TRACK)
    check(text, "html")  # still what Telegram accepts
    hrefs = [part.split('"')[1] for part in text.split("<a href=")[1:]]
    assert _target(hrefs[0].replace("&amp;", "&")) == "https://shop.example.com/?a=1&b=2"
    assert _target(hrefs[1]) == "http://x.example.com/p"
    assert hrefs[2] == "tg://user?id=42"
    assert text.endswith("you</a> and https://bare.example.com")


def test_markdown_links_are_tracked_with_escapes_kept_valid() -> None:
    source = (
        r"*Sale* [here](https://shop.example.com/a\)b?x=1) and "
        r"[you](tg://user?id=42) ![👍](tg://emoji?id=5368324170671202286) "
        r"`[code](https://not.example.com)` \[not\]\(https://no\.example\.com\) end\."
    )
    check(source, "markdown")
    text, _ = rewrite(source, "markdown", [], TRACK)
    check(text, "markdown")
    start = text.index("[here](") + len("[here](")
    tracked = text[start : text.index(")", start)]
    assert _target(tracked) == "https://shop.example.com/a)b?x=1"
    assert "[you](tg://user?id=42)" in text
    assert "![👍](tg://emoji?id=5368324170671202286)" in text
    assert "`[code](https://not.example.com)`" in text
    assert r"\[not\]\(https://no\.example\.com\)" in text


def test_plain_text_is_left_as_it_is() -> None:
    source = "Go to https://shop.example.com now [x](https://y.example.com)"
    assert rewrite(source, None, [], TRACK)[0] == source


def test_a_link_too_long_to_track_is_left_as_it_is() -> None:
    long_url = "https://shop.example.com/" + "a" * (MAX_URL_LENGTH - 100)
    _, buttons = rewrite("Hi", None, [[{"text": "Go", "url": long_url}]], TRACK)
    assert buttons[0][0]["url"] == long_url
    short = [[{"text": "Go", "url": "https://shop.example.com/"}]]
    assert len(rewrite("Hi", None, short, TRACK)[1][0][0]["url"]) <= MAX_URL_LENGTH


def test_the_visible_text_is_unchanged() -> None:
    source = '<a href="https://shop.example.com/">a link</a> text'
    before = check(source, "html")
    after = check(rewrite(source, "html", [], TRACK)[0], "html")
    assert before.longest == after.longest
