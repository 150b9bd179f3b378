"""A data report for users: the profile plus the template's plain-language checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.profile import TableProfile, profile_table
from dlstudio.data.readers import LoadedTable, read_table
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DataError


@dataclass(frozen=True)
class DataReport:
    """What a user should know about a table before training on it."""

    source: str
    profile: TableProfile
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "rows": self.profile.n_rows,
            "columns": self.profile.to_frame().to_dict(orient="records"),
            "target": self.profile.target,
            "target_balance": self.profile.target_balance,
            "findings": [asdict(f) for f in self.findings],
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        lines = [f"{self.source}: {self.profile.n_rows:,} rows x {self.profile.n_columns} columns"]
        lines += [f"note: {note}" for note in self.notes]
        table = self.profile.to_frame().drop(columns=["target"], errors="ignore")
        lines += ["", table.to_string(index=False, max_colwidth=40)]
        if self.profile.target_balance:
            total = sum(self.profile.target_balance.values())
            lines += ["", f"target {self.profile.target!r}:"]
            lines += [
                f"  {label}: {count:,} ({count / total:.1%})"
                for label, count in self.profile.target_balance.items()
            ]
        lines += [""] + [f"{f.level}: {f}" for f in self.findings]
        if not any(f.level == "error" for f in self.findings):
            lines.append("ready to train" if self.profile.target else "choose a target to train")
        return "\n".join(lines)


def profile_source(source: str, *, target: str | None = None) -> DataReport:
    """Profile a file path or a stored dataset ref; with a target, run the tabular checks too."""
    path = Path(source).expanduser()
    if not path.exists():
        if path.suffix or "/" in source or "\\" in source:  # meant as a file, not a stored name
            raise DataError(f"The file {source!r} does not exist.", fix="check the path")
        path = DatasetStore.default().resolve(source).path
    return report_table(read_table(path), source=str(source), target=target)


def report_table(
    table: LoadedTable, *, source: str, target: str | None = None, task: str | None = None
) -> DataReport:
    """Profile a table already read; with a target, also run the template's checks.

    Args:
        table: the table, as ``read_table`` returned it.
        source: how the report names the table ("sales@1a2b3c4d5e6f", a path).
        target: the column to predict; None profiles the columns only.
        task: the template whose checks run (default: the spec's default template).
    """
    findings: tuple[Finding, ...] = ()
    if target is not None:
        from dlstudio.spec import parse_spec
        from dlstudio.tasks import get_template
        from dlstudio.tasks.base import TrainingData

        chosen = {"task": task} if task else {}
        spec = parse_spec({**chosen, "data": {"path": str(table.source), "target": target}})
        findings = tuple(get_template(spec.task).check(TrainingData(table.frame), spec))
        if any(f.level == "error" and f.column == target for f in findings):
            target = None  # a missing target: profile without it, the finding says why
    profile = profile_table(table.frame, target=target)
    return DataReport(source, profile, findings, table.notes)


def suggest_target(frame: pd.DataFrame, *, task: str) -> str:
    """The column the template guesses a user wants to predict, else the last column."""
    from dlstudio.tasks import get_template

    guess = get_template(task).suggest_roles(frame).get("target")
    return str(guess) if guess is not None else str(frame.columns[-1])
