"""Plain-language checks of a table before a classifier is trained on it."""

from __future__ import annotations

import difflib

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type
from dlstudio.spec import TabularClassificationSpec
from dlstudio.tasks.base import TrainingData

MIN_ROWS = 20
MIN_TEST_ROWS_PER_CLASS = 2
MAX_CLASSES = 100


def check_table(data: TrainingData, spec: TabularClassificationSpec) -> list[Finding]:
    """Every problem found, errors first; an error means training would fail or mislead."""
    target = spec.data.target
    frame = data.frame
    target_findings = _check_target_column(frame, target, "the data")
    if target_findings:
        return target_findings
    findings = _check_features(frame, spec)
    labels = frame[target]
    if labels.isna().any():
        findings.append(_missing_target(int(labels.isna().sum()), target))
    labels = labels.dropna()
    findings += _check_labels(labels, target)
    if data.test_frame is not None:
        findings += _check_test_frame(data.test_frame, target, labels)
    elif not any(f.level == "error" for f in findings):
        findings += _check_rare_classes(labels, spec.options.test_fraction)
    return sorted(findings, key=lambda f: ("error", "warning", "info").index(f.level))


def _check_target_column(frame: pd.DataFrame, target: str | None, where: str) -> list[Finding]:
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


def _check_features(frame: pd.DataFrame, spec: TabularClassificationSpec) -> list[Finding]:
    target, options = spec.data.target, spec.options
    named = (options.features or []) + options.exclude
    unknown = [c for c in named if c not in frame.columns]
    if unknown:
        return [
            Finding(
                "error",
                f"Column(s) named in the options are not in the data: {', '.join(unknown)}.",
                f"Use columns from: {', '.join(map(str, frame.columns))}.",
            )
        ]
    findings = []
    usable = 0
    for column in feature_columns(frame, spec):
        kind = infer_column_type(frame[column])
        if kind.kind in ("numeric", "boolean", "datetime", "categorical"):
            usable += 1
            continue
        level = "warning" if kind.kind == "empty" else "info"
        findings.append(
            Finding(level, f"Column {column!r} is left out: {kind.reason}.", column=column)
        )
    if usable == 0:
        findings.append(
            Finding(
                "error",
                f"No column besides {target!r} can be used as an input.",
                "Add columns with numbers, categories or dates that help predict the target.",
            )
        )
    return findings


def feature_columns(frame: pd.DataFrame, spec: TabularClassificationSpec) -> list[str]:
    """The candidate input columns: chosen ones, or all but the target and exclusions."""
    chosen = spec.options.features or [c for c in frame.columns if c != spec.data.target]
    return [c for c in chosen if c not in spec.options.exclude and c != spec.data.target]


def _missing_target(count: int, target: str) -> Finding:
    return Finding(
        "warning",
        f"{count} row(s) have no value in the target column {target!r}; they will be dropped.",
        "Fill in the target for those rows if you want them used.",
        column=target,
    )


def _check_labels(labels: pd.Series, target: str) -> list[Finding]:
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
                f"The target column {target!r} holds {distinct} different numbers: it looks like a quantity to estimate (regression), which this template does not do.",
                "Pick a target with a few categories, or group the numbers into bands (e.g. low/medium/high) first.",
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


def _check_rare_classes(labels: pd.Series, test_fraction: float) -> list[Finding]:
    counts = labels.value_counts()
    rare = counts[counts * test_fraction < MIN_TEST_ROWS_PER_CLASS]
    if rare.empty:
        return []
    listed = ", ".join(f"{label!r} ({count} rows)" for label, count in rare.items())
    needed = int(-(-MIN_TEST_ROWS_PER_CLASS // test_fraction))
    return [
        Finding(
            "error",
            f"Some classes are too rare to test: {listed}. With a test share of "
            f"{test_fraction:.0%}, each class needs at least {needed} rows to have "
            f"{MIN_TEST_ROWS_PER_CLASS} test rows.",
            "Add rows of these classes, merge them into a related class, or remove those rows.",
        )
    ]


def _check_test_frame(test: pd.DataFrame, target: str, labels: pd.Series) -> list[Finding]:
    missing = _check_target_column(test, target, "the test file")
    if missing:
        return missing
    unseen = sorted(set(map(str, test[target].dropna())) - set(map(str, labels)))
    if unseen:
        return [
            Finding(
                "error",
                f"The test file has classes that the training file never shows: {', '.join(unseen)}.",
                "Add training rows of these classes, or remove them from the test file.",
                column=target,
            )
        ]
    if test[target].notna().sum() == 0:
        return [
            Finding(
                "error",
                "The test file has no rows with a target value.",
                "Fill in the target column of the test file.",
                target,
            )
        ]
    return []
