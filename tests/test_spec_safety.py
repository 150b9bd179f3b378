"""A spec cannot reach outside its folders or blow up when read (security issue 23): experiment
names that would be paths, and YAML aliases that expand a few bytes into gigabytes."""

from __future__ import annotations

import time

import pytest

from dlstudio.errors import SpecError
from dlstudio.spec import apply_overrides, load_spec, parse_spec, read_spec_yaml

# 9 levels of 9 aliases: 9**9 (387 million) list items once expanded, in under 500 bytes
BILLION_LAUGHS = "\n".join(
    ["a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["task: tabular_classification"]
)


def tracking(experiment: str) -> dict:
    return {"data": {"path": "a.csv", "target": "y"}, "tracking": {"experiment": experiment}}


@pytest.mark.parametrize(
    "name",
    ["..", "../../etc", "a/../../b", "/tmp/x", "runs\\..\\x", "a..b", ".", "", " x", "x" * 201],
)
def test_an_experiment_name_that_would_be_a_path_is_refused(name: str) -> None:
    # when a spec names its experiment so that its files would go elsewhere
    with pytest.raises(SpecError) as error:
        parse_spec(tracking(name))

    # then it is refused, naming the field and what a name may hold
    assert "tracking.experiment" in error.value.message
    assert "letters, digits, spaces, '.', '_' or '-'" in error.value.message


@pytest.mark.parametrize("name", ["dlstudio", "Churn model 2024", "team-a.v2_final", "x" * 200])
def test_ordinary_experiment_names_are_accepted(name: str) -> None:
    assert parse_spec(tracking(name)).tracking.experiment == name


def test_a_spec_with_yaml_aliases_is_refused_before_it_expands(tmp_path) -> None:
    # given a spec of under 500 bytes whose aliases would expand to 387 million items
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert path.stat().st_size < 500

    # when it is read
    started = time.perf_counter()
    with pytest.raises(SpecError) as error:
        load_spec(path)

    # then it is refused at the first alias, at once, saying where
    assert time.perf_counter() - started < 1
    assert error.value.message == (
        f"spec file {str(path)!r}, line 2: YAML aliases (*a0) are not allowed in a spec"
    )
    assert "*a0" in error.value.fix


def test_a_yaml_merge_key_is_an_alias_too(tmp_path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "base: &base {epochs: 5}\ntraining:\n  <<: *base\n  preset: fast\n", encoding="utf-8"
    )

    with pytest.raises(SpecError, match=r"line 3: YAML aliases \(\*base\) are not allowed"):
        read_spec_yaml(path)


def test_an_anchor_without_an_alias_still_reads(tmp_path) -> None:
    path = tmp_path / "anchor.yaml"
    path.write_text("task: tabular_classification\ntraining: &t {epochs: 3}\n", encoding="utf-8")

    assert read_spec_yaml(path) == {"task": "tabular_classification", "training": {"epochs": 3}}


def test_an_override_with_yaml_aliases_is_refused() -> None:
    with pytest.raises(SpecError, match=r"--set 'options\.x=\[&a \[1\], \*a\]', line 1: YAML"):
        apply_overrides({}, ["options.x=[&a [1], *a]"])
