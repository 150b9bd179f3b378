"""Plain-language checks of a table before a classifier is trained on it; the checks of the
input columns serve the regression template too."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import infer_column_type
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.classification_checks import (
    check_label_rows,
    check_target_column,
    errors_first,
)
from dlstudio.tasks.regression.options import TabularRegressionSpec
from dlstudio.tasks.tabular.options import TabularClassificationSpec

TabularSpec = TabularClassificationSpec | TabularRegressionSpec


def check_table(data: TrainingData, spec: TabularClassificationSpec) -> list[Finding]:
    """Every problem found, errors first; an error means training would fail or mislead."""
    target = spec.data.target
    frame = data.frame
    target_findings = check_one_column(frame) or check_target_column(frame, target, "the data")
    if target_findings:
        return target_findings
    findings, usable = check_features(frame, spec)
    findings += check_label_rows(data, target, usable, spec.options.test_fraction, findings)
    return errors_first(findings)


def check_one_column(frame: pd.DataFrame) -> list[Finding]:
    if len(frame.columns) > 1:
        return []
    header = str(frame.columns[0])
    marks = Counter(c for c in header if not c.isalnum() and c not in "_-. \"'")
    guess = f" (it seems to use {marks.most_common(1)[0][0]!r})" if marks else ""
    return [
        Finding(
            "error",
            f"The file was read as one column ({header[:60]!r}): its separator was not "
            f"recognised{guess}.",
            "Save it with commas, semicolons, tabs or | between the values (e.g. 'CSV' in Excel).",
        )
    ]


def check_features(frame: pd.DataFrame, spec: TabularSpec) -> tuple[list[Finding], list[str]]:
    """Findings about the input columns, and the columns the model will read."""
    target, options = spec.data.target, spec.options
    named = (options.features or []) + options.exclude
    unknown = [c for c in named if c not in frame.columns]
    if unknown:
        unknown_columns = Finding(
            "error",
            f"Column(s) named in the options are not in the data: {', '.join(unknown)}.",
            f"Use columns from: {', '.join(map(str, frame.columns))}.",
        )
        return [unknown_columns], []
    findings = []
    usable = []
    for column in feature_columns(frame, spec):
        kind = infer_column_type(frame[column])
        if kind.kind in ("numeric", "boolean", "datetime", "categorical"):
            usable.append(column)
            continue
        level = "warning" if kind.kind == "empty" else "info"
        findings.append(
            Finding(level, f"Column {column!r} is left out: {kind.reason}.", column=column)
        )
    if not usable:
        findings.append(
            Finding(
                "error",
                f"No column besides {target!r} can be used as an input.",
                "Add columns with numbers, categories or dates that help predict the target.",
            )
        )
    return findings, usable


def feature_columns(frame: pd.DataFrame, spec: TabularSpec) -> list[str]:
    """The candidate input columns: chosen ones, or all but the target and exclusions."""
    chosen = spec.options.features or [c for c in frame.columns if c != spec.data.target]
    return [c for c in chosen if c not in spec.options.exclude and c != spec.data.target]
