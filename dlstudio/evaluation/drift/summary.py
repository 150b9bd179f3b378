"""Compare two tables column by column: the drift summary a retrain shows next to its decision."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dlstudio.evaluation.drift.columns import column_drift, target_drift
from dlstudio.evaluation.drift.report import DriftReport


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
