"""Forms generated from the spec models, and the Train page's spec assembly."""

from __future__ import annotations

import pytest

from dlstudio.errors import SpecError
from dlstudio.views.forms import advanced_fields, build_spec, parse_int_list

ROLES = {"role_paths": {"target": "data.target"}}


def by_path(task: str = "tabular_classification") -> dict:
    return {field.path: field for field in advanced_fields(task)}


def test_fields_carry_kind_default_limits_and_description_from_the_schema() -> None:
    fields = by_path()
    assert fields["training.epochs"].kind == "int" and fields["training.epochs"].optional
    assert (fields["training.epochs"].minimum, fields["training.epochs"].maximum) == (1, 10_000)
    assert fields["options.class_weight"].choices == ("auto", "balanced", "none")
    assert fields["options.class_weight"].default == "auto"
    assert fields["options.exclude"].kind == "columns"
    assert fields["options.hidden_sizes"].kind == "int_list"
    assert fields["options.test_fraction"].default == 0.2
    assert "early stopping" in fields["options.val_fraction"].description
    assert "training.preset" not in fields  # asked as its own step
    assert all(field.description for field in fields.values())


def test_spec_keeps_only_what_the_user_changed() -> None:
    spec = build_spec(
        "tabular_classification", dataset="churn@abc", roles={"target": "churned"}, preset="fast",
        advanced={"training.epochs": 3, "training.seed": 42, "options.exclude": [],
                  "options.dropout": None, "options.class_weight": "balanced"},
        **ROLES,
    )  # fmt: skip
    assert spec.data.dataset == "churn@abc" and spec.data.target == "churned"
    assert spec.training.preset == "fast" and spec.training.epochs == 3
    assert spec.options.class_weight == "balanced" and spec.options.dropout is None


def test_an_invalid_choice_is_explained_naming_the_field() -> None:
    with pytest.raises(SpecError, match="test_fraction"):
        build_spec(
            "tabular_classification", dataset="d", roles={"target": "y"}, preset="fast",
            advanced={"options.test_fraction": 0.9}, **ROLES,
        )  # fmt: skip


def test_layer_sizes_are_read_from_text() -> None:
    assert parse_int_list("256, 128") == [256, 128]
    assert parse_int_list("  ") is None
    with pytest.raises(ValueError, match="whole numbers"):
        parse_int_list("256, big")


def test_fields_asked_as_column_roles_are_left_out_of_the_advanced_options() -> None:
    roles = {"options.time_column", "options.series_column"}
    fields = {field.path: field for field in advanced_fields("forecasting", asked=roles)}
    assert not roles & set(fields)
    assert fields["options.covariates"].kind == "columns"  # a multiselect over the columns
    assert fields["options.frequency"].default == "auto"
    assert set(by_path("forecasting")) - set(fields) == roles  # nothing else goes


def test_a_forecasting_spec_without_a_series_column_leaves_it_empty() -> None:
    spec = build_spec(
        "forecasting", dataset="sales@abc", preset="fast",
        roles={"target": "units", "time_column": "month", "series_column": None},
        role_paths={"target": "data.target", "time_column": "options.time_column",
                    "series_column": "options.series_column"},
        advanced={"options.covariates": ["promo"], "options.horizon": None},
    )  # fmt: skip
    assert (spec.data.target, spec.options.time_column) == ("units", "month")
    assert spec.options.series_column is None
    assert spec.options.covariates == ["promo"] and spec.options.horizon is None
