"""Data reports on a table already read (the Data page's path) and the target guess."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlstudio.data.readers import LoadedTable
from dlstudio.data.report import profile_source, report_table, suggest_target
from dlstudio.data.store import DatasetStore
from tests.conftest import make_customers


def loaded(frame: pd.DataFrame, tmp_path: Path) -> LoadedTable:
    return LoadedTable(frame=frame, source=tmp_path / "t.csv", notes=("Read as cp1252 text.",))


def test_report_table_profiles_and_checks_with_a_target(tmp_path: Path) -> None:
    frame = make_customers()

    report = report_table(loaded(frame, tmp_path), source="customers@abc", target="churn")

    assert report.source == "customers@abc"
    assert report.notes == ("Read as cp1252 text.",)
    assert report.profile.target == "churn"
    assert report.profile.target_balance == frame["churn"].value_counts().to_dict()
    assert [(f.level, f.column) for f in report.findings] == [("info", "customer_id")]


def test_report_table_without_a_target_only_profiles(tmp_path: Path) -> None:
    report = report_table(loaded(make_customers(), tmp_path), source="customers")

    assert report.findings == ()
    assert report.profile.target_balance is None
    assert report.profile.n_columns == 8


def test_report_table_names_a_problem_and_its_fix(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(30), "label": ["a"] * 29 + ["b"]})

    report = report_table(loaded(frame, tmp_path), source="rare", target="label")

    (finding,) = report.findings
    assert finding.level == "error"
    assert finding.message.startswith("Some classes are too rare to test: 'b' (1 rows).")
    assert finding.fix == (
        "Add rows of these classes, merge them into a related class, or remove those rows."
    )
    assert report.profile.target_balance == {"a": 29, "b": 1}


@pytest.mark.parametrize(
    ("frame", "target"),
    [
        (make_customers(), "churn"),  # a conventional name
        (pd.DataFrame({"score": [1.5, 2.5, 3.5], "id": [1, 2, 3]}), "id"),  # nothing fits: last
    ],
)
def test_suggest_target_uses_the_templates_guess_else_the_last_column(
    frame: pd.DataFrame, target: str
) -> None:
    assert suggest_target(frame, task="tabular_classification") == target


def test_profile_source_still_reads_a_stored_dataset(isolated_home: Path) -> None:
    stored = DatasetStore.default().save(
        "customers", make_customers().to_csv(index=False).encode(), filename="customers.csv"
    )

    report = profile_source(stored.ref, target="churn")

    assert report.source == stored.ref
    assert report.profile.n_rows == 240
    assert report.profile.target == "churn"
