"""What a drift comparison reports: each column's shift, the label mix, the whole comparison in
one line of plain words, as a table and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from dlstudio.evaluation.drift.psi import Severity

DriftKind = Literal["numeric", "categorical", "text", "datetime", "id", "empty", "label"]

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
            noun = plural(len(self.new_labels), "new class", "new classes")
            parts.append(f"{noun}: {quoted(self.new_labels)}")
        if self.gone_labels:
            parts.append(f"no longer seen: {quoted(self.gone_labels)}")
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
            parts.append(f"{plural(len(self.added), 'new column')}: {_names(self.added)}")
        if self.removed:
            parts.append(f"{plural(len(self.removed), 'column')} gone: {_names(self.removed)}")
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
            return f"{len(large)} of {plural(total, 'column')} shifted a lot: {_names(large)}"
        moderate = [drift.column for drift in self.columns if drift.severity == "moderate"]
        if moderate:
            named = f"{len(moderate)} of {total} moderately: {_names(moderate)}"
            return f"No column shifted a lot ({named})"
        return f"No column shifted ({plural(total, 'column')} compared)"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:N_NAMES])
    return shown if len(names) <= N_NAMES else f"{shown} and {len(names) - N_NAMES} more"


def quoted(values: Sequence[str]) -> str:
    """Each value quoted, comma-separated."""
    return ", ".join(repr(value) for value in values)


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``count`` and the noun in its number: "1 column", "3 columns", "2 new classes"."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def _drift_json(drift: ColumnDrift) -> dict[str, Any]:
    return {**asdict(drift), "new_examples": list(drift.new_examples)}
