"""RunSpec: validation with helpful messages, YAML round trip, overrides, schema."""

from __future__ import annotations

import pytest

from dlstudio.errors import SpecError
from dlstudio.spec import (
    apply_overrides,
    dump_spec,
    flatten_spec,
    load_spec,
    parse_spec,
    spec_json_schema,
)


def test_minimal_spec_fills_every_default() -> None:
    spec = parse_spec({"data": {"path": "churn.csv", "target": "Churn"}})
    assert spec.task == "tabular_classification"
    assert spec.training.preset == "balanced"
    assert spec.training.seed == 42
    assert spec.options.class_weight == "auto"


def test_yaml_round_trip_gives_an_equal_spec(tmp_path) -> None:
    spec = parse_spec(
        {"data": {"path": "a.csv", "target": "y"}, "options": {"hidden_sizes": [64, 32]}}
    )
    path = tmp_path / "spec.yaml"
    path.write_text(dump_spec(spec), encoding="utf-8")
    assert load_spec(path) == spec
    assert dump_spec(spec).startswith("task: tabular_classification")


def test_spec_is_frozen() -> None:
    spec = parse_spec({})
    with pytest.raises(Exception, match=r"frozen"):
        spec.training.seed = 1  # type: ignore[misc]


def test_unknown_key_is_named_with_a_suggestion() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"training": {"epoch": 3}})
    assert "training.epoch: unknown key; did you mean 'epochs'?" in str(caught.value)


def test_bad_choice_lists_the_valid_options() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"training": {"preset": "slow"}})
    assert "training.preset: 'slow' is not allowed" in str(caught.value)
    assert "'fast', 'balanced' or 'best'" in str(caught.value)


def test_out_of_range_value_names_the_field() -> None:
    with pytest.raises(SpecError, match=r"options\.dropout: Input should be less than 1"):
        parse_spec({"options": {"dropout": 1.5}})


def test_image_task_parses_with_its_defaults() -> None:
    spec = parse_spec({"task": "image_classification", "data": {"path": "photos.zip"}})

    assert spec.options.channels == "auto"
    assert spec.options.augment == "auto"
    assert spec.options.image_size is None


def test_image_option_out_of_range_names_the_field() -> None:
    with pytest.raises(SpecError, match=r"options\.image_size: Input should be less than"):
        parse_spec({"task": "image_classification", "options": {"image_size": 4096}})


def test_path_and_dataset_together_are_refused() -> None:
    with pytest.raises(
        SpecError,
        match=r"give one of data\.path, data\.dataset or data\.query, not path and dataset",
    ):
        parse_spec({"data": {"path": "a.csv", "dataset": "sales"}})


def test_overrides_parse_values_as_yaml_scalars() -> None:
    raw = apply_overrides({}, ["training.epochs=5", "options.hidden_sizes=[8, 4]"])
    spec = parse_spec(raw)
    assert spec.training.epochs == 5
    assert spec.options.hidden_sizes == [8, 4]


def test_malformed_override_is_explained() -> None:
    with pytest.raises(SpecError, match=r"dotted.key=value"):
        apply_overrides({}, ["training.epochs"])


def test_yaml_that_is_a_list_is_refused(tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"mapping"):
        load_spec(path)


def test_every_field_has_a_description() -> None:
    schema = spec_json_schema()
    undocumented = [
        f"{model}.{name}"
        for model, body in schema["$defs"].items()
        for name, field in body.get("properties", {}).items()
        if not field.get("description")
    ]
    assert undocumented == []


def test_flatten_gives_dotted_params() -> None:
    flat = flatten_spec(parse_spec({"options": {"exclude": ["id"]}}))
    assert flat["training.preset"] == "balanced"
    assert flat["options.exclude"] == '["id"]'
