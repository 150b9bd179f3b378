"""User text shown in the dashboard's Markdown reads as typed: no link, image, formatting or
Streamlit directive survives escape_markdown (security issue 23)."""

from __future__ import annotations

import re

import pytest

from dlstudio.views.text import escape_markdown, inline_code

ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: "\" + ASCII punctuation is that character


def shown(markdown: str) -> str:
    """What a reader sees of ``markdown`` that holds only backslash escapes and line breaks."""
    return ESCAPE.sub(r"\1", markdown).replace("  \n", "\n")


def syntax_left(markdown: str) -> str:
    """``markdown`` with each escaped character made a NUL: what is left can act as syntax."""
    return ESCAPE.sub("\0", markdown)


def test_a_link_does_not_survive_as_a_link() -> None:
    escaped = escape_markdown("[click](http://evil.example)")

    assert shown(escaped) == "[click](http://evil.example)"
    assert not re.search(r"[\[\]]|://", syntax_left(escaped))


def test_an_image_does_not_survive_as_an_image() -> None:
    escaped = escape_markdown("![x](http://evil.example/p.png)")

    assert shown(escaped) == "![x](http://evil.example/p.png)"
    assert not re.search(r"!|[\[\]]|://", syntax_left(escaped))


# Markdown that could still act, once the escaped characters are taken out
BLOCK = re.compile(r"^ *(?:[#>+*=-]|\d+[.)])", re.MULTILINE)
INLINE = re.compile(
    r"[<\[\]$|&`~@]|://|www\.|\*\S|\S\*|(?<![^\W_])_|_(?![^\W_])|:[\w+-]+:|:material/"
)


@pytest.mark.parametrize(
    "text",
    [
        "see <http://evil.example>",  # autolink
        "<img src=x onerror=alert(1)>",  # raw HTML
        "go to https://evil.example/login now",  # GFM bare-URL link
        "go to www.evil.example now",  # GFM www link
        "mail ceo@evil.example",  # GFM e-mail link
        "[win][1]\n\n[1]: http://evil.example",  # reference link
        "**bold** *it* _it_ `code` ~~gone~~",
        ":red[alarm] :material/warning: :smile: :thumbs_up:",  # Streamlit's own
        "$x^2$ and $$y$$",  # maths
        "a | b\n--- | ---\n1 | 2",  # a table
        "&lt;b&gt; &#58;",  # entities
        "# Big\n> quote\n- item\n+ item\n* item\n1. one\n2) two\ntitle\n===",
    ],
)
def test_markdown_and_streamlit_syntax_is_shown_as_typed(text: str) -> None:
    escaped = escape_markdown(text)

    assert shown(escaped) == text
    assert not BLOCK.search(syntax_left(escaped)), escaped
    assert not INLINE.search(syntax_left(escaped)), escaped


def test_ordinary_messages_and_snake_case_names_are_left_as_they_are() -> None:
    for text in (
        "Some classes are too rare to test: 'b' (1 rows).",
        "The column monthly_fee has 3.5% missing values; at 03:00 (UTC+1).",
        "The cron expression '0 3 * * mon' is valid - test_f1_macro>=+0.005",
    ):
        assert escape_markdown(text) == text


def test_line_breaks_stay_line_breaks_not_paragraphs() -> None:
    assert escape_markdown("invalid spec:\r\n  - a\n  - b") == "invalid spec:  \n  \\- a  \n  \\- b"


@pytest.mark.parametrize("text", ["models:/churn/1", "a`b", "x ``[y](http://evil)`` z", "`"])
def test_inline_code_is_one_code_span_whatever_backticks_it_holds(text: str) -> None:
    span = inline_code(text)

    fence = re.match(r"`+", span).group()
    assert span.endswith(fence)
    inside = span[len(fence) : -len(fence)]
    assert fence not in re.findall(r"`+", inside)  # nothing inside closes it early
    assert inside.strip(" ") == text.strip(" ")
