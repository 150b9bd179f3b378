"""Plain-language findings about a dataset, shown before any training time is spent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dlstudio.errors import DataError

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One thing a user should know about their data; errors block training."""

    level: Level
    message: str
    fix: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message} {self.fix}"


def raise_for_errors(findings: list[Finding]) -> None:
    """Raise one DataError that lists every blocking finding (so users fix them all at once)."""
    errors = [f for f in findings if f.level == "error"]
    if not errors:
        return
    if len(errors) == 1:
        raise DataError(errors[0].message, fix=errors[0].fix)
    lines = [f"- {f}" for f in errors]
    raise DataError(f"{len(errors)} problems stop training:\n" + "\n".join(lines))
