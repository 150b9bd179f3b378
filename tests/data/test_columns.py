"""Column typing: each kind, its reason, and conversions that agree with the typing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlstudio.data.columns import (
    date_format_of,
    infer_column_type,
    to_boolean,
    to_datetime,
    to_numeric,
)


def kind_of(values: list[object] | np.ndarray, name: str = "col") -> str:
    return infer_column_type(pd.Series(values, name=name)).kind


def test_all_missing_is_empty() -> None:
    column = infer_column_type(pd.Series([None, " ", ""], name="notes"))

    assert (column.name, column.kind, column.reason) == ("notes", "empty", "no values at all")


def test_one_value_is_constant_and_quoted() -> None:
    column = infer_column_type(pd.Series(["x", "x", None], name="flag"))

    assert (column.kind, column.reason) == ("constant", "only one value: 'x'")


def test_yes_no_in_any_case_is_boolean() -> None:
    assert kind_of(["Yes", "no", "YES", "No", None]) == "boolean"


def test_zero_one_numbers_are_boolean() -> None:
    assert kind_of([0, 1, 1, 0, 1]) == "boolean"


def test_bool_dtype_is_boolean() -> None:
    assert kind_of([True, False, True]) == "boolean"


def test_two_unrelated_words_are_categorical() -> None:
    assert kind_of(["yes", "false", "yes"]) == "categorical"


def test_numbers_are_numeric() -> None:
    column = infer_column_type(pd.Series([1.5, 2.0, 3.25, np.nan], name="price"))

    assert (column.kind, column.reason) == ("numeric", "numbers")


def test_unique_integers_named_like_an_id_are_id() -> None:
    for name in ["id", "customer_id", "customerID", "OrderId", "uuid", "key", "order no"]:
        assert kind_of(np.arange(100), name=name) == "id", name


def test_unique_integers_with_an_ordinary_name_are_numeric() -> None:
    assert kind_of(np.arange(100), name="valid") == "numeric"


def test_numbers_stored_as_text_count_blanks_as_missing() -> None:
    values = [str(i) for i in range(100)] + [" "] * 11

    column = infer_column_type(pd.Series(values, name="amount"))

    assert column.kind == "numeric"
    assert column.reason == "numbers stored as text; 11 blank values treated as missing"


def test_numbers_as_text_name_the_values_that_are_not_numbers() -> None:
    values = [f"{i}.5" for i in range(99)] + ["unknown"]

    column = infer_column_type(pd.Series(values, name="amount"))

    assert column.kind == "numeric"
    assert "1 values that are not numbers (like 'unknown')" in column.reason


def test_iso_dates_as_text_are_datetime() -> None:
    values = pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d").tolist()

    column = infer_column_type(pd.Series(values, name="day"))

    assert (column.kind, column.reason) == ("datetime", "dates written as text, like '2024-01-01'")


def test_day_first_dates_are_datetime() -> None:
    assert kind_of(["03/02/2024", "25/12/2023", "13/01/2024"]) == "datetime"


def test_plain_numbers_are_never_dates() -> None:
    assert kind_of(["2019", "2020", "2021", "2022"], name="year") == "numeric"


def test_datetime_dtype_is_datetime() -> None:
    assert kind_of(pd.date_range("2024-01-01", periods=5)) == "datetime"


def test_few_repeated_words_are_categorical() -> None:
    column = infer_column_type(pd.Series(["north", "south", "east"] * 40, name="region"))

    assert (column.kind, column.reason) == ("categorical", "3 categories")


def test_unique_short_codes_are_id() -> None:
    column = infer_column_type(pd.Series([f"C{i:05d}" for i in range(200)], name="customer"))

    assert (column.kind, column.reason) == ("id", "every value is different, like an ID")


def test_long_unique_sentences_are_text() -> None:
    values = [f"Customer {i} wrote that the delivery was late again" for i in range(200)]

    column = infer_column_type(pd.Series(values, name="comment"))

    assert (column.kind, column.reason) == ("text", "free text (long, mostly unique values)")


def test_to_numeric_turns_blanks_and_words_into_nan() -> None:
    result = to_numeric(pd.Series([" 1.5", "", "x", "2"]))

    assert result.dtype == "float64"
    assert result.tolist()[0] == 1.5 and result.tolist()[3] == 2.0
    assert result.isna().tolist() == [False, True, True, False]


def test_to_boolean_maps_yes_no_case_insensitively() -> None:
    result = to_boolean(pd.Series(["Yes", " no", "YES", None, ""]))

    assert result.dtype == "float64"
    assert result.fillna(-1).tolist() == [1.0, 0.0, 1.0, -1.0, -1.0]


def test_to_boolean_keeps_zero_one_numbers() -> None:
    assert to_boolean(pd.Series([0, 1, 1])).tolist() == [0.0, 1.0, 1.0]


def test_to_datetime_uses_the_day_first_format_the_typing_chose() -> None:
    result = to_datetime(pd.Series(["03/02/2024", "25/12/2023", " "]))

    assert result.iloc[0] == pd.Timestamp("2024-02-03")
    assert result.iloc[1] == pd.Timestamp("2023-12-25")
    assert pd.isna(result.iloc[2])


def test_boolean_values_convert_one_by_one_for_a_single_row_batch() -> None:
    # given rows to score that hold only one of the two values (or a stray third one)
    # then each converts as in training instead of the whole column turning missing
    assert to_boolean(pd.Series(["Yes"])).tolist() == [1.0]
    assert to_boolean(pd.Series([1, 1])).tolist() == [1.0, 1.0]
    assert to_boolean(pd.Series(["no ", "maybe", None])).tolist()[0] == 0.0
    assert np.isnan(to_boolean(pd.Series(["maybe"])).iloc[0])


def test_saved_date_format_reads_an_ambiguous_row_day_first() -> None:
    training = pd.Series(["25/12/2024", "01/02/2024", "13/05/2023"])
    date_format = date_format_of(training)
    parsed = to_datetime(pd.Series(["03/04/2024"]), date_format=date_format)
    assert (parsed.dt.month.iloc[0], parsed.dt.day.iloc[0]) == (4, 3)


def test_infinities_become_missing_numbers() -> None:
    assert np.isnan(to_numeric(pd.Series([1.0, np.inf, -np.inf])).iloc[1:]).all()


def test_zero_one_numbers_keep_their_meaning() -> None:
    assert to_boolean(pd.Series([1, 0, 1])).tolist() == [1.0, 0.0, 1.0]
    converted = to_boolean(pd.Series([0.0, 1.0, None]))
    assert converted.iloc[:2].tolist() == [0.0, 1.0] and np.isnan(converted.iloc[2])
