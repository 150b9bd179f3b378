"""Tabular checks: each bad table gives one plain finding; errors block, warnings do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlstudio.data.checks import Finding
from dlstudio.data.readers import read_table
from dlstudio.spec import parse_spec
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.tabular.checks import feature_columns
from dlstudio.tasks.tabular.template import TabularClassification
from tests.conftest import make_customers

COLUMNS = "customer_id, tenure, plan, monthly, paperless, signup, region, churn"


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """200 rows, 'churn' is yes/no; tests copy it before changing it."""
    return make_customers(200)


def check(
    frame: pd.DataFrame,
    test_frame: pd.DataFrame | None = None,
    *,
    target: str | None = "churn",
    **options: object,
) -> list[Finding]:
    spec = parse_spec({"data": {"target": target}, "options": options})
    return TabularClassification().check(TrainingData(frame, test_frame), spec)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def with_rare_class(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[changed.index[:rows], "churn"] = "maybe"
    return changed


# --- a clean table -------------------------------------------------------------------------


def test_clean_table_has_no_errors_and_names_the_id_column_left_out(
    customers: pd.DataFrame,
) -> None:
    findings = check(customers)

    assert findings == [
        Finding(
            "info",
            "Column 'customer_id' is left out: every value is different, like an ID.",
            column="customer_id",
        )
    ]


# --- files as the reader gives them ----------------------------------------------------------


def test_semicolon_file_is_read_into_columns_and_passes(
    tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = tmp_path / "customers.csv"
    customers.to_csv(path, sep=";", index=False)
    frame = read_table(path).frame

    findings = check(frame)

    assert ", ".join(frame.columns) == COLUMNS
    assert errors(findings) == []


def test_cp1252_file_keeps_accented_categories_as_an_input(
    tmp_path: Path, customers: pd.DataFrame
) -> None:
    table = customers.assign(city=np.resize(["Zürich", "München", "Genève"], len(customers)))
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False, encoding="cp1252")
    frame = read_table(path).frame

    findings = check(frame)

    assert sorted(frame["city"].unique()) == ["Genève", "München", "Zürich"]
    assert errors(findings) == []
    assert [f for f in findings if f.column == "city"] == []


def test_file_read_as_one_column_points_at_the_separator(
    tmp_path: Path, customers: pd.DataFrame
) -> None:
    path = tmp_path / "customers.csv"
    customers.to_csv(path, sep=":", index=False)
    frame = read_table(path).frame

    findings = errors(check(frame))

    assert frame.shape[1] == 1
    assert len(findings) == 1
    assert "one column" in findings[0].message
    assert "':'" in str(findings[0])


# --- the target column -----------------------------------------------------------------------


def test_missing_target_lists_the_columns_and_suggests_the_closest(
    customers: pd.DataFrame,
) -> None:
    frame = customers.rename(columns={"churn": "Churn"})

    findings = check(frame, target="churn")

    assert findings == [
        Finding(
            "error",
            "The target column 'churn' is not in the data.",
            "Did you mean 'Churn'? The columns are: " + COLUMNS.replace("churn", "Churn") + ".",
            column="churn",
        )
    ]


def test_no_target_chosen_lists_the_columns(customers: pd.DataFrame) -> None:
    findings = check(customers, target=None)

    assert [(f.level, f.message, f.fix) for f in findings] == [
        ("error", "No target column was chosen.", f"Set data.target to one of: {COLUMNS}.")
    ]


def test_target_with_one_class_is_an_error(customers: pd.DataFrame) -> None:
    frame = customers.assign(churn="yes")

    findings = errors(check(frame))

    assert [f.message for f in findings] == [
        "The target column 'churn' has only one class ('yes'); a classifier needs at least two."
    ]


def test_rows_with_missing_target_are_counted_in_a_warning(customers: pd.DataFrame) -> None:
    frame = customers.copy()
    frame.loc[frame.index[:7], "churn"] = np.nan

    findings = check(frame)

    assert errors(findings) == []
    assert [f.message for f in findings if f.level == "warning"] == [
        "7 row(s) have no value in the target column 'churn'; they will be dropped."
    ]


def test_blank_target_text_counts_as_missing(customers: pd.DataFrame) -> None:
    frame = customers.copy()
    frame.loc[frame.index[:7], "churn"] = " "

    findings = check(frame)

    assert [f.message for f in findings if f.level == "warning"] == [
        "7 row(s) have no value in the target column 'churn'; they will be dropped."
    ]


def test_numeric_target_with_many_values_looks_like_regression(customers: pd.DataFrame) -> None:
    frame = customers.assign(churn=np.linspace(10.0, 99.0, len(customers)).round(2))

    findings = errors(check(frame))

    assert len(findings) == 1
    assert "holds 200 different numbers" in findings[0].message
    assert "regression" in findings[0].message
    assert "Tabular regression template (task: tabular_regression)" in findings[0].fix
    assert "bands" in findings[0].fix


def test_numeric_target_with_two_values_is_a_class_label(customers: pd.DataFrame) -> None:
    frame = customers.assign(churn=np.arange(len(customers)) % 2)

    assert errors(check(frame)) == []


# --- classes too rare to test ----------------------------------------------------------------


def test_class_with_fewer_than_two_test_rows_is_an_error(customers: pd.DataFrame) -> None:
    # 9 rows x 20% test share = 1.8 test rows
    findings = errors(check(with_rare_class(customers, 9)))

    assert len(findings) == 1
    assert "'maybe' (9 rows)" in findings[0].message
    assert "needs at least 10 rows" in findings[0].message


def test_class_with_exactly_two_test_rows_passes(customers: pd.DataFrame) -> None:
    # 10 rows x 20% test share = 2 test rows
    assert errors(check(with_rare_class(customers, 10))) == []


def test_larger_test_share_lets_a_rarer_class_pass(customers: pd.DataFrame) -> None:
    # 5 rows x 40% = 2 test rows
    assert errors(check(with_rare_class(customers, 5), test_fraction=0.4)) == []


def test_class_with_one_row_in_the_test_file_is_a_warning(customers: pd.DataFrame) -> None:
    # the user chose this test file: train, but say the class cannot be measured
    train = with_rare_class(customers.iloc[:150], 30)
    test = with_rare_class(customers.iloc[150:], 1)

    findings = check(train, test)

    assert errors(findings) == []
    warnings = [f.message for f in findings if f.level == "warning"]
    assert any("'maybe' (1 test rows)" in message for message in warnings)


def test_test_file_class_unseen_in_training_is_an_error(customers: pd.DataFrame) -> None:
    test = with_rare_class(customers.iloc[150:], 3)

    findings = errors(check(customers.iloc[:150], test))

    assert [f.message for f in findings] == [
        "The test file has classes that the training file never shows: maybe."
    ]


def test_test_file_without_an_input_column_is_an_error(customers: pd.DataFrame) -> None:
    test = customers.iloc[150:].drop(columns=["tenure"])

    findings = errors(check(customers.iloc[:150], test))

    assert len(findings) == 1
    assert "tenure" in findings[0].message


# --- input columns ---------------------------------------------------------------------------


def test_column_with_no_values_is_warned_and_left_out(customers: pd.DataFrame) -> None:
    frame = customers.assign(notes=np.nan)

    findings = check(frame)

    assert errors(findings) == []
    assert [f for f in findings if f.level == "warning"] == [
        Finding("warning", "Column 'notes' is left out: no values at all.", column="notes")
    ]


def test_only_unusable_inputs_is_an_error(customers: pd.DataFrame) -> None:
    frame = customers[["customer_id", "churn"]].assign(notes=np.nan)

    findings = errors(check(frame))

    assert [f.message for f in findings] == ["No column besides 'churn' can be used as an input."]


def test_excluded_column_that_does_not_exist_is_named(customers: pd.DataFrame) -> None:
    findings = errors(check(customers, exclude=["tenur"]))

    assert [f.message for f in findings] == [
        "Column(s) named in the options are not in the data: tenur."
    ]


def test_feature_columns_never_include_the_target_or_exclusions(
    customers: pd.DataFrame,
) -> None:
    spec = parse_spec({"data": {"target": "churn"}, "options": {"exclude": ["region"]}})

    columns = feature_columns(customers, spec)

    assert columns == ["customer_id", "tenure", "plan", "monthly", "paperless", "signup"]


def test_class_with_one_training_row_and_a_test_file_is_an_error(customers: pd.DataFrame) -> None:
    train = with_rare_class(customers.iloc[:150], 1)
    test = with_rare_class(customers.iloc[150:], 3)

    findings = errors(check(train, test))

    assert len(findings) == 1
    assert "'maybe' (1 rows)" in findings[0].message
    assert "in the training file" in findings[0].message


def test_integer_classes_match_when_one_file_has_a_blank_target(customers: pd.DataFrame) -> None:
    # a 0/1 target with one blank cell is read as 0.0/1.0; the other file stays 0/1
    train = customers.iloc[:150].assign(
        churn=(customers.iloc[:150]["churn"] == "yes").astype(float)
    )
    train.loc[train.index[0], "churn"] = np.nan
    test = customers.iloc[150:].assign(churn=(customers.iloc[150:]["churn"] == "yes").astype(int))

    assert errors(check(train, test)) == []
