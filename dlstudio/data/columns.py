"""What kind of data each column holds, and the conversions that follow from that judgement.

The profile shows these kinds to the user and the templates convert columns with the
``to_*`` helpers here, so a column is always converted exactly as it was judged.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types
from pandas.tseries.api import guess_datetime_format

ColumnKind = Literal[
    "numeric", "boolean", "categorical", "datetime", "id", "text", "constant", "empty"
]

SAMPLE_SIZE = 10_000  # values parsed to decide number/date; enough for a stable share
NUMERIC_SHARE = 0.95  # text columns where this share parses as numbers are numeric
DATE_SHARE = 0.90  # ... and this share as dates, datetime
MANY_DISTINCT = 50  # more distinct values than this, and ...
UNIQUE_SHARE = 0.5  # ... this share of rows distinct: an ID or free text, not a category
LONG_TEXT = 30  # mean characters above which unique values are free text
MANY_SPACES = 3  # mean spaces (about four words) above which unique values are free text
BOOLEAN_PAIRS = (("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"), ("1", "0"))
_BOOLEAN_SETS = {frozenset(pair) for pair in BOOLEAN_PAIRS}
_BOOLEAN_VALUE = {word: float(i == 0) for pair in BOOLEAN_PAIRS for i, word in enumerate(pair)}
_ID_NAME = re.compile(  # "id", "uuid", "id_customer", "customer_id", "order no", "customerID"
    r"(?i:^(id|uuid|guid|key|pk|index|idx)$"
    r"|^(id|uuid)[_\-\s]"
    r"|[_\-\s.](id|uuid|guid|key|no|nr|number)$)"
    r"|[a-z](ID|Id)$"
)


@dataclass(frozen=True)
class ColumnType:
    """The kind of one column, with the reason in plain language."""

    name: str
    kind: ColumnKind
    reason: str


def infer_column_type(series: pd.Series) -> ColumnType:
    """Judge what a column holds; blank text counts as missing.

    Fast on a million rows: number and date parsing is tried on a sample of ``SAMPLE_SIZE``.
    """
    name = str(series.name)
    present = present_values(series)
    n_blank = int(series.notna().sum()) - len(present)
    if present.empty:
        return ColumnType(name, "empty", "no values at all")
    distinct = int(present.nunique())
    if distinct == 1:
        return ColumnType(name, "constant", f"only one value: {_show(present.iloc[0])}")
    if _boolean_mapping(present, limit=distinct) is not None:
        return ColumnType(name, "boolean", "two values meaning yes and no")
    if types.is_datetime64_any_dtype(series.dtype):
        return ColumnType(name, "datetime", "dates and times")
    if types.is_numeric_dtype(series.dtype):
        if _looks_like_id(name, present, distinct):
            return ColumnType(name, "id", "every value is different and the name looks like an ID")
        return ColumnType(name, "numeric", "numbers")
    return _infer_text(name, present, distinct, n_blank)


def present_values(series: pd.Series) -> pd.Series:
    """The non-missing values; text is stripped and blank text counts as missing."""
    return _clean(series).dropna()


def to_numeric(series: pd.Series) -> pd.Series:
    """Numbers as float64; blanks, infinities and text that is no number become NaN."""
    if types.is_bool_dtype(series.dtype) or types.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64")
    else:
        numbers = pd.to_numeric(_clean(series), errors="coerce").astype("float64")
    return numbers.mask(np.isinf(numbers))  # an infinity would turn the column's scaling into NaN


def to_boolean(series: pd.Series) -> pd.Series:
    """Yes/no style values as float64 1.0/0.0; anything else (and missing) becomes NaN.

    Each value is read on its own (``Yes`` is 1 wherever it appears), so a batch to score that
    holds only ``Yes`` rows, or a single row, converts exactly as the training data did.
    """
    if types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if types.is_numeric_dtype(series.dtype):  # 0/1 numbers
        return series.map({0: _BOOLEAN_VALUE["0"], 1: _BOOLEAN_VALUE["1"]}).astype("float64")
    cleaned = _clean(series)
    if _is_text(series):  # vectorised: a million rows convert in well under a second
        return cleaned.str.lower().map(_BOOLEAN_VALUE).astype("float64")
    tokens = cleaned.map(lambda value: None if pd.isna(value) else _boolean_token(value))
    return tokens.map(_BOOLEAN_VALUE).astype("float64")


def date_format_of(series: pd.Series, *, day_first: bool = False) -> str | None:
    """The date format that best parses a text column (None for datetime dtypes or no match).

    Saved with a fitted model, so new rows are parsed as the training rows were: "03/04/2024"
    alone cannot tell day-first from month-first; ``day_first`` decides such ties.
    """
    if types.is_datetime64_any_dtype(series.dtype):
        return None
    return _date_format(_sample(_clean(series).dropna()), day_first=day_first)[0]


def to_datetime(series: pd.Series, *, date_format: str | None = None) -> pd.Series:
    """Dates as datetime64, parsed with ``date_format`` (default: the one the typing chose)."""
    if types.is_datetime64_any_dtype(series.dtype):
        return series
    cleaned = _clean(series)
    if date_format is None:
        date_format = date_format_of(series)
    try:
        return pd.to_datetime(cleaned, format=date_format, errors="coerce")
    except ValueError:  # mixed UTC offsets beyond the sample
        return pd.to_datetime(cleaned, format=date_format, errors="coerce", utc=True)


def _infer_text(name: str, present: pd.Series, distinct: int, n_blank: int) -> ColumnType:
    sample = _sample(present)
    blanks = f"; {n_blank:,} blank values treated as missing" if n_blank else ""
    numbers = pd.to_numeric(sample, errors="coerce")
    if numbers.notna().mean() >= NUMERIC_SHARE:
        if _looks_like_id(name, present, distinct):
            return ColumnType(name, "id", "every value is different and the name looks like an ID")
        return ColumnType(name, "numeric", f"numbers stored as text{blanks}{_not_numbers(present)}")
    date_format, share = _date_format(sample)
    if date_format is not None and share >= DATE_SHARE:
        return ColumnType(
            name, "datetime", f"dates written as text, like {present.iloc[0]!r}{blanks}"
        )
    if distinct > MANY_DISTINCT and distinct / len(present) > UNIQUE_SHARE:
        if sample.str.len().mean() > LONG_TEXT or sample.str.count(" ").mean() >= MANY_SPACES:
            return ColumnType(name, "text", "free text (long, mostly unique values)")
        if distinct == len(present):
            return ColumnType(name, "id", "every value is different, like an ID")
        return ColumnType(
            name,
            "id",
            f"almost every value is different ({distinct:,} of {len(present):,}), like an ID",
        )
    return ColumnType(name, "categorical", f"{distinct:,} categories{blanks}")


def _clean(series: pd.Series) -> pd.Series:
    """Text stripped with blanks set to missing; other dtypes unchanged."""
    if _is_text(series):
        text = series.astype(str).str.strip()  # astype(str) keeps missing values missing
        return text.mask(text == "")
    return series


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return not (
        types.is_bool_dtype(dtype)
        or types.is_numeric_dtype(dtype)
        or types.is_datetime64_any_dtype(dtype)
    )


def _sample(present: pd.Series) -> pd.Series:
    """A fixed (seeded) sample, so typing and conversion always see the same values."""
    if len(present) <= SAMPLE_SIZE:
        return present
    return present.sample(n=SAMPLE_SIZE, random_state=0)


def _boolean_token(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.number)) and value in (0, 1):
        return str(int(value))
    return str(value).strip().lower()


def _boolean_mapping(present: pd.Series, *, limit: int | None) -> dict[Any, float] | None:
    """{value: 1.0 or 0.0} when the values are one yes/no pair (any case), else None."""
    if limit is not None and limit > 4:  # "Yes", "yes", "YES", "no": at most a few spellings
        return None
    tokens = {value: _boolean_token(value) for value in present.unique()}
    if frozenset(tokens.values()) not in _BOOLEAN_SETS:
        return None
    return {value: _BOOLEAN_VALUE[token] for value, token in tokens.items()}


def _looks_like_id(name: str, present: pd.Series, distinct: int) -> bool:
    if distinct != len(present) or not _ID_NAME.search(name.strip()):
        return False
    numbers = to_numeric(present)
    return bool(numbers.notna().all() and (numbers % 1 == 0).all())


def _not_numbers(present: pd.Series) -> str:
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if bad.empty:
        return ""
    return f"; {len(bad):,} values that are not numbers (like {bad.iloc[0]!r}) treated as missing"


def _date_format(sample: pd.Series, *, day_first: bool = False) -> tuple[str | None, float]:
    """The date format that parses the largest share of the sample, and that share (ties go to
    the first candidate: month-first, or day-first when ``day_first``).

    Plain numbers never count as dates (a year or an amount is not a date).
    """
    if sample.empty:
        return None, 0.0
    not_number = pd.to_numeric(sample, errors="coerce").isna()
    best: tuple[str | None, float] = (None, 0.0)
    for date_format in _format_candidates(sample, day_first=day_first):
        try:
            parsed = pd.to_datetime(sample, format=date_format, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            continue
        share = float((parsed.notna() & not_number).mean())
        if share > best[1]:
            best = (date_format, share)
    return best


MAX_DATE_CHARS = 64


def _format_candidates(sample: pd.Series, *, day_first: bool = False) -> list[str]:
    """Formats guessed from the first few values, month-first and day-first (in the preferred
    order), then ISO 8601."""
    candidates: list[str] = []
    for value in sample.head(5):
        if len(str(value)) > MAX_DATE_CHARS:  # no date is that long; guessing scans all of it
            continue
        for dayfirst in (day_first, not day_first):
            with warnings.catch_warnings():  # it warns when a day-first guess is ambiguous
                warnings.simplefilter("ignore", UserWarning)
                guessed = guess_datetime_format(str(value), dayfirst=dayfirst)
            if guessed is not None and guessed not in candidates:
                candidates.append(guessed)
    return [*candidates, "ISO8601"]


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
