"""profile_table: per-column kinds, gaps and examples, and the target's class balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlstudio.data.profile import profile_table
from dlstudio.errors import DataError


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": np.arange(10),
            "plan": ["basic", "plus", "basic", " ", "plus", "basic", None, "plus", "pro", "basic"],
            "monthly": [10.0, 20.5, np.nan, 15.0, 12.0, 30.0, 11.0, 19.0, 50.0, 10.0],
            "churn": ["yes", "no", "no", "no", "yes", "no", "no", "yes", "no", "no"],
        }
    )


def test_profile_counts_rows_and_columns(customers: pd.DataFrame) -> None:
    profile = profile_table(customers)

    assert (profile.n_rows, profile.n_columns) == (10, 4)
    assert profile.names == ["customer_id", "plan", "monthly", "churn"]


def test_each_column_gets_its_kind(customers: pd.DataFrame) -> None:
    profile = profile_table(customers)

    assert [c.kind for c in profile.columns] == ["id", "categorical", "numeric", "boolean"]


def test_missing_pct_counts_blank_text_as_missing(customers: pd.DataFrame) -> None:
    plan = profile_table(customers).column("plan")

    assert plan.missing_pct == pytest.approx(20.0)
    assert plan.distinct == 3


def test_examples_are_up_to_three_distinct_values_as_text(customers: pd.DataFrame) -> None:
    profile = profile_table(customers)

    assert profile.column("plan").examples == ("basic", "plus", "pro")
    assert profile.column("monthly").examples == ("10", "20.5", "15")


def test_without_target_there_is_no_balance(customers: pd.DataFrame) -> None:
    profile = profile_table(customers)

    assert (profile.target, profile.target_balance) == (None, None)


def test_class_target_gets_its_balance_most_frequent_first(customers: pd.DataFrame) -> None:
    profile = profile_table(customers, target="churn")

    assert profile.target == "churn"
    assert profile.target_balance == {"no": 7, "yes": 3}


def test_quantity_target_has_no_balance() -> None:
    frame = pd.DataFrame({"revenue": np.linspace(0, 100, 50)})

    assert profile_table(frame, target="revenue").target_balance is None


def test_unknown_target_suggests_the_closest_column(customers: pd.DataFrame) -> None:
    with pytest.raises(DataError) as caught:
        profile_table(customers, target="churned")

    assert caught.value.message == "The target column 'churned' is not in the table."
    assert caught.value.fix is not None and caught.value.fix.startswith("Did you mean 'churn'?")


def test_to_frame_has_one_row_per_column(customers: pd.DataFrame) -> None:
    table = profile_table(customers, target="churn").to_frame()

    assert table["column"].tolist() == ["customer_id", "plan", "monthly", "churn"]
    assert table["target"].tolist() == [False, False, False, True]
    assert table.loc[1, "examples"] == "basic, plus, pro"
    assert table.loc[2, "missing_pct"] == 10.0
