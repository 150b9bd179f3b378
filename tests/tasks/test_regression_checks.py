"""Regression checks: each bad table gives one plain finding that names the column; errors block,
warnings do not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlstudio.data.checks import Finding
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.regression.checks import check_regression_table
from dlstudio.tasks.regression.options import TabularRegressionSpec


def houses(n: int = 120, *, seed: int = 0) -> pd.DataFrame:
    """A small house-price table: two numbers, a category, and the price they explain."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(40, 200, n).round(1)
    rooms = rng.integers(1, 6, n)
    district = rng.choice(["old town", "harbour", "hills"], n)
    price = 2_000 * area + 5_000 * rooms + rng.normal(0, 10_000, n)
    return pd.DataFrame(
        {"area": area, "rooms": rooms, "district": district, "price": price.round(2)}
    )


def check(
    frame: pd.DataFrame,
    test_frame: pd.DataFrame | None = None,
    *,
    target: str = "price",
    **options: object,
) -> list[Finding]:
    spec = TabularRegressionSpec.model_validate(
        {
            "task": "tabular_regression",
            "data": {"path": "x.csv", "target": target},
            "options": options,
        }
    )
    return check_regression_table(TrainingData(frame, test_frame), spec)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def the_error(findings: list[Finding]) -> Finding:
    (error,) = errors(findings)
    return error


def test_a_clean_table_has_no_findings() -> None:
    assert check(houses()) == []


def test_a_missing_target_column_is_named_with_a_close_match() -> None:
    error = the_error(check(houses(), target="prise"))

    assert error.message == "The target column 'prise' is not in the data."
    assert "Did you mean 'price'?" in error.fix


def test_numbers_written_with_a_decimal_comma_are_quoted_with_their_count() -> None:
    frame = houses().astype({"price": object})
    frame.loc[[3, 7], "price"] = ["12,5", "n/a"]

    error = the_error(check(frame))

    assert error.column == "price"
    assert "'price'" in error.message
    assert "not numbers in 2 of 120 rows, e.g. '12,5', 'n/a'" in error.message
    assert "12.5, not 12,5" in error.fix


def test_a_target_of_words_points_to_the_classification_template() -> None:
    frame = houses().assign(price=lambda f: f["district"])

    error = the_error(check(frame))

    assert "The target column 'price' in the data holds text, not numbers" in error.message
    assert "Tabular classification template" in error.fix


def test_an_empty_target_column_is_an_error() -> None:
    frame = houses().assign(price=np.nan)

    error = the_error(check(frame))

    assert error.message == "The target column 'price' in the data has no values at all."


def test_a_constant_target_has_nothing_to_predict() -> None:
    error = the_error(check(houses().assign(price=250_000.0)))

    assert error.column == "price"
    assert "holds one value (250000) in every row" in error.message


def test_infinite_target_values_are_counted() -> None:
    frame = houses()
    frame.loc[[0, 5, 9], "price"] = [np.inf, -np.inf, np.inf]

    error = the_error(check(frame))

    assert error.message == "The target column 'price' in the data is infinite in 3 row(s)."


@pytest.mark.parametrize("distinct", [2, 5, 10])
def test_a_target_with_a_few_values_looks_like_classification(distinct: int) -> None:
    frame = houses().assign(price=lambda f: np.arange(len(f)) % distinct)

    error = the_error(check(frame))

    assert f"'price' holds only {distinct} different values" in error.message
    assert "looks like classification" in error.message
    assert "Tabular classification template" in error.fix


def test_eleven_values_are_a_number_to_estimate() -> None:
    frame = houses().assign(price=lambda f: np.arange(len(f)) % 11)

    assert errors(check(frame)) == []


def test_missing_targets_are_a_warning_that_those_rows_are_dropped() -> None:
    frame = houses()
    frame.loc[:5, "price"] = np.nan

    findings = check(frame)

    assert findings == [
        Finding(
            "warning",
            "6 row(s) have no value in the target column 'price'; they will be dropped.",
            "Fill in the target for those rows if you want them used.",
            "price",
        )
    ]


def test_too_few_rows_to_split_says_how_many_are_needed() -> None:
    error = the_error(check(houses(30)))

    assert error.column == "price"
    assert error.message.startswith("Only 30 row(s) have a target value; at least 34 are needed")


def test_with_a_test_file_fewer_rows_are_needed() -> None:
    assert errors(check(houses(40), houses(10, seed=1))) == []
    assert "at least 34" not in str(check(houses(30), houses(10, seed=1)))


def test_an_input_that_copies_the_target_is_a_leak_to_exclude() -> None:
    frame = houses().assign(price_copy=lambda f: f["price"])

    error = the_error(check(frame))

    assert error.column == "price_copy"
    assert "Column 'price_copy' holds the same values as the target 'price'" in error.message
    assert error.fix == "Exclude 'price_copy' from the inputs (options.exclude)."


def test_two_columns_that_add_up_to_the_target_are_named() -> None:
    rng = np.random.default_rng(1)
    casual = rng.integers(0, 300, 200)
    registered = rng.integers(0, 900, 200)
    frame = pd.DataFrame(
        {
            "temp": rng.normal(20, 5, 200).round(1),
            "casual": casual,
            "hour": rng.integers(0, 24, 200),
            "registered": registered,
            "cnt": casual + registered,
        }
    )

    error = the_error(check(frame, target="cnt"))

    assert "'casual' + 'registered' add up to the target 'cnt'" in error.message
    assert error.fix == "Exclude 'casual', 'registered' from the inputs (options.exclude)."


def test_three_columns_that_add_up_to_the_target_are_named() -> None:
    frame = houses().assign(
        land=lambda f: f["price"] * 0.3,
        build=lambda f: f["price"] * 0.5,
        fees=lambda f: f["price"] * 0.2,
    )

    error = the_error(check(frame))

    assert "'land' + 'build' + 'fees' add up to the target 'price'" in error.message


def test_a_sum_that_holds_on_a_few_rows_only_is_no_leak() -> None:
    frame = houses().assign(part=lambda f: f["price"] - f["area"])
    frame.loc[:10, "part"] += 1.0  # off on 11 of 120 rows: a coincidence, not a leak

    assert errors(check(frame)) == []


def test_a_test_file_with_text_in_the_target_is_named() -> None:
    test = houses(20, seed=2).astype({"price": object})
    test.loc[0, "price"] = "about 300k"

    error = the_error(check(houses(), test))

    assert "'price' in the test file has values that are not numbers" in error.message
    assert "'about 300k'" in error.message


def test_a_test_file_without_the_target_column_is_an_error() -> None:
    test = houses(20, seed=2).drop(columns="price")

    error = the_error(check(houses(), test))

    assert error.message == "The target column 'price' is not in the test file."
