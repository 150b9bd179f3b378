"""Plain-language checks of the labels every classification template trains on (tables, texts):
the target column, its classes, rare classes, and a separate test file."""

from __future__ import annotations

import difflib

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type
from dlstudio.tasks.base import TrainingData

MIN_ROWS = 20
MIN_TEST_ROWS_PER_CLASS = 2
MAX_CLASSES = 100


def check_label_rows(
    data: TrainingData, target: str, inputs: list[str], test_fraction: float, found: list[Finding]
) -> list[Finding]:
    """The labels' findings: rows without one, the classes, and with a test file its columns
    and classes; the rare-class check only when ``found`` holds no error yet."""
    labels = clean_target(data.frame[target])
    findings = []
    if labels.isna().any():
        findings.append(missing_target(int(labels.isna().sum()), target))
    labels = labels.dropna()
    findings += check_labels(labels, target)
    if data.test_frame is not None:
        findings += check_rare_classes(labels, 1.0, what="in the training file")
        findings += check_test_frame(data.test_frame, target, labels, inputs)
    elif not any(f.level == "error" for f in [*found, *findings]):
        findings += check_rare_classes(labels, test_fraction)
    return findings


def errors_first(findings: list[Finding]) -> list[Finding]:
    """Errors, then warnings, then notes (each group in the order found)."""
    return sorted(findings, key=lambda f: ("error", "warning", "info").index(f.level))


def clean_target(labels: pd.Series) -> pd.Series:
    """Labels as users mean them: text trimmed, blank cells missing (as for every column)."""
    if pd.api.types.is_float_dtype(labels):
        # a 0/1 column with one blank cell is read as 0.0/1.0: give the classes back their ints
        present = labels.dropna()
        return labels.astype("Int64") if (present % 1 == 0).all() else labels
    if not (pd.api.types.is_string_dtype(labels) or labels.dtype == object):
        return labels
    text = labels.map(lambda value: value.strip() if isinstance(value, str) else value)
    return text.mask(text == "")


def check_target_column(frame: pd.DataFrame, target: str | None, where: str) -> list[Finding]:
    columns = [str(c) for c in frame.columns]
    if not target:
        return [
            Finding(
                "error",
                "No target column was chosen.",
                f"Set data.target to one of: {', '.join(columns)}.",
            )
        ]
    if target in frame.columns:
        return []
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.5)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return [
        Finding(
            "error",
            f"The target column {target!r} is not in {where}.",
            f"{hint}The columns are: {', '.join(columns)}.",
            column=target,
        )
    ]


def missing_target(count: int, target: str) -> Finding:
    return Finding(
        "warning",
        f"{count} row(s) have no value in the target column {target!r}; they will be dropped.",
        "Fill in the target for those rows if you want them used.",
        column=target,
    )


def check_labels(labels: pd.Series, target: str) -> list[Finding]:
    if len(labels) < MIN_ROWS:
        return [
            Finding(
                "error",
                f"Only {len(labels)} row(s) have a target value; at least {MIN_ROWS} are needed.",
                "Add more labelled rows.",
                target,
            )
        ]
    distinct = labels.nunique()
    if distinct < 2:
        value = labels.iloc[0] if len(labels) else None
        return [
            Finding(
                "error",
                f"The target column {target!r} has only one class ({value!r}); a classifier needs at least two.",
                "Choose another target column, or add rows of the other classes.",
                target,
            )
        ]
    if pd.api.types.is_numeric_dtype(labels) and distinct > 20 and distinct > 0.05 * len(labels):
        return [
            Finding(
                "error",
                f"The target column {target!r} holds {distinct} different numbers: it looks like a quantity to estimate (regression), not a category.",
                "To predict the number, use the Tabular regression template (task: tabular_regression); to predict a category, pick a target with a few categories, or group the numbers into bands (e.g. low/medium/high) first.",
                target,
            )
        ]
    if distinct > MAX_CLASSES or (distinct > 20 and distinct > 0.5 * len(labels)):
        return [
            Finding(
                "error",
                f"The target column {target!r} has {distinct} different values, too many classes to learn (at most {MAX_CLASSES}).",
                "Choose a column with fewer categories, or group rare values into 'other'.",
                target,
            )
        ]
    return []


