"""Plain-language checks of a table before a regression model (predict a number) is trained on it:
the target must be a number with some spread, and no input may give the answer away."""

from __future__ import annotations

import math
from itertools import combinations, count

import numpy as np
import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type, present_values, to_numeric
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.classification_checks import (
    check_target_column,
    check_test_columns,
    errors_first,
    missing_target,
)
from dlstudio.tasks.regression.options import TabularRegressionSpec
from dlstudio.tasks.tabular.checks import check_features, check_one_column

MIN_ROWS = 20
MIN_HELD_OUT = 5  # rows in the validation and in the test split: fewer and their scores are noise
MAX_CLASS_LIKE = 10  # a target with 2..this many distinct values is a category, not a quantity
SHOWN_VALUES = 3  # offending values quoted in a message
LEAK_SAMPLE = 2_000  # rows (seeded) the sum search looks at: cheap on a million rows
NEARLY_EVERY_ROW = 0.98  # share of rows on which a column (or a sum) must equal the target
MAX_TRIPLE_COLUMNS = 20  # sums of three columns are tried only up to this many numeric inputs
MAX_LEAKS_SHOWN = 3


def check_regression_table(data: TrainingData, spec: TabularRegressionSpec) -> list[Finding]:
    """Every problem found, errors first; an error means training would fail or mislead."""
    target, frame = spec.data.target, data.frame
    first = check_one_column(frame) or check_target_column(frame, target, "the data")
    if first:
        return first
    findings, usable = check_features(frame, spec)
    target_findings, numbers = check_target_values(frame[target], target, where="the data")
    findings += target_findings
    if not any(f.level == "error" for f in target_findings):
        findings += _check_row_count(numbers.dropna(), target, spec, data.test_frame is not None)
        findings += check_leaks(frame[usable], numbers, target)
    if data.test_frame is not None:
        findings += _check_test_frame(data.test_frame, target, usable)
    return errors_first(findings)


def check_target_values(
    series: pd.Series, target: str, *, where: str
) -> tuple[list[Finding], pd.Series]:
    """Findings about the target's values, and the target as float64 (blank cells NaN).

    Errors: text, no values, infinities, one value, a handful of values (a category)."""
    text = _text_values(series)
    if not text.empty:
        return [_text_target(text, series, target, where)], pd.Series(dtype="float64")
    numbers = _raw_numbers(series)
    present = numbers.dropna()
    problem = _unusable(present, target, where) or _without_spread(present, target)
    if problem:
        return [problem], numbers
    missing = int(numbers.isna().sum())
    return ([missing_target(missing, target)] if missing else []), numbers


def _unusable(present: pd.Series, target: str, where: str) -> Finding | None:
    """No values at all, or infinite ones."""
    infinite = int(np.isinf(present).sum())
    if present.empty:
        return Finding(
            "error",
            f"The target column {target!r} in {where} has no values at all.",
            "Choose the column that holds the number to predict, or fill it in.",
            target,
        )
    if infinite:
        return Finding(
            "error",
            f"The target column {target!r} in {where} is infinite in {infinite:,} row(s).",
            "Replace those values with real numbers, or empty the cells (those rows are dropped).",
            target,
        )
    return None


def _without_spread(present: pd.Series, target: str) -> Finding | None:
    """One value in every row, or a handful of values (a category, not a quantity)."""
    distinct = present.nunique()
    if distinct == 1:
        return Finding(
            "error",
            f"The target column {target!r} holds one value ({present.iloc[0]:g}) in every row: "
            "there is nothing to predict.",
            "Choose the column that holds the number to predict.",
            target,
        )
    if distinct <= MAX_CLASS_LIKE:
        shown = ", ".join(f"{value:g}" for value in sorted(present.unique()))
        return Finding(
            "error",
            f"The target column {target!r} holds only {distinct} different values ({shown}): "
            "it looks like classification, not a number to estimate.",
            "Use the Tabular classification template to predict one of these values.",
            target,
        )
    return None


def _raw_numbers(series: pd.Series) -> pd.Series:
    """The values as float64 with infinities kept (``to_numeric`` hides them as missing)."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    cleaned = series.map(lambda value: value.strip() if isinstance(value, str) else value)
    return pd.to_numeric(cleaned.mask(cleaned == ""), errors="coerce").astype("float64")


def _text_values(series: pd.Series) -> pd.Series:
    """The present values that are no number ("12,5", "n/a", "about 40")."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.iloc[:0]
    present = present_values(series)
    return present[pd.to_numeric(present, errors="coerce").isna()]


def _text_target(text: pd.Series, series: pd.Series, target: str, where: str) -> Finding:
    shown = ", ".join(repr(str(value)) for value in text.unique()[:SHOWN_VALUES])
    rows = f"{len(text):,} of {int(series.notna().sum()):,} rows"
    if len(text) > len(present_values(series)) / 2:  # mostly words: a category column
        return Finding(
            "error",
            f"The target column {target!r} in {where} holds text, not numbers ({rows}, "
            f"e.g. {shown}).",
            "To predict a category, use the Tabular classification template; otherwise choose "
            "the column that holds the number to predict.",
            target,
        )
    return Finding(
        "error",
        f"The target column {target!r} in {where} has values that are not numbers in {rows}, "
        f"e.g. {shown}.",
        "Write every value as a plain number (12.5, not 12,5; no units or thousands "
        "separators), and leave a cell empty when the value is unknown (that row is dropped).",
        target,
    )


