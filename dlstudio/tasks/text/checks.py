"""What the text template checks before training: which column holds the texts, whether it
does hold text, and how much of the longest texts is read."""

from __future__ import annotations

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type
from dlstudio.tasks.text.encoding import CHARS_PER_TOKEN, clip_text, tokenize


def guess_text_column(frame: pd.DataFrame) -> str | None:
    """The free-text column with the longest texts (None when no column holds words)."""
    best, best_length = None, 0.0
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.is_numeric_dtype(values):
            continue
        if infer_column_type(frame[column].head(2000)).kind not in ("text", "categorical", "id"):
            continue
        length = values.astype(str).str.len().mean()
        if values.astype(str).str.contains(" ").mean() > 0.3 and length > best_length:
            best, best_length = column, length
    return best


def check_text_column(frame: pd.DataFrame, column: str | None, target: str | None) -> list[Finding]:
    """An error when the text column is missing, is the label, is empty or holds numbers."""
    if column is None:
        return [Finding("error", "No column holds free text (words separated by spaces).",
                        "Name the text column with options.text_column.")]  # fmt: skip
    if column not in frame.columns:
        return [Finding("error", f"The text column {column!r} is not in the data.",
                        f"The columns are: {', '.join(map(str, frame.columns))}.")]  # fmt: skip
    if column == target:
        return [Finding("error", "The text column and the label column are the same column.",
                        "Choose the column with the texts, and the one with their labels.")]  # fmt: skip
    texts = frame[column].dropna().astype(str).str.strip()
    texts = texts[texts != ""]
    if texts.empty:
        return [Finding("error", f"The text column {column!r} is empty.",
                        "Choose the column that holds the texts.", column)]  # fmt: skip
    numbers = pd.to_numeric(texts, errors="coerce").notna().mean()
    if numbers > 0.9:
        return [Finding("error", f"The text column {column!r} holds numbers, not text.",
                        "Choose the column with the written texts (reviews, messages).", column)]  # fmt: skip
    return []


def check_lengths(column: pd.Series, max_length: int) -> list[Finding]:
    """A note of how many texts are longer than ``max_length`` words (only their start is read)."""
    texts = column.fillna("").astype(str)
    # counted on the part that is read: tokenising a cell of megabytes whole takes seconds
    lengths = texts.map(lambda text: len(tokenize(clip_text(text, max_length))))
    clipped = texts.str.len() > CHARS_PER_TOKEN * max_length
    long = int(((lengths > max_length) | clipped).sum())
    if not long:
        return []
    longest = f"{int(lengths.max()):,}" + (" or more" if clipped.any() else "")
    return [Finding(
        "info", f"{long:,} texts have more than {max_length} words; only their first "
        f"{max_length} are read (the longest has {longest}).",
        "Raise options.max_length to read more of each text (training gets slower).",
        str(column.name),
    )]  # fmt: skip
