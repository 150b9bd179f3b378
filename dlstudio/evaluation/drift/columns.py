"""How one column shifted, compared as its kind says: numbers, dates and text lengths over the
reference's deciles, categories over its top levels, the label over its classes (the bins are
described in :mod:`dlstudio.evaluation.drift`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types
from scipy import stats

from dlstudio.data.columns import (
    ColumnKind,
    infer_column_type,
    present_values,
    to_datetime,
    to_numeric,
)
from dlstudio.evaluation.drift.psi import Severity, population_stability_index, severity_of
from dlstudio.evaluation.drift.report import ColumnDrift, DriftKind, LabelShift, plural, quoted

N_BINS = 10  # deciles: the conventional PSI binning
TOP_LEVELS = 20  # categories beyond these are pooled into "other"
MAX_CLASSES = 20  # a numeric target with more distinct values is a quantity, not classes
N_EXAMPLES = 3  # new categories shown by name


def label_shift(reference_labels: Sequence[Any], current_labels: Sequence[Any]) -> LabelShift:
    """Class-frequency shift (PSI over every class of either side), e.g. of image class folders.

    Raises:
        ValueError: one side has no labels at all.
    """
    reference_counts, _ = _level_counts(pd.Series(reference_labels))
    current_counts, _ = _level_counts(pd.Series(current_labels))
    for counts, side in ((reference_counts, "reference"), (current_counts, "current")):
        if counts.empty:
            raise ValueError(f"The {side} labels are empty; pass at least one labelled example.")
    classes = list(dict.fromkeys([*reference_counts.index, *current_counts.index]))
    before = reference_counts.reindex(classes, fill_value=0) / reference_counts.sum()
    after = current_counts.reindex(classes, fill_value=0) / current_counts.sum()
    psi = population_stability_index(before.to_numpy(), after.to_numpy())
    return LabelShift(
        psi=psi,
        severity=severity_of(psi),
        tvd=float(np.abs(after - before).sum() / 2),
        reference_shares={label: float(share) for label, share in before.items()},
        current_shares={label: float(share) for label, share in after.items()},
        new_labels=tuple(label for label in classes if label not in reference_counts.index),
        gone_labels=tuple(label for label in classes if label not in current_counts.index),
    )


def column_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    """The shift of one input column, compared as the reference's kind says (see the module doc)."""
    reference_kind = infer_column_type(reference).kind
    current_kind = infer_column_type(current).kind
    before, after = _family(reference, reference_kind), _family(current, current_kind)
    if reference_kind == "empty":
        kind = _drift_kind(current_kind, after)
    else:
        kind = _drift_kind(reference_kind, before)
    if before is not None and after is not None and before != after:
        note = f"type changed: {before} in the reference, {after} now"
        return ColumnDrift(str(reference.name), kind, "large", note, *_missing(reference, current))
    return _COMPARERS[kind](reference, current)


def target_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    """The label's shift: class frequencies, or the distribution when it is a quantity."""
    if _is_quantity(reference):
        return _numeric_drift(reference, current)
    name, missing = str(reference.name), _missing(reference, current)
    if missing[0] == 1.0 or missing[1] == 1.0:
        severity: Severity = "none" if missing[0] == missing[1] else "large"
        return ColumnDrift(name, "label", severity, "no labels on one side", *missing)
    shift = label_shift(reference, current)
    return ColumnDrift(
        name,
        "label",
        shift.severity,
        shift.note(),
        *missing,
        psi=shift.psi,
        tvd=shift.tvd,
        new_categories=len(shift.new_labels),
        new_examples=shift.new_labels[:N_EXAMPLES],
    )


# --- numbers, dates and text lengths: deciles of the reference ------------------------------


def _numeric_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    return _distribution_drift(reference, current, "numeric", to_numeric, _mean_note)


def _datetime_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    return _distribution_drift(reference, current, "datetime", _days, _range_note)


def _text_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    return _distribution_drift(reference, current, "text", _word_counts, _words_note)


