"""The RunSpec YAML of wave 1 is a public contract: the README's examples, a spec written by the
version before the templates moved into packages, and the JSON schema all stay as they were.

tests/data/spec_wave1.yaml was written by ``dump_spec`` and tests/data/schema_wave1.json by
``dlstudio schema`` before the move (issue 15; the schema after it was the same, byte for byte).
A new template adds its own models to the schema, and a template may add options with defaults
(issue 16: the tabular network, ensemble and threshold options); what wave 1 wrote must keep
loading, mean the same, and keep every field it had.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from dlstudio.cli import main
from dlstudio.spec import dump_spec, load_spec, parse_spec
from dlstudio.tasks import task_names

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def readme_yaml_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```yaml\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_yaml_examples() -> None:
    assert readme_yaml_blocks()


@pytest.mark.parametrize("block", readme_yaml_blocks())
def test_every_yaml_example_of_the_readme_is_a_valid_spec(block: str) -> None:
    raw = yaml.safe_load(block)

    spec = parse_spec(raw)

    assert spec.task == raw.get("task", "tabular_classification")
    assert parse_spec(yaml.safe_load(dump_spec(spec))) == spec  # and it round-trips


def test_a_spec_written_by_wave_1_loads_and_is_written_back_byte_for_byte() -> None:
    written = (DATA / "spec_wave1.yaml").read_text(encoding="utf-8")

    spec = load_spec(DATA / "spec_wave1.yaml")

    assert spec.options.hidden_sizes == [64, 32]
    assert spec.tracking.promote_if == "test_f1_macro>=+0.005"
    rewritten = dump_spec(spec)
    assert _holds(yaml.safe_load(rewritten), yaml.safe_load(written))
    assert load_spec_text(rewritten) == spec


def load_spec_text(text: str):
    return parse_spec(yaml.safe_load(text))


def _holds(new: object, old: object) -> bool:
    """Whether ``new`` has every key of ``old`` with the same value (new keys are allowed)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            key in new and _holds(new[key], value) for key, value in old.items()
        )
    return new == old


def test_the_json_schema_holds_that_of_wave_1_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    """Byte for byte today; a later template may add its own models beside wave 1's, in order
    (key order is compared too: the JSON text of each definition)."""
    wave1 = json.loads((DATA / "schema_wave1.json").read_text(encoding="utf-8"))

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)

    for name, definition in wave1["$defs"].items():
        now = schema["$defs"].get(name)
        assert now is not None, name
        # a definition may gain optional properties; those it had stay as they were
        old_properties = definition.pop("properties", {})
        new_properties = now.pop("properties", {})
        for key, value in old_properties.items():
            assert json.dumps(new_properties[key]) == json.dumps(value), f"{name}.{key}"
        assert json.dumps(now) == json.dumps(definition), name
    mapping = schema["discriminator"]["mapping"]
    assert mapping == {**wave1["discriminator"]["mapping"], **mapping}
    # wave 1's templates keep their order; a new one may stand beside its kin (regression
    # after classification): the union is read by its discriminator, not by position
    assert [ref for ref in schema["oneOf"] if ref in wave1["oneOf"]] == wave1["oneOf"]
    assert schema["discriminator"]["propertyName"] == "task"


@pytest.mark.parametrize("task", task_names())
def test_each_template_brings_its_options_model_from_its_own_package(task: str) -> None:
    spec = parse_spec({"task": task})

    assert spec.task == task
    assert type(spec.options).__module__.startswith("dlstudio.tasks.")
    assert type(spec.options).__module__.endswith(".options")
