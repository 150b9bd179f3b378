"""User text (names, data values, error messages, URL parameters) made safe to show in the
dashboard's Markdown: shown as typed, never as a link, an image or formatting. No streamlit here.

Streamlit renders Markdown in messages, captions, headings, widget labels and metric values, so
``[win](https://evil)`` in a column name would be a link in the red error box. A backslash before
an ASCII punctuation character makes it plain text in CommonMark; the characters escaped are the
ones that start Markdown or Streamlit syntax. ``(``, ``)``, ``.``, ``'`` and ``-`` mid-line mean
nothing once the brackets are escaped, and are left as they are so messages stay readable.
"""

from __future__ import annotations

import re

import pandas as pd

# What can start Markdown (CommonMark, GFM) or Streamlit syntax where it stands, each escaped
# with a backslash: links and images ([ ]), HTML and autolinks (<, @, the ":" of "://", "www."),
# code (`), tables (|), maths ($), entities (&), strikethrough (~), Streamlit's :emoji: and
# :material/icon: (Streamlit rewrites ":material/" before parsing), plus "#", "!", "{", "}" and
# "\\" themselves. "*" between spaces and "_" inside a word never emphasise, so "0 3 * * mon" and
# snake_case names stay as they are.
_INLINE = re.compile(
    r":[\w+-]+:"  # an :emoji: shortcode, both colons escaped
    r"|[\\`{}\[\]<#!|~$&@]"
    r"|(?<=[^ \t\n])\*|\*(?=[^ \t\n])"
    r"|(?<![^\W_])_|_(?![^\W_])"
    r"|:(?=//)|(?i:(?<=www))\.|(?<=:material)/"
)
# Block syntax starts a line: lists ("- x", "+ x", "* x", "1. x", "2) x"), quotes ("> x") and
# setext headings ("===").
_LINE_START = re.compile(r"^([ \t]*\d*)([-+=.)*>])", re.MULTILINE)


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that shows exactly these characters, line breaks kept:
    ``[click](http://evil)`` becomes ``\\[click\\](http\\://evil)``."""
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n")
    escaped = _LINE_START.sub(r"\1\\\2", _INLINE.sub(_escape, lines))
    return escaped.replace("\n", "  \n")  # two spaces: a line break, not a new paragraph


def _escape(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) == 1:
        return f"\\{found}"
    return f"\\:{_INLINE.sub(_escape, found[1:-1])}\\:"  # the shortcode's inside: "_" may need it


def inline_code(text: object) -> str:
    """``text`` as a Markdown code span, however many backticks it holds (a code span ends at
    the first run of backticks as long as the one that opened it)."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"{fence}{text}{fence}"


ANSWER_COLUMNS = ("prediction", "probability_", "reason_", "problem")


def answers_first(frame: pd.DataFrame) -> pd.DataFrame:
    """A predictions table with the model's answers (prediction, probabilities, problem) first
    and the user's own columns after, so that the answers are on screen without scrolling (a
    forecast keeps its order: series, time, forecast); dates as in ``plain_dates``."""
    answers = [c for c in frame.columns if str(c).startswith(ANSWER_COLUMNS)]
    return plain_dates(frame[answers + [c for c in frame.columns if c not in answers]])


def plain_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each date-time column whose times are all midnight shown as dates
    ("2025-01-01", not "2025-01-01 00:00:00"); other columns unchanged."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if not pd.api.types.is_datetime64_any_dtype(values):
            continue
        known = values.dropna()
        if (known.dt.normalize() == known).all():
            shown[column] = values.dt.date
    return shown