def _check_row_count(
    present: pd.Series, target: str, spec: TabularRegressionSpec, has_test_file: bool
) -> list[Finding]:
    """Enough rows with a target to hold out validation and test rows of a useful size."""
    options = spec.options
    test_fraction = 0.0 if has_test_file else options.test_fraction
    needed = _rows_needed(test_fraction, options.val_fraction)
    if len(present) >= needed:
        return []
    return [
        Finding(
            "error",
            f"Only {len(present):,} row(s) have a target value; at least {needed} are needed to "
            f"keep {MIN_HELD_OUT} rows for checking the model while it trains"
            + ("" if has_test_file else f" and {MIN_HELD_OUT} for testing it")
            + ".",
            "Add more rows with a value in the target column.",
            target,
        )
    ]


def _rows_needed(test_fraction: float, val_fraction: float) -> int:
    """The fewest rows whose splits (sizes rounded up, as scikit-learn does) each hold
    ``MIN_HELD_OUT`` rows."""
    for n in count(MIN_ROWS):
        test = math.ceil(n * test_fraction)
        val = math.ceil((n - test) * val_fraction)
        if val >= MIN_HELD_OUT and (test >= MIN_HELD_OUT or not test_fraction):
            return n
    raise AssertionError("unreachable")  # count() never ends


def check_leaks(inputs: pd.DataFrame, target: pd.Series, name: str) -> list[Finding]:
    """Input columns that give the answer away: a copy of the target, or 2-3 numeric columns
    that add up to it (bike sharing: casual + registered = cnt). Searched on a seeded sample."""
    rows = np.flatnonzero(target.notna() & ~np.isinf(target))
    if len(rows) > LEAK_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(rows, LEAK_SAMPLE, replace=False))
    sample = inputs.iloc[rows]
    numeric = [
        column
        for column in sample.columns
        if infer_column_type(sample[column]).kind == "numeric"
        and sample[column].nunique() > 1  # a constant adds nothing to a sum
    ]
    if not numeric:
        return []
    values = np.column_stack([to_numeric(sample[column]).to_numpy() for column in numeric])
    sizes = (1, 2, 3) if len(numeric) <= MAX_TRIPLE_COLUMNS else (1, 2)
    leaks = _sums_equal_to(target.iloc[rows].to_numpy(dtype="float64"), values, sizes=sizes)
    named = [tuple(str(numeric[i]) for i in leak) for leak in leaks]
    return [_leak_finding(leak, name) for leak in named[:MAX_LEAKS_SHOWN]]


def _sums_equal_to(
    y: np.ndarray, values: np.ndarray, *, sizes: tuple[int, ...]
) -> list[tuple[int, ...]]:
    """Sets of columns of ``values`` whose sum equals ``y`` on nearly every row where all are
    present; a column found in a smaller set is not tried again in larger ones."""
    found: list[tuple[int, ...]] = []
    for size in sizes:
        used = {i for leak in found for i in leak}
        free = [i for i in range(values.shape[1]) if i not in used]
        # the set's last column is matched against all the later ones at once
        for head in combinations(free, size - 1):
            rest = y - values[:, list(head)].sum(axis=1)  # NaN where a head column is missing
            later = [i for i in free if not head or i > head[-1]]
            for i in np.flatnonzero(_nearly_equal(rest, values[:, later])):
                found.append((*head, later[i]))
    return found


def _nearly_equal(expected: np.ndarray, block: np.ndarray) -> np.ndarray:
    """For each column of ``block``: equal to ``expected`` on nearly every row both have."""
    both = ~np.isnan(block) & ~np.isnan(expected)[:, None]
    equal = np.isclose(block, expected[:, None], rtol=1e-6, atol=1e-9) & both
    counted = both.sum(axis=0)
    return (counted >= MIN_ROWS) & (equal.sum(axis=0) >= NEARLY_EVERY_ROW * counted)


def _leak_finding(leak: tuple[str, ...], target: str) -> Finding:
    if len(leak) == 1:
        problem = f"Column {leak[0]!r} holds the same values as the target {target!r}"
    else:
        named = " + ".join(repr(c) for c in leak)
        problem = f"The columns {named} add up to the target {target!r} in (nearly) every row"
    return Finding(
        "error",
        f"{problem}: the model would copy the answer and fail on new rows, where it is unknown.",
        f"Exclude {', '.join(repr(c) for c in leak)} from the inputs (options.exclude).",
        leak[0],
    )


def _check_test_frame(test: pd.DataFrame, target: str, inputs: list[str]) -> list[Finding]:
    """A separate test file: the target column with numbers, and every input column."""
    columns = check_test_columns(test, target, inputs)
    if columns:
        return columns
    text = _text_values(test[target])
    if not text.empty:
        return [_text_target(text, test[target], target, "the test file")]
    present = _raw_numbers(test[target]).dropna()
    problem = _unusable(present, target, "the test file")
    if problem or len(present) >= MIN_HELD_OUT:
        return [problem] if problem else []
    return [
        Finding(
            "error",
            f"The test file has {len(present)} row(s) with a target value; at "
            f"least {MIN_HELD_OUT} are needed to test the model.",
            "Fill in the target column of the test file, or add rows to it.",
            target,
        )
    ]
