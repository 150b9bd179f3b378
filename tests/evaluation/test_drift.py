"""Per-column drift between the champion's training data and a retrain's data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dlstudio.evaluation import drift as dr


def _normal(mean: float, *, n: int = 2000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, n)


def _sentences(n: int, words: int, *, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocabulary = [f"word{i}" for i in range(500)]
    return [" ".join(rng.choice(vocabulary, size=words + i % 3)) for i in range(n)]


def test_identical_tables_have_zero_psi_and_no_shift() -> None:
    table = pd.DataFrame({"tenure": _normal(10), "plan": ["basic", "pro", "pro", "team"] * 500})
    report = dr.drift_summary(table, table.copy())
    assert [d.psi for d in report.columns] == [0.0, 0.0]
    assert [d.severity for d in report.columns] == ["none", "none"]
    assert report.columns[0].ks == 0.0 and report.columns[0].p_value == pytest.approx(1.0)
    assert not report.large_shift
    assert report.summary() == "No column shifted (2 columns compared)."


def test_numeric_psi_matches_a_hand_computation() -> None:
    # reference 1..10: one value per decile bin (10% each); the current counts per bin below
    current = [1] * 4 + [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 10]
    report = dr.drift_summary(pd.DataFrame({"x": range(1, 11)}), pd.DataFrame({"x": current}))
    # bins: 20% vs 10% once, 5% vs 10% twice, the rest equal; the missing bin is empty on both sides
    expected = (0.2 - 0.1) * math.log(2) + 2 * (0.05 - 0.1) * math.log(0.5)
    assert report.columns[0].psi == pytest.approx(expected, abs=1e-12)  # 0.1386
    assert report.columns[0].severity == "moderate"
    assert report.columns[0].note == "mean 5.5 -> 4.8"


def test_categorical_psi_and_total_variation_match_a_hand_computation() -> None:
    reference = pd.DataFrame({"plan": ["a", "a", "b", "b"]})
    current = pd.DataFrame({"plan": ["a", "a", "a", "b"]})
    (plan,) = dr.drift_summary(reference, current).columns
    assert plan.kind == "categorical"
    assert plan.psi == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2), abs=1e-12)
    assert plan.tvd == pytest.approx(0.25)
    assert plan.note == "'a' 50% -> 75%"


def test_psi_floors_empty_bins_at_epsilon() -> None:
    psi = dr.population_stability_index(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.4, 0.1]))
    expected = (0.4 - 0.5) * math.log(0.8) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert psi == pytest.approx(expected)


@pytest.mark.parametrize(
    ("psi", "severity"),
    [(0.0, "none"), (0.0999, "none"), (0.1, "moderate"), (0.2499, "moderate"), (0.25, "large")],
)
def test_severity_follows_the_psi_rule_of_thumb(psi: float, severity: str) -> None:
    assert dr.severity_of(psi) == severity


def test_a_mean_shift_of_one_standard_deviation_is_large() -> None:
    reference = pd.DataFrame({"tenure": _normal(0.0, seed=1)})
    current = pd.DataFrame({"tenure": _normal(1.0, seed=2)})
    report = dr.drift_summary(reference, current)
    (tenure,) = report.columns
    assert tenure.severity == "large" and tenure.psi > 0.5
    assert tenure.ks == pytest.approx(0.38, abs=0.05) and tenure.p_value < 1e-10
    assert tenure.current_mean - tenure.reference_mean == pytest.approx(1.0, abs=0.1)
    assert report.large_shift and report.large_shift_columns == ("tenure",)


def test_a_small_mean_shift_is_not_large() -> None:
    reference = pd.DataFrame({"tenure": _normal(0.0, seed=1)})
    current = pd.DataFrame({"tenure": _normal(0.05, seed=2)})
    (tenure,) = dr.drift_summary(reference, current).columns
    assert tenure.severity == "none" and 0 < tenure.psi < 0.1


def test_new_categories_are_counted_with_examples_by_frequency() -> None:
    reference = pd.DataFrame({"plan": ["basic", "pro"] * 10})
    current = pd.DataFrame({"plan": ["basic", "pro"] * 8 + ["team", "team", "trial", "team"]})
    (plan,) = dr.drift_summary(reference, current).columns
    assert plan.new_categories == 2 and plan.new_examples == ("team", "trial")
    assert "2 new categories (20% of values), e.g. 'team', 'trial'" in plan.note
    assert plan.severity == "large"  # 20% of rows in a bin the reference never filled


def test_missing_shares_count_blanks_as_missing() -> None:
    reference = pd.DataFrame({"age": [30.0, 40.0, None, 50.0], "city": ["a", "b", "a", "b"]})
    current = pd.DataFrame({"age": [30.0, 40.0, 35.0, 50.0], "city": ["a", " ", None, "b"]})
    age, city = dr.drift_summary(reference, current).columns
    assert (age.missing_reference, age.missing_current) == (0.25, 0.0)
    assert (city.missing_reference, city.missing_current) == (0.0, 0.5)
    assert "missing 0% -> 50%" in city.note


def test_whole_number_floats_read_as_the_same_categories_as_ints() -> None:
    reference = pd.DataFrame({"churned": [0, 1, 0, 1]})
    current = pd.DataFrame({"churned": [0.0, 1.0, None, 1.0]})  # a NaN turns the ints into floats
    (churned,) = dr.drift_summary(reference, current).columns
    assert churned.kind == "categorical" and churned.new_categories == 0


def test_columns_in_one_table_only_are_listed_not_compared() -> None:
    reference = pd.DataFrame({"tenure": [1, 2, 3], "fax": ["a", "b", "c"]})
    current = pd.DataFrame({"tenure": [1, 2, 3], "app_user": [True, False, True]})
    report = dr.drift_summary(reference, current)
    assert [d.column for d in report.columns] == ["tenure"]
    assert (report.added, report.removed) == (("app_user",), ("fax",))
    assert report.summary() == (
        "No column shifted (1 column compared); 1 new column: app_user; 1 column gone: fax."
    )


def test_columns_limits_the_comparison_and_unknown_names_fail() -> None:
    table = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert [d.column for d in dr.drift_summary(table, table, columns=["b"]).columns] == ["b"]
    with pytest.raises(ValueError, match=r"\['nope'\] are in neither table"):
        dr.drift_summary(table, table, columns=["nope"])


def test_a_type_change_is_a_large_shift() -> None:
    reference = pd.DataFrame({"amount": [10.5, 20.0, 30.25]})
    current = pd.DataFrame({"amount": ["ten", "twenty", "thirty"]})
    report = dr.drift_summary(reference, current)
    (amount,) = report.columns
    assert amount.severity == "large" and amount.psi is None
    assert amount.note == "type changed: numbers in the reference, text now"
    assert report.summary() == "1 of 1 column shifted a lot: amount."


def test_the_target_is_a_class_mix_flagged_apart_from_the_inputs() -> None:
    reference = pd.DataFrame({"tenure": range(10), "churn": ["no"] * 8 + ["yes"] * 2})
    current = pd.DataFrame({"tenure": range(10), "churn": ["no"] * 5 + ["yes"] * 5})
    report = dr.drift_summary(reference, current, target="churn")
    assert [d.column for d in report.columns] == ["tenure"] and not report.large_shift
    assert report.target is not None and report.target.kind == "label"
    assert report.target.psi == pytest.approx(0.3 * math.log(4))  # 0.3 ln 1.6 + 0.3 ln 2.5
    assert report.label_mix_changed and report.target.severity == "large"
    assert report.summary() == (
        "No column shifted (1 column compared); the label mix changed (churn: 'yes' 20% -> 50%)."
    )


def test_a_numeric_target_with_many_values_is_compared_as_a_quantity() -> None:
    reference = pd.DataFrame({"price": _normal(100.0, n=200)})
    current = pd.DataFrame({"price": _normal(103.0, n=200, seed=1)})
    report = dr.drift_summary(reference, current, target="price")
    assert report.columns == () and report.target is not None
    assert report.target.kind == "numeric" and report.target.severity == "large"
    assert report.summary().startswith("No shared input columns to compare; the target shifted")


def test_label_shift_of_image_class_folders() -> None:
    shift = dr.label_shift(["cat"] * 5 + ["dog"] * 5, ["cat"] * 6 + ["bird"] * 4)
    assert shift.reference_shares == {"cat": 0.5, "dog": 0.5, "bird": 0.0}
    assert (shift.new_labels, shift.gone_labels) == (("bird",), ("dog",))
    assert shift.tvd == pytest.approx(0.5)
    # cat 50% -> 60%; dog 50% -> 0% and bird 0% -> 40%, each empty share floored at 1e-4
    expected = (
        0.1 * math.log(1.2)
        + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
        + (0.4 - 1e-4) * math.log(0.4 / 1e-4)
    )
    assert shift.psi == pytest.approx(expected) and shift.severity == "large"
    assert shift.note() == "'dog' 50% -> 0%; 1 new class: 'bird'; no longer seen: 'dog'"
    with pytest.raises(ValueError, match="current labels are empty"):
        dr.label_shift(["cat"], [])


def test_free_text_is_compared_by_number_of_words() -> None:
    reference = pd.DataFrame({"review": _sentences(100, 5, seed=0)})
    current = pd.DataFrame({"review": _sentences(100, 15, seed=1)})
    (review,) = dr.drift_summary(reference, current).columns
    assert review.kind == "text" and review.severity == "large"
    assert review.reference_mean == pytest.approx(5.99)  # 5 + (0, 1, 2 repeating) words
    assert review.note == "mean words 6.0 -> 16.0"


def test_dates_are_compared_as_numbers_so_a_later_period_is_large() -> None:
    reference = pd.DataFrame({"signup": pd.date_range("2023-01-01", periods=365, freq="D")})
    current = pd.DataFrame({"signup": pd.date_range("2024-01-01", periods=181, freq="D")})
    (signup,) = dr.drift_summary(reference, current).columns
    assert signup.kind == "datetime" and signup.severity == "large" and signup.ks == 1.0
    assert signup.note == "dates 2023-01-01..2023-12-31 -> 2024-01-01..2024-06-29"


def test_all_missing_columns() -> None:
    reference = pd.DataFrame({"empty": [None] * 4, "score": [1.0, 2.0, 3.0, 4.0]})
    current = pd.DataFrame({"empty": [None] * 4, "score": [np.nan] * 4})
    empty, score = dr.drift_summary(reference, current).columns
    assert (empty.kind, empty.severity, empty.note) == (
        "empty",
        "none",
        "no values in either table",
    )
    assert score.kind == "numeric" and score.severity == "large"
    assert score.missing_current == 1.0 and score.ks is None and score.current_mean is None
    assert score.note == "mean 2.5 -> (no values); missing 0% -> 100%"


def test_constant_columns() -> None:
    reference = pd.DataFrame({"fee": [5.0] * 20, "country": ["NL"] * 20})
    same = dr.drift_summary(reference, reference.copy())
    assert [(d.kind, d.psi) for d in same.columns] == [("numeric", 0.0), ("categorical", 0.0)]
    moved = dr.drift_summary(reference, pd.DataFrame({"fee": [5.0] * 10 + [7.0] * 10}))
    assert moved.columns[0].severity == "large"  # half the rows above the only value seen


def test_id_columns_are_not_compared() -> None:
    reference = pd.DataFrame({"customer_id": range(100)})
    current = pd.DataFrame({"customer_id": range(500, 600)})
    (customer,) = dr.drift_summary(reference, current).columns
    assert (customer.kind, customer.severity, customer.psi) == ("id", "none", None)


def test_an_empty_table_is_refused_with_a_message() -> None:
    reference = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match="current table has no rows"):
        dr.drift_summary(reference, reference.iloc[:0])


def test_frame_and_json_are_plain_and_deterministic() -> None:
    reference = pd.DataFrame(
        {"tenure": _normal(0.0), "plan": ["a", "b"] * 1000, "churn": ["y", "n", "n", "n"] * 500}
    )
    current = pd.DataFrame(
        {"tenure": _normal(1.0, seed=3), "plan": ["a", "c"] * 1000, "churn": ["y", "n"] * 1000}
    )
    first = dr.drift_summary(reference, current, target="churn")
    second = dr.drift_summary(reference, current, target="churn")
    text = json.dumps(first.to_json(), allow_nan=False)
    assert text == json.dumps(second.to_json(), allow_nan=False)
    assert json.loads(text)["large_shift_columns"] == ["tenure", "plan"]
    frame = first.to_frame()
    assert list(frame.columns) == list(dr.FRAME_COLUMNS)
    assert frame[["column", "role", "severity"]].values.tolist() == [
        ["tenure", "feature", "large"],
        ["plan", "feature", "large"],
        ["churn", "target", "large"],
    ]
    assert first.summary().startswith("2 of 2 columns shifted a lot: tenure, plan; the label mix")
