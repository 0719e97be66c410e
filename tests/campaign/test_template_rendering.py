"""The template renderer: placeholders, fallbacks, escaping, Telegram's markup and lengths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telecast_libs.content.markup import HTML, MARKDOWN
from telecast_libs.content.rendering import (
    CAPTION_LIMIT,
    FIELD_MAX_LENGTH,
    TEXT_LIMIT,
    TemplateError,
    check,
    field_value,
    parse,
    render,
    utf16_length,
)

ANN = {
    "firstName": "Ann",
    "lastName": "Lee",
    "username": "ann_lee",
    "languageCode": "en",
    "location": "US",
    "age": 31,
    "lastPurchase": "2024-06-01T23:30:00-02:00",
    "attributes": {"tier": "gold", "points": 1200, "vip": True},
}


def rendered(source: str, recipient: dict, parse_mode: str | None = None) -> str:
    return render(check(source, parse_mode).template, parse_mode, recipient)


def refused(source: str, parse_mode: str | None = None, **options: bool) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        check(source, parse_mode, **options)
    return caught.value


# Placeholders and fallbacks ----------------------------------------------------------------


def test_every_field_renders_from_the_recipient() -> None:
    source = (
        "{{firstName}} {{lastName}} @{{username}} {{languageCode}} {{location}} {{age}} "
        "{{lastPurchase}} {{attributes.tier}} {{attributes.points}} {{attributes.vip}}"
    )
    # The purchase happened on June 2nd in UTC: a date is the UTC date.
    assert rendered(source, ANN) == "Ann Lee @ann_lee en US 31 2024-06-02 gold 1200 true"


def test_a_missing_value_renders_the_fallback_or_nothing() -> None:
    source = "Hi {{firstName|there}}, {{lastName}}!{{attributes.tier| (no tier)}}"
    assert rendered(source, {}) == "Hi there, !(no tier)"
    assert rendered(source, {"firstName": "  ", "lastName": None, "attributes": {}}) == (
        "Hi there, !(no tier)"
    )
    assert rendered(source, ANN) == "Hi Ann, Lee!gold"


def test_whitespace_inside_the_braces_is_tolerated_and_fallbacks_keep_inner_spaces() -> None:
    template = parse("{{ firstName | dear friend }}")
    [placeholder] = template.placeholders
    assert (placeholder.field, placeholder.fallback) == ("firstName", "dear friend")
    assert render(template, None, {}) == "dear friend"


def test_a_date_value_may_come_as_a_datetime() -> None:
    when = datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert rendered("On {{lastPurchase}}", {"lastPurchase": when}) == "On 2024-01-31"


def test_template_lists_its_fields_once_each() -> None:
    template = parse("{{firstName}} {{age}} {{firstName|x}} {{attributes.plan.tier}}")
    assert template.fields == ["firstName", "age", "attributes.plan.tier"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello {{firstName", "'{{' is not closed by '}}' (line 1, column 7)"),
        ("a\nb {{firstName {{age}}", "'{{' is not closed by '}}' (line 2, column 3)"),
        ("{{ }}", "needs a field name"),
        ("{{firstName|a|b}}", "contains '|'"),
        ("{{fistName}}", "unknown placeholder {{fistName}}: did you mean {{firstName}}?"),
        ("{{FIRSTNAME}}", "did you mean {{firstName}}?"),
        ("{{email}}", "unknown placeholder {{email}}: the fields are firstName, lastName"),
        ("{{attributes.}}", "an attribute key is a letter or '_'"),
        ("{{attributes.1st}}", "an attribute key is a letter or '_'"),
    ],
)
def test_bad_placeholders_are_refused_with_where_and_why(source: str, expected: str) -> None:
    assert expected in refused(source).message


def test_an_unknown_field_names_the_known_ones_in_details() -> None:
    error = refused("Hi {{email}}")
    assert error.details["placeholder"] == "email"
    assert "firstName" in error.details["known"]
    assert (error.details["line"], error.details["column"]) == (1, 4)


# Escaping ----------------------------------------------------------------------------------


def test_values_are_escaped_for_html() -> None:
    source = "<b>Hi {{firstName}}</b> &amp; welcome"
    assert rendered(source, {"firstName": "<i>Bob</i> & co"}, HTML) == (
        "<b>Hi &lt;i&gt;Bob&lt;/i&gt; &amp; co</b> &amp; welcome"
    )


def test_values_are_escaped_for_markdown_v2() -> None:
    source = "*Hi {{firstName}}*\\! Code: `{{attributes.code}}`"
    recipient = {"firstName": "a_b*c [x](y) 1.5!", "attributes": {"code": "x`y\\z"}}
    assert rendered(source, recipient, MARKDOWN) == (
        "*Hi a\\_b\\*c \\[x\\]\\(y\\) 1\\.5\\!*\\! Code: `x\\`y\\\\z`"
    )


def test_fallbacks_are_escaped_like_values() -> None:
    assert rendered("Hi {{firstName|<friend>}}", {}, HTML) == "Hi &lt;friend&gt;"
    assert rendered("Hi {{firstName|you.}}", {}, MARKDOWN) == "Hi you\\."


def test_plain_text_inserts_values_as_they_are() -> None:
    assert rendered("Hi {{firstName}}", {"firstName": "<b>*x*</b>"}) == "Hi <b>*x*</b>"


# Markup ------------------------------------------------------------------------------------


def test_html_accepts_every_tag_telegram_supports() -> None:
    source = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>i</ins><s>s</s>"
        '<strike>s</strike><del>d</del><span class="tg-spoiler">s</span><tg-spoiler>s'
        '</tg-spoiler><a href="https://example.com/?a=1&amp;b=2">a</a><a href="tg://user?id=1">'
        'u</a><code>c</code><pre><code class="language-python">p</code></pre>'
        '<blockquote expandable>q</blockquote><tg-emoji emoji-id="5368324170671202286">👍'
        "</tg-emoji><B>upper case</B> &lt;&gt;&amp;&quot;&#169;&#xA9; {{firstName|x}}"
    )
    check(source, HTML)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Fish & chips", "'&' starts no entity: write &amp; for a literal '&' (line 1, column 6)"),
        ("5 < 6", "'<' starts no tag: write &lt;"),
        ("6 > 5", "write &gt; for a literal '>'"),
        ("<div>x</div>", "<div> is not a tag Telegram supports"),
        ("<b>bold", "<b> is never closed (line 1, column 1)"),
        ("bold</b>", "</b> closes a tag that was never opened"),
        ("<b><i>x</b></i>", "</b> comes before </i>: <i> (at line 1, column 4) must be closed"),
        ("<a>x</a>", "<a> needs a 'href' attribute"),
        (
            '<a href="javascript:alert(1)">x</a>',
            "a link must start with http://, https:// or tg://",
        ),
        ('<b class="x">x</b>', "<b> takes no attribute 'class'"),
        ('<span class="red">x</span>', '<span class="tg-spoiler">'),
        ("<pre><b>x</b></pre>", "<b> cannot be inside <pre>, which holds plain text"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "cannot be inside another"),
        ("<b/>", "never self-closing"),
        ('<a href="https://x.io/{{username}}">x</a>', "{{username}} is inside a tag"),
    ],
)
def test_broken_html_is_refused_with_where_and_why(source: str, expected: str) -> None:
    assert expected in refused(source, HTML).message


def test_markdown_v2_accepts_its_entities() -> None:
    source = (
        "*bold \\*text* _italic_ __underline__ ~strike~ ||spoiler|| "
        "*bold _italic bold ~strike ||spoiler||~ __underline italic bold___ bold* "
        "[link](https://example.com/a_(b\\)) [user](tg://user?id=1) "
        "![👍](tg://emoji?id=5368324170671202286) `co_de` ```python\nprint(1)\n``` "
        "{{firstName|friend}}\\!\n>quote\n>more\n**>expandable\n>end||"
    )
    check(source, MARKDOWN)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "Sale!",
            "'!' is reserved in MarkdownV2: write '\\!' for a literal '!' (line 1, column 5)",
        ),
        ("30% off. Now", "'.' is reserved"),
        ("*bold", "bold opened with '*' is never closed (line 1, column 1)"),
        ("_a *b_ c*", "'_' closes italic while bold (opened at line 1, column 4) is still open"),
        ("`code", "code opened with '`' is never closed"),
        ("```\nblock", "pre-formatted block opened with '```' is never closed"),
        ("[text]", "a link's [text] must be followed by (URL)"),
        ("[text](ftp://x)", "a link must start with http://, https:// or tg://"),
        ("[x](https://x.io/{{username}})", "{{username}} is in the URL of a link"),
        ("a | b", "'|' is reserved"),
        ("x ] y", "']' is reserved"),
        ("trailing \\", "'\\' escapes the character after it"),
    ],
)
def test_broken_markdown_is_refused_with_where_and_why(source: str, expected: str) -> None:
    assert expected in refused(source, MARKDOWN).message


def test_placeholders_in_markdown_need_no_escaping_of_their_braces() -> None:
    assert rendered("Hi {{firstName}}", {"firstName": "Ann"}, MARKDOWN) == "Hi Ann"


# Lengths -----------------------------------------------------------------------------------


def test_length_counts_the_text_after_markup_with_placeholders_at_their_longest() -> None:
    assert check("<b>Hi</b> {{firstName}}", HTML).longest == 3 + FIELD_MAX_LENGTH["firstName"]
    fallback = "a fallback longer than the 64 characters a first name can have, as it goes on"
    assert check(f"*Hi* {{{{firstName|{fallback}}}}}", MARKDOWN).longest == 3 + len(fallback)
    assert check("&amp;{{attributes.x}}", HTML).longest == 1 + 256


def test_a_text_that_can_render_over_4096_is_refused_naming_limit_and_worst_case() -> None:
    fits = "x" * (TEXT_LIMIT - 64) + "{{firstName}}"
    assert check(fits, None).longest == TEXT_LIMIT
    error = refused("x" * (TEXT_LIMIT - 63) + "{{firstName}}")
    assert error.details == {"limit": 4096, "worstCase": 4097}
    assert "4,097" in error.message and "4,096" in error.message
    assert "{{firstName}} as 64" in error.message


def test_markup_does_not_count_but_every_visible_character_does() -> None:
    check("<b>" + "x" * TEXT_LIMIT + "</b>", HTML)
    refused("<b>" + "x" * (TEXT_LIMIT + 1) + "</b>", HTML)
    # An emoji outside the BMP is two UTF-16 code units.
    assert utf16_length("😀") == 2
    refused("😀" * (TEXT_LIMIT // 2 + 1))


def test_with_media_the_text_is_a_caption_of_at_most_1024() -> None:
    source = "x" * 1000 + "{{firstName}}"
    check(source, None)
    error = refused(source, has_media=True)
    assert error.details == {"limit": CAPTION_LIMIT, "worstCase": 1064}
    assert "caption" in error.message


def test_a_text_that_can_render_empty_is_refused_unless_it_has_media() -> None:
    assert "empty" in refused("{{firstName}}").message
    assert "empty" in refused("<b>{{firstName}}</b> ", HTML).message
    check("{{firstName|there}}", None)
    check("{{firstName}}", None, has_media=True)


def test_more_than_100_entities_are_refused() -> None:
    refused("<b>x</b>" * 101, HTML)
    check("<b>x</b>" * 100, HTML)


def test_a_long_value_is_cut_to_its_maximum_with_an_ellipsis() -> None:
    value = field_value({"firstName": "a" * 100}, "firstName")
    assert value == "a" * 63 + "…"
    emoji = field_value({"firstName": "😀" * 40}, "firstName")
    assert emoji is not None and utf16_length(emoji) <= 64
    assert field_value({"attributes": {"k": "b" * 300}}, "attributes.k") == "b" * 255 + "…"


def test_an_invite_link_renders_from_the_recipient_and_counts_at_its_longest() -> None:
    link = "https://t.me/+AbCdEfGhIjKlMnOp"
    source = "Join us: {{inviteLink}}"
    assert rendered(source, {**ANN, "inviteLink": link}) == f"Join us: {link}"
    assert check(source, None).longest == len("Join us: ") + FIELD_MAX_LENGTH["inviteLink"]
    # The longest link Telegram makes (the older joinchat form) is never cut.
    joinchat = "https://t.me/joinchat/AAAAAEHbEkejzxUjAUCzYA"
    assert field_value({"inviteLink": joinchat}, "inviteLink") == joinchat


def test_an_invite_link_is_escaped_like_any_value() -> None:
    link = "https://t.me/+Ab_Cd-Ef.Gh"
    assert rendered("Join: {{inviteLink}}", {"inviteLink": link}, MARKDOWN) == (
        r"Join: https://t\.me/\+Ab\_Cd\-Ef\.Gh"
    )
    assert rendered("<b>Join:</b> {{inviteLink}}", {"inviteLink": link}, HTML) == (
        f"<b>Join:</b> {link}"
    )


def test_without_a_link_the_placeholder_gives_its_fallback() -> None:
    assert rendered("Join: {{inviteLink|ask us for a link}}", ANN) == "Join: ask us for a link"
    assert rendered("Join us {{inviteLink}}", ANN) == "Join us "
