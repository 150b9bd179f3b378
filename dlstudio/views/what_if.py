"""The Results page's what-if box for table models: start from a typical training row, change
values, and see the prediction and its reasons move (Streamlit-free, so tests call it)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dlstudio.data.columns import to_boolean, to_datetime, to_numeric
from dlstudio.errors import DataError
from dlstudio.explain.columns import as_written

STARTING_ROWS = 10
NEEDS = {"numeric": "a number", "boolean": "yes or no (true/false, 1/0)"}


@dataclass(frozen=True)
class WhatIf:
    """A row's prediction table (``prediction``, probabilities, ``reason_1``..``reason_3``)
    and notes on values the model reads as unknown."""

    answer: pd.DataFrame
    notes: list[str]


def starting_rows(model) -> pd.DataFrame:
    """Typical training rows a what-if starts from (the ones the model keeps for its reasons)."""
    return model.predictor.background.head(STARTING_ROWS).reset_index(drop=True)


def what_if(model, row: pd.DataFrame) -> WhatIf:
    """The model's answer and reasons for one edited row.

    Raises:
        DataError: a value the model cannot read in its column (text in a number column, a
            date that is no date), naming the column and what it needs.
    """
    from dlstudio.explain.reasons import with_reasons

    features = model.predictor.features
    _check_values(features, row)
    notes = [
        f"{row[f.column].iloc[0]!r} was not seen (at least twice) in the training rows of "
        f"{f.column!r}: the model reads it as an unknown value."
        for f in features.categorical
        if not _blank(row[f.column].iloc[0]) and str(row[f.column].iloc[0]) not in f.levels
    ]
    return WhatIf(with_reasons(model.predictor, row, model.uri), notes)


def _check_values(features, row: pd.DataFrame) -> None:
    for feature in features.numeric:
        value = row[feature.column].iloc[0]
        if _blank(value):
            continue  # the model fills a missing value as in training
        kind = feature.convert.split(":")[0]
        if kind == "date":
            read = to_datetime(row[feature.column], date_format=feature.date_format)
            example = pd.Timestamp("2024-01-31").strftime(feature.date_format or "%Y-%m-%d")
            needs = f"a date written like {example}"
        else:
            read = {"numeric": to_numeric, "boolean": to_boolean}[kind](row[feature.column])
            needs = NEEDS[kind]
        if read.isna().iloc[0]:
            raise DataError(
                f"{feature.column!r} needs {needs}; {value!r} is not one.",
                fix=f"Change the value of {feature.column!r}, or clear it to leave it missing.",
            )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


@dataclass(frozen=True)
class WhatIfField:
    """One input of the what-if box: ``number`` (a number box), ``choice`` (the values the
    training rows hold) or ``text`` (dates, and anything else), with the row's value."""

    column: str
    kind: str
    value: object
    choices: tuple = ()
    help: str = ""


def what_if_fields(model, row: pd.DataFrame) -> list[WhatIfField]:
    """The inputs for ``row``'s columns, in the order the model reads them."""
    features = model.predictor.features
    kinds = {f.column: f.convert.split(":")[0] for f in features.numeric}
    levels = {f.column: f.levels for f in features.categorical}
    fields = []
    for column in features.input_columns:
        value = row[column].iloc[0]
        value = None if _blank(value) else value
        kind = kinds.get(column)
        if kind == "numeric":
            number = None if value is None else float(to_numeric(row[column]).iloc[0])
            fields.append(WhatIfField(column, "number", None if number != number else number))
        elif column in levels or kind == "boolean":
            seen = levels.get(column) or tuple(
                str(v) for v in model.predictor.background[column].dropna().unique()
            )
            choices = tuple(dict.fromkeys([*seen, *([str(value)] if value is not None else [])]))
            fields.append(WhatIfField(column, "choice", None if value is None else str(value),
                                      choices))  # fmt: skip
        else:
            fields.append(WhatIfField(column, "text", None if value is None else as_written(value),
                                      help="A date, written like the training rows' dates."))  # fmt: skip
    return fields
