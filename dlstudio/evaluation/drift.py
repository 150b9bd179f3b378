"""How much each column shifted between the champion's training data and the data of a retrain.

The headline number is the population stability index over bins shared by both tables::

    PSI = sum over bins of (current share - reference share) * ln(current share / reference share)

with every share floored at ``EPSILON`` so that an empty bin costs a lot but stays finite. The
usual rule of thumb reads it as: below 0.1 no real shift ("none"), 0.1 to 0.25 a moderate shift,
0.25 and above a large one.

Bins per kind of column (the kind is judged on the reference, as the templates judge it):

- numbers: the reference's deciles (ties merged, so a constant column has two bins: up to the
  value and above it), plus a bin for missing values; the Kolmogorov-Smirnov test on the values;
- categories and yes/no columns: the reference's 20 most frequent levels, "other" and missing;
- free text: the number of words per text, compared as numbers (each text is its own category);
- dates: days since 1970, compared as numbers. Deliberately not skipped: new data from a later
  period reads as a large shift, which is true for any model that uses the date as an input;
- IDs: not compared (every value is new by design).

A column stored as numbers in one table and as text (or dates) in the other is a "large" shift
with the note "type changed". The target is summarized by its class frequencies (PSI over every
class, see ``label_shift``), or as a number when it holds more than 20 distinct numbers, and is
flagged apart from the inputs. Columns in only one table are listed as added or removed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

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

Severity = Literal["none", "moderate", "large"]
DriftKind = Literal["numeric", "categorical", "text", "datetime", "id", "empty", "label"]

N_BINS = 10  # deciles: the conventional PSI binning
TOP_LEVELS = 20  # categories beyond these are pooled into "other"
EPSILON = 1e-4  # floor on a bin's share: an empty bin weighs like 1 row in 10,000
MODERATE_PSI = 0.1
LARGE_PSI = 0.25
MAX_CLASSES = 20  # a numeric target with more distinct values is a quantity, not classes
N_EXAMPLES = 3  # new categories shown by name
N_NAMES = 5  # column names in the one-line summary before "and N more"
FRAME_COLUMNS = (
    "column", "role", "kind", "psi", "ks", "p_value", "severity",
    "missing_reference", "missing_current", "note",
)  # fmt: skip


@dataclass(frozen=True)
class ColumnDrift:
    """The shift of one column; numbers that do not apply to its kind are None.

    ``reference_mean``/``current_mean`` are means of the compared numbers: the values, the words
    per text, or days since 1970 for dates.
    """

    column: str
    kind: DriftKind
    severity: Severity
    note: str
    missing_reference: float
    missing_current: float
    psi: float | None = None
    ks: float | None = None
    p_value: float | None = None
    reference_mean: float | None = None
    current_mean: float | None = None
    tvd: float | None = None
    new_categories: int = 0
    new_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelShift:
    """How the mix of classes changed; shares are over labelled rows (missing labels left out)."""

    psi: float
    severity: Severity
    tvd: float
    reference_shares: dict[str, float]
    current_shares: dict[str, float]
    new_labels: tuple[str, ...]
    gone_labels: tuple[str, ...]

    def note(self) -> str:
        """The class whose share moved most, then new and vanished classes, in plain words."""
        moved = max(self.reference_shares.keys() | self.current_shares.keys(), key=self._moved)
        parts = [f"{moved!r} {self._share_change(moved)}"]
        if self.new_labels:
            noun = _plural(len(self.new_labels), "new class", "new classes")
            parts.append(f"{noun}: {_quoted(self.new_labels)}")
        if self.gone_labels:
            parts.append(f"no longer seen: {_quoted(self.gone_labels)}")
        return "; ".join(parts)

    def _moved(self, label: str) -> tuple[float, str]:
        change = abs(self.current_shares.get(label, 0.0) - self.reference_shares.get(label, 0.0))
        return round(change, 12), label  # ties go to the last name, the same on every run

    def _share_change(self, label: str) -> str:
        before, after = self.reference_shares.get(label, 0.0), self.current_shares.get(label, 0.0)
        return f"{before:.0%} -> {after:.0%}"


@dataclass(frozen=True)
class DriftReport:
    """Per-column shifts from the reference table to the current one.

    ``columns`` are the compared inputs, ``target`` the label (flagged on its own), ``added`` the
    columns only the current table has and ``removed`` those only the reference has.
    """

    columns: tuple[ColumnDrift, ...]
    target: ColumnDrift | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    reference_rows: int
    current_rows: int

    @property
    def large_shift_columns(self) -> tuple[str, ...]:
        """The input columns whose shift is "large" (PSI >= 0.25 or a changed type)."""
        return tuple(drift.column for drift in self.columns if drift.severity == "large")

    @property
    def large_shift(self) -> bool:
        """Whether any input column shifted a lot (the target is flagged separately)."""
        return bool(self.large_shift_columns)

    @property
    def label_mix_changed(self) -> bool:
        """Whether the target shifted at least moderately: class balance moves every metric."""
        return self.target is not None and self.target.severity != "none"

    def summary(self) -> str:
        """One line in plain words, e.g. "2 of 9 columns shifted a lot: tenure, plan."."""
        parts = [self._headline()]
        if self.label_mix_changed and self.target is not None:
            change = (
                "the label mix changed" if self.target.kind == "label" else "the target shifted"
            )
            parts.append(f"{change} ({self.target.column}: {self.target.note})")
        if self.added:
            parts.append(f"{_plural(len(self.added), 'new column')}: {_names(self.added)}")
        if self.removed:
            parts.append(f"{_plural(len(self.removed), 'column')} gone: {_names(self.removed)}")
        return "; ".join(parts) + "."

    def to_frame(self) -> pd.DataFrame:
        """One row per compared column (the target last, with role "target")."""
        rows = [{**asdict(drift), "role": "feature"} for drift in self.columns]
        if self.target is not None:
            rows.append({**asdict(self.target), "role": "target"})
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

    def to_json(self) -> dict[str, Any]:
        """A plain dict (lists, str, float, int, bool, None) for ``json.dumps``."""
        return {
            "summary": self.summary(),
            "large_shift": self.large_shift,
            "large_shift_columns": list(self.large_shift_columns),
            "label_mix_changed": self.label_mix_changed,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "added": list(self.added),
            "removed": list(self.removed),
            "columns": [_drift_json(drift) for drift in self.columns],
            "target": None if self.target is None else _drift_json(self.target),
        }

    def _headline(self) -> str:
        total, large = len(self.columns), self.large_shift_columns
        if total == 0:
            return "No shared input columns to compare"
        if large:
            return f"{len(large)} of {_plural(total, 'column')} shifted a lot: {_names(large)}"
        moderate = [drift.column for drift in self.columns if drift.severity == "moderate"]
        if moderate:
            named = f"{len(moderate)} of {total} moderately: {_names(moderate)}"
            return f"No column shifted a lot ({named})"
        return f"No column shifted ({_plural(total, 'column')} compared)"


def drift_summary(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
) -> DriftReport:
    """Compare ``current`` (the retrain's data) with ``reference`` (the champion's), column by column.

    Args:
        reference: the table the current champion was trained on.
        current: the new table.
        columns: the columns to compare (default: every column of either table).
        target: the label column, summarized as its class-frequency shift and flagged apart.

    Raises:
        ValueError: a table has no rows, or a named column is in neither table.
    """
    _require_rows(reference, "reference")
    _require_rows(current, "current")
    names = _column_names(reference, current, columns, target)
    wanted = names if target is None else [*names, target]
    shared = [name for name in names if name in reference and name in current]
    has_target = target is not None and target in reference and target in current
    return DriftReport(
        columns=tuple(column_drift(reference[name], current[name]) for name in shared),
        target=target_drift(reference[target], current[target]) if has_target else None,
        added=tuple(str(name) for name in wanted if name not in reference),
        removed=tuple(str(name) for name in wanted if name not in current),
        reference_rows=len(reference),
        current_rows=len(current),
    )


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


def population_stability_index(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """PSI of two share vectors over the same bins; shares below ``EPSILON`` count as ``EPSILON``."""
    before = np.maximum(np.asarray(reference_shares, dtype=float), EPSILON)
    after = np.maximum(np.asarray(current_shares, dtype=float), EPSILON)
    return float(np.sum((after - before) * np.log(after / before)))


def severity_of(psi: float) -> Severity:
    """The rule of thumb: < 0.1 none, 0.1 to < 0.25 moderate, >= 0.25 large."""
    if psi >= LARGE_PSI:
        return "large"
    return "moderate" if psi >= MODERATE_PSI else "none"


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
    noun = _plural(len(new), "new category", "new categories")
    return f"{noun} ({share:.0%} of values), e.g. {_quoted(new[:N_EXAMPLES])}"


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


def _require_rows(table: pd.DataFrame, side: str) -> None:
    if len(table) == 0:
        raise ValueError(
            f"The {side} table has no rows; drift needs rows on both sides. "
            f"Pass the {side} data with at least one row."
        )


def _column_names(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str] | None,
    target: str | None,
) -> list[str]:
    """The input columns to compare, in table order (the target left out)."""
    known = list(dict.fromkeys([*reference.columns, *current.columns]))
    if isinstance(columns, str):
        columns = [columns]
    asked = [*(columns or []), *([] if target is None else [target])]
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise ValueError(f"Columns {unknown!r} are in neither table; the tables have {known!r}.")
    names = known if columns is None else list(dict.fromkeys(columns))
    return [name for name in names if name != target]


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


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:N_NAMES])
    return shown if len(names) <= N_NAMES else f"{shown} and {len(names) - N_NAMES} more"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(value) for value in values)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _drift_json(drift: ColumnDrift) -> dict[str, Any]:
    return {**asdict(drift), "new_examples": list(drift.new_examples)}
