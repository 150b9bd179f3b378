"""A one-screen summary of a table: each column's kind, gaps and examples, and the target's balance."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dlstudio.data.columns import ColumnKind, infer_column_type, present_values
from dlstudio.errors import DataError

EXAMPLES = 3
BALANCE_MAX_CLASSES = 20  # a numeric target with more distinct values is a quantity, not classes
_CLASS_KINDS = ("boolean", "categorical", "constant")


@dataclass(frozen=True)
class ColumnProfile:
    """What one column holds, for the data page and for checks."""

    name: str
    kind: ColumnKind
    reason: str
    missing_pct: float  # share of rows with no value (blank text included), 0-100
    distinct: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class TableProfile:
    """Every column's profile, and how the target's values are spread when it has classes."""

    n_rows: int
    n_columns: int
    columns: tuple[ColumnProfile, ...]
    target: str | None
    target_balance: dict[str, int] | None

    def column(self, name: str) -> ColumnProfile:
        """The profile of the column called ``name``."""
        for profile in self.columns:
            if profile.name == name:
                return profile
        raise DataError(f"There is no column {name!r}.", fix=_choose_from(name, self.names))

    @property
    def names(self) -> list[str]:
        """The column names, in table order."""
        return [profile.name for profile in self.columns]

    def to_frame(self) -> pd.DataFrame:
        """One row per column, ready to display."""
        rows = [
            {
                "column": c.name,
                "kind": c.kind,
                "missing_pct": round(c.missing_pct, 1),
                "distinct": c.distinct,
                "examples": ", ".join(c.examples),
                "reason": c.reason,
                "target": c.name == self.target,
            }
            for c in self.columns
        ]
        return pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))


_FRAME_COLUMNS = ("column", "kind", "missing_pct", "distinct", "examples", "reason", "target")


def profile_table(frame: pd.DataFrame, *, target: str | None = None) -> TableProfile:
    """Profile every column of ``frame``; with a target, also count its classes.

    Raises:
        DataError: ``target`` is not a column of ``frame``.
    """
    names = [str(name) for name in frame.columns]
    if target is not None and target not in names:
        raise DataError(
            f"The target column {target!r} is not in the table.", fix=_choose_from(target, names)
        )
    columns = tuple(
        _profile_column(frame.iloc[:, i].rename(names[i])) for i in range(frame.shape[1])
    )
    balance = None
    if target is not None:
        balance = _balance(frame.iloc[:, names.index(target)], columns[names.index(target)])
    return TableProfile(
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=columns,
        target=target,
        target_balance=balance,
    )


def _profile_column(series: pd.Series) -> ColumnProfile:
    column_type = infer_column_type(series)
    present = present_values(series)
    missing_pct = 100.0 * (1 - len(present) / len(series)) if len(series) else 0.0
    examples = tuple(_label(value) for value in present.head(1000).drop_duplicates()[:EXAMPLES])
    return ColumnProfile(
        name=column_type.name,
        kind=column_type.kind,
        reason=column_type.reason,
        missing_pct=missing_pct,
        distinct=int(present.nunique()),
        examples=examples,
    )


def _balance(series: pd.Series, profile: ColumnProfile) -> dict[str, int] | None:
    """Rows per target value, most frequent first; None for a quantity, an ID or free text."""
    is_classes = profile.kind in _CLASS_KINDS
    if not is_classes and not (
        profile.kind == "numeric" and profile.distinct <= BALANCE_MAX_CLASSES
    ):
        return None
    counts = present_values(series).value_counts()
    return {_label(value): int(count) for value, count in counts.items()}


def _label(value: Any) -> str:
    """A value as a user would write it: 1.0 shows as '1', a midnight timestamp as its date."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    return str(value)


def _choose_from(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return f"{hint}Columns: {', '.join(repr(n) for n in names)}."
