"""The data errors a command can report before importing torch and MLflow (seconds).

``train`` and ``submit`` call :func:`check_before_training` right after the spec is built: a
table that cannot be read, or that lacks the target column, is reported in about a second,
with the same message the template's checks give after the heavy imports. Everything else is
left to those checks (they need the template, and the template needs torch).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from dlstudio.errors import DataError

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec


def check_before_training(spec: RunSpec) -> None:
    """Read the spec's data file (a table) and check that it holds the target column.

    Raises:
        DataError: the file cannot be read as a table, or the target is not one of its columns.
    """
    from dlstudio.data.images import is_image_source

    path, target = spec.data.path, spec.data.target
    if not path or not target or is_image_source(Path(path)):
        return  # a stored dataset, a query or images: the template's checks tell
    from dlstudio.data.readers import read_table

    columns = [str(name) for name in read_table(Path(path), sheet=spec.data.sheet).frame.columns]
    if target not in columns and len(columns) > 1:  # one column: the template says so first
        raise DataError(f"The target column {target!r} is not in the data.",
                        fix=_columns_hint(target, columns))  # fmt: skip


def _columns_hint(target: str, columns: list[str]) -> str:
    """The wording of the templates' own check (tasks/classification_checks.py)."""
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.5)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return f"{hint}The columns are: {', '.join(columns)}."