def check_rare_classes(labels: pd.Series, share: float, *, what: str = "to test") -> list[Finding]:
    """Classes with fewer than 2 rows in the held-out share (all rows: share=1.0)."""
    counts = labels.value_counts()
    rare = counts[counts * share < MIN_TEST_ROWS_PER_CLASS]
    if rare.empty:
        return []
    listed = ", ".join(f"{label!r} ({count} rows)" for label, count in rare.items())
    if share >= 1.0:
        message = f"Some classes are too rare {what}: {listed}; each needs at least 2 rows."
    else:
        needed = int(-(-MIN_TEST_ROWS_PER_CLASS // share))
        message = (
            f"Some classes are too rare {what}: {listed}. With a test share of {share:.0%}, "
            f"each class needs at least {needed} rows to have {MIN_TEST_ROWS_PER_CLASS} test rows."
        )
    return [
        Finding(
            "error",
            message,
            "Add rows of these classes, merge them into a related class, or remove those rows.",
        )
    ]


def check_test_columns(test: pd.DataFrame, target: str, inputs: list[str]) -> list[Finding]:
    """A separate test file must hold the target and every input column of the training file."""
    missing = check_target_column(test, target, "the test file")
    if missing:
        return missing
    absent = [column for column in inputs if column not in test.columns]
    if absent:
        return [
            Finding(
                "error",
                f"The test file lacks input column(s) of the training file: {', '.join(absent)}.",
                "Give both files the same columns (empty cells are fine), or exclude these "
                "columns with options.exclude.",
            )
        ]
    return []


def check_test_frame(
    test: pd.DataFrame, target: str, labels: pd.Series, inputs: list[str]
) -> list[Finding]:
    columns = check_test_columns(test, target, inputs)
    if columns:
        return columns
    test_labels = clean_target(test[target]).dropna()
    if test_labels.empty:
        return [
            Finding(
                "error",
                "The test file has no rows with a target value.",
                "Fill in the target column of the test file.",
                target,
            )
        ]
    unseen = sorted(set(map(str, test_labels)) - set(map(str, labels)))
    if unseen:
        return [
            Finding(
                "error",
                f"The test file has classes that the training file never shows: {', '.join(unseen)}.",
                "Add training rows of these classes, or remove them from the test file.",
                column=target,
            )
        ]
    return _check_test_counts(test_labels, labels, target)


def _check_test_counts(test_labels: pd.Series, labels: pd.Series, target: str) -> list[Finding]:
    """A class with under 2 test rows makes its recall/precision a coin toss: say so."""
    counts = test_labels.map(str).value_counts()
    thin = {label: int(counts.get(label, 0)) for label in sorted(set(map(str, labels)))}
    thin = {label: n for label, n in thin.items() if n < MIN_TEST_ROWS_PER_CLASS}
    if not thin:
        return []
    listed = ", ".join(f"{label!r} ({n} test rows)" for label, n in thin.items())
    return [
        Finding(
            "warning",
            f"Some classes are too rare in the test file to be measured: {listed}.",
            f"Add at least {MIN_TEST_ROWS_PER_CLASS} test rows of each class for reliable "
            "per-class scores.",
            column=target,
        )
    ]


TARGET_NAMES = ("target", "label", "class", "y", "outcome", "churn", "churned", "species")


def guess_target(frame: pd.DataFrame) -> str | None:
    """The column a user most likely wants to predict: a conventional name, else the last
    column with a few (2-20) distinct values that is not an id. None when nothing fits."""
    for column in frame.columns:
        name = str(column).strip().lower()
        if name in TARGET_NAMES or name.endswith(("_label", "_target", "_class")):
            return column
    for column in reversed(frame.columns):
        kind = infer_column_type(frame[column])
        if kind.kind in ("categorical", "boolean") and 2 <= frame[column].nunique() <= 20:
            return column
    return None