def _distribution_drift(
    reference: pd.Series,
    current: pd.Series,
    kind: DriftKind,
    convert: Callable[[pd.Series], pd.Series],
    describe: Callable[[np.ndarray, np.ndarray], str],
) -> ColumnDrift:
    """PSI over the reference's deciles plus a missing bin, and the two-sample KS test."""
    before, after = convert(reference), convert(current)
    before_values, after_values = before.dropna().to_numpy(float), after.dropna().to_numpy(float)
    edges = _decile_edges(before_values)
    psi = population_stability_index(_binned_shares(before, edges), _binned_shares(after, edges))
    ks, p_value = _ks_test(before_values, after_values)
    missing = float(before.isna().mean()), float(after.isna().mean())
    return ColumnDrift(
        str(reference.name),
        kind,
        severity_of(psi),
        _join(describe(before_values, after_values), _missing_note(*missing)),
        *missing,
        psi=psi,
        ks=ks,
        p_value=p_value,
        reference_mean=_mean(before_values),
        current_mean=_mean(after_values),
    )


def _decile_edges(values: np.ndarray) -> np.ndarray:
    """Inner bin edges at the reference's deciles; tied deciles merge into one edge."""
    if values.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0, 1, N_BINS + 1)[1:-1]))


def _binned_shares(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Shares of the bins (-inf, e1], (e1, e2], ..., (ek, inf), then of missing values."""
    present = values.dropna().to_numpy(float)
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    return np.append(counts, len(values) - present.size) / len(values)


def _ks_test(before: np.ndarray, after: np.ndarray) -> tuple[float | None, float | None]:
    if before.size == 0 or after.size == 0:
        return None, None
    result = stats.ks_2samp(before, after)
    return float(result.statistic), float(result.pvalue)


def _days(series: pd.Series) -> pd.Series:
    dates = to_datetime(series)
    if dates.dt.tz is not None:  # wall-clock time, so the note shows the dates the user sees
        dates = dates.dt.tz_localize(None)
    return (dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


def _word_counts(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    words = text.mask((text == "").fillna(False)).str.split().str.len()
    return pd.Series(words.to_numpy(dtype=float, na_value=np.nan), index=series.index)


def _mean_note(before: np.ndarray, after: np.ndarray) -> str:
    return f"mean {_number(_mean(before))} -> {_number(_mean(after))}"


def _words_note(before: np.ndarray, after: np.ndarray) -> str:
    return f"mean words {_number(_mean(before))} -> {_number(_mean(after))}"


def _range_note(before: np.ndarray, after: np.ndarray) -> str:
    return f"dates {_date_range(before)} -> {_date_range(after)}"


def _date_range(days: np.ndarray) -> str:
    if days.size == 0:
        return "(no values)"
    return f"{_day(days.min()):%Y-%m-%d}..{_day(days.max()):%Y-%m-%d}"


def _day(days: float) -> pd.Timestamp:
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=days)


# --- categories: the reference's top levels, "other" and missing ----------------------------


def _categorical_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    before, before_missing = _level_counts(reference)
    after, after_missing = _level_counts(current)
    levels = list(before.index[:TOP_LEVELS])
    psi = population_stability_index(
        _level_shares(before, before_missing, levels), _level_shares(after, after_missing, levels)
    )
    union = list(dict.fromkeys([*before.index, *after.index]))
    before_shares = before.reindex(union, fill_value=0) / len(reference)
    after_shares = after.reindex(union, fill_value=0) / len(current)
    missing = before_missing / len(reference), after_missing / len(current)
    tvd = (np.abs(after_shares - before_shares).sum() + abs(missing[1] - missing[0])) / 2
    new = [label for label in after.index if label not in before.index]
    note = _join(
        _moved_note(before_shares, after_shares), _new_note(new, after), _missing_note(*missing)
    )
    return ColumnDrift(
        str(reference.name),
        "categorical",
        severity_of(psi),
        note,
        *missing,
        psi=psi,
        tvd=float(tvd),
        new_categories=len(new),
        new_examples=tuple(new[:N_EXAMPLES]),
    )


def _level_counts(series: pd.Series) -> tuple[pd.Series, int]:
    """Rows per value as text (most frequent first, ties by name) and the number missing.

    Whole numbers read the same from ints and floats ("1", not "1.0" once a NaN appears).
    """
    present = present_values(series)
    numeric = types.is_numeric_dtype(present.dtype) and not types.is_bool_dtype(present.dtype)
    if numeric and bool((present % 1 == 0).all()):
        present = present.astype("int64")
    counts = present.astype(str).value_counts().sort_index()
    return counts.sort_values(ascending=False, kind="stable"), len(series) - len(present)


def _level_shares(counts: pd.Series, missing: int, levels: list[str]) -> np.ndarray:
    total = int(counts.sum()) + missing
    kept = counts.reindex(levels, fill_value=0).to_numpy()
    return np.append(kept, [counts.sum() - kept.sum(), missing]) / total


def _moved_note(before: pd.Series, after: pd.Series) -> str:
    if before.empty and after.empty:
        return ""
    moved = (after - before).abs().idxmax()
    return f"{moved!r} {before[moved]:.0%} -> {after[moved]:.0%}"


def _new_note(new: list[str], counts: pd.Series) -> str:
    if not new:
        return ""
    share = counts[new].sum() / counts.sum()
    noun = plural(len(new), "new category", "new categories")
    return f"{noun} ({share:.0%} of values), e.g. {quoted(new[:N_EXAMPLES])}"


# --- IDs and empty columns -------------------------------------------------------------------


def _id_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    note = "an ID (every value differs): not compared"
    return ColumnDrift(str(reference.name), "id", "none", note, *_missing(reference, current))


def _empty_drift(reference: pd.Series, current: pd.Series) -> ColumnDrift:
    note = "no values in either table"
    return ColumnDrift(str(reference.name), "empty", "none", note, 1.0, 1.0, psi=0.0)


_COMPARERS: dict[str, Callable[[pd.Series, pd.Series], ColumnDrift]] = {
    "numeric": _numeric_drift,
    "datetime": _datetime_drift,
    "text": _text_drift,
    "categorical": _categorical_drift,
    "id": _id_drift,
    "empty": _empty_drift,
}
_FAMILY = {"numeric": "numbers", "datetime": "dates", "categorical": "text", "text": "text"}
_CONSTANT_KIND: dict[str | None, DriftKind] = {"numbers": "numeric", "dates": "datetime"}
_DRIFT_KIND: dict[ColumnKind, DriftKind] = {
    "numeric": "numeric", "datetime": "datetime", "text": "text", "categorical": "categorical",
    "id": "id", "empty": "empty", "boolean": "categorical", "constant": "categorical",
}  # fmt: skip


def _family(series: pd.Series, kind: ColumnKind) -> str | None:
    """How the values are stored: numbers, dates or text (None when there are none)."""
    if kind == "empty":
        return None
    if kind in _FAMILY:
        return _FAMILY[kind]
    if types.is_datetime64_any_dtype(series.dtype):
        return "dates"
    values = pd.Series(present_values(series).unique()[:100])  # constants, yes/no, IDs: few
    if pd.to_numeric(values, errors="coerce").notna().all():
        return "numbers"
    text = values.astype(str)
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    return "dates" if text.str.contains(r"\d").all() and dates.notna().all() else "text"


def _drift_kind(kind: ColumnKind, family: str | None) -> DriftKind:
    """How to compare a column: a constant as what it holds, a yes/no column as categories."""
    if kind == "constant":
        return _CONSTANT_KIND.get(family, "categorical")
    return _DRIFT_KIND[kind]


def _is_quantity(series: pd.Series) -> bool:
    present = present_values(series)
    numeric = types.is_numeric_dtype(present.dtype) and not types.is_bool_dtype(present.dtype)
    return numeric and present.nunique() > MAX_CLASSES


# --- small shared pieces ---------------------------------------------------------------------


def _missing(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """The share of missing (or blank) values in each."""
    before = 1 - len(present_values(reference)) / len(reference)
    return before, 1 - len(present_values(current)) / len(current)


def _missing_note(before: float, after: float) -> str:
    return f"missing {before:.0%} -> {after:.0%}" if abs(after - before) >= 0.01 else ""


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _number(value: float | None) -> str:
    """42.0, 1,234 or 0.00123: one decimal for everyday sizes, no noise for large or small ones."""
    if value is None or math.isnan(value):
        return "(no values)"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.3g}"


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)
