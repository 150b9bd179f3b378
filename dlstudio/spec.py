"""The one RunSpec: everything a training run needs, validated once, built from YAML, flags or forms.

A RunSpec is frozen and discriminated by ``task``. This module holds its envelope (data,
training, tracking) and reads, writes and validates it; each template contributes its own
``options`` model and task name from its package (``dlstudio/tasks/<template>/options.py``), and
the union of them is assembled from the template registry. Every field carries a default and a
description, which feed the CLI help, forms and docs.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from dlstudio.credentials import check_no_password, mask_url
from dlstudio.errors import SpecError
from dlstudio.tasks.registry import spec_models

Preset = Literal["fast", "balanced", "best"]
Device = Literal["auto", "cpu", "cuda", "mps"]


class FrozenModel(BaseModel):
    """Base of every spec section: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSpec(FrozenModel):
    """Where the data comes from and what to predict."""

    path: str | None = Field(
        default=None, description="Path of the data file (CSV, Excel .xlsx or Parquet)."
    )
    dataset: str | None = Field(
        default=None,
        description="A stored dataset instead of a path: 'name' (latest version) or 'name@version'.",
    )
    test_path: str | None = Field(
        default=None,
        description="Optional separate test file; when set, all of `path` is used for training.",
    )
    target: str | None = Field(
        default=None, description="Column to predict (the category, or the value to forecast)."
    )
    sheet: str | None = Field(
        default=None, description="Excel sheet to read; the first sheet when not set."
    )
    query: str | None = Field(
        default=None,
        description="A SQL query whose result is the table to train on (with data.database_url); "
        "run afresh at every training, so a schedule retrains on the latest rows.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database data.query reads, e.g. "
        "sqlite:////data/shop.db or postgresql+psycopg://user:${DB_PASSWORD}@host/db: a password "
        "is never written here but named, and read from the environment or "
        ".streamlit/secrets.toml when the query runs.",
    )

    @field_validator("database_url")
    @classmethod
    def _no_password(cls, url: str | None) -> str | None:
        if url is not None:
            check_no_password(url, field="data.database_url")
        return url

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        given = [name for name in ("path", "dataset", "query") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(
                f"give one of data.path, data.dataset or data.query, not {' and '.join(given)}"
            )
        if self.query and not self.database_url:
            raise ValueError("data.query needs data.database_url (the database to run it on)")
        return self


class TrainingSpec(FrozenModel):
    """How to train. Fields left empty take their value from the preset."""

    preset: Preset = Field(
        default="balanced",
        description="fast: a quick first model; balanced: good default; best: bigger, longer.",
    )
    epochs: int | None = Field(default=None, ge=1, le=10_000, description="Max epochs; preset.")
    batch_size: int | None = Field(
        default=None, ge=2, le=1_000_000, description="Rows per step; chosen from data size."
    )
    learning_rate: float | None = Field(
        default=None, gt=0, lt=1, description="AdamW learning rate; preset."
    )
    seed: int = Field(default=42, ge=0, description="Random seed: same spec + data = same model.")
    early_stopping_patience: int | None = Field(
        default=None, ge=1, description="Epochs without validation gain before stopping; preset."
    )
    device: Device = Field(
        default="auto", description="auto: CUDA GPU if present, else Apple MPS, else CPU."
    )


# The embedded store keeps an experiment's files in <artifact root>/<name>: no path separators,
# no "..", and short enough to be a folder name on any file system.
EXPERIMENT_MAX_LENGTH = 200
_EXPERIMENT = re.compile(rf"[A-Za-z0-9][A-Za-z0-9 ._-]{{0,{EXPERIMENT_MAX_LENGTH - 1}}}")


class TrackingSpec(FrozenModel):
    """Where the run is recorded in MLflow."""

    experiment: str = Field(
        default="dlstudio",
        description="MLflow experiment that holds the run: letters, digits, spaces, '.', '_' "
        "and '-' (it also names the folder of the run's files).",
    )
    register_as: str | None = Field(
        default=None,
        description="Register the model under this name. The first version becomes 'champion'; "
        "a later one becomes 'challenger' and is promoted only when it passes promote_if on the "
        "same fresh test data as the champion.",
    )
    promote_if: str | None = Field(
        default=None,
        description="When a new version replaces the champion, e.g. 'test_f1_macro>=+0.005' "
        "(at least 0.005 better) or 'test_mase<=-0.01'; empty: the task's main metric no worse "
        "than the champion's, and at least as good as the baseline's.",
    )

    @field_validator("experiment")
    @classmethod
    def _experiment_name(cls, value: str) -> str:
        if not _EXPERIMENT.fullmatch(value) or ".." in value:
            raise ValueError(
                f"{value!r} cannot name an experiment; use 1-{EXPERIMENT_MAX_LENGTH} letters, "
                "digits, spaces, '.', '_' or '-', starting with a letter or digit and without "
                "'..' (the name is also the folder of the run's files), e.g. 'churn'"
            )
        return value

    @field_validator("promote_if")
    @classmethod
    def _promotion_rule(cls, value: str | None) -> str | None:
        if value is not None:
            parse_promote_if(value)
        return value


_PROMOTE_IF = re.compile(r"^\s*test_([a-z0-9_]+)\s*(>=|<=)\s*([+-]?\d*\.?\d+)\s*$")


def parse_promote_if(text: str) -> tuple[str, str, float]:
    """``"test_f1_macro>=+0.005"`` -> ``("f1_macro", ">=", 0.005)``: the metric (without the
    test_ prefix), the direction that is better, and the margin the challenger must clear.

    Raises:
        ValueError: the text is not of that form.
    """
    match = _PROMOTE_IF.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a promotion rule; write a test metric, >= or <=, and a margin, "
            "e.g. 'test_f1_macro>=+0.005' (higher is better) or 'test_mase<=-0.01'"
        )
    return match.group(1), match.group(2), float(match.group(3))


class SearchSpec(FrozenModel):
    """A hyperparameter search instead of one training (dlstudio.search)."""

    budget: str = Field(
        description="Wall time ('5m', '90s', '1h') or a number of trials ('20'), whichever the "
        "search stops at."
    )
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Narrower ranges for searchable fields, e.g. "
        "{'training.learning_rate': [0.0003, 0.003]}; the others keep the template's ranges.",
    )

    workers: int = Field(
        default=1, ge=1, le=32,
        description="Trials run at once, each by its own worker: the search queues workers - 1 "
        "helper jobs that run trials of the same study (start as many workers).",
    )  # fmt: skip
    helps: str | None = Field(
        default=None,
        description="Set by the studio on a helper job: the search job whose study it runs "
        "trials of.",
    )

    @field_validator("budget")
    @classmethod
    def _budget(cls, value: str) -> str:
        from dlstudio.search.budget import parse_budget

        try:
            parse_budget(value)
        except SpecError as exc:
            raise ValueError(f"{exc.message} {exc.fix}") from None
        return value


class RunSpecBase(FrozenModel):
    """What every RunSpec holds; a template's model adds its ``task`` name and ``options``."""

    data: DataSpec = Field(default_factory=DataSpec, description="The data to train on.")
    training: TrainingSpec = Field(default_factory=TrainingSpec, description="How to train.")
    tracking: TrackingSpec = Field(default_factory=TrackingSpec, description="MLflow tracking.")
    search: SearchSpec | None = Field(
        default=None, description="Search hyperparameters within a budget instead of one run."
    )


# Any template's spec, for annotations: parse_spec returns the template's own model (its
# ``task`` and ``options`` included), a subclass of this envelope.
RunSpec = RunSpecBase


@cache
def _run_spec() -> TypeAdapter:
    """The discriminated union of the registered templates' models (built on first use)."""
    union = Union[tuple(spec_models().values())]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="task")])


def parse_spec(raw: dict[str, Any]) -> RunSpec:
    """Validate a plain dict (from YAML, flags or a form) into a RunSpec; SpecError if invalid."""
    models = spec_models()
    task = raw.get("task", "tabular_classification")
    if task not in models:
        raise SpecError(_unknown_task_message(task), fix=f"use one of: {', '.join(models)}")
    try:
        return _run_spec().validate_python({**raw, "task": task})
    except ValidationError as exc:
        raise SpecError(_describe(exc, models[task])) from None


class _AliasFound(yaml.YAMLError):
    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(f"alias *{anchor} on line {line}")
        self.anchor, self.line = anchor, line


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: ``*name`` repeats the node anchored ``&name``, and a
    few nested repeats made a 430-byte spec 1.5 GB once copied as JSON (jobs, MLflow params)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasFound(event.anchor, event.start_mark.line + 1)
        return super().compose_node(parent, index)


def _load_yaml(text: str, *, where: str) -> Any:
    """``yaml.safe_load`` that refuses aliases with a SpecError saying ``where`` they are."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except _AliasFound as exc:
        raise SpecError(
            f"{where}, line {exc.line}: YAML aliases (*{exc.anchor}) are not allowed in a spec",
            fix=f"write the repeated value out in full where *{exc.anchor} stands (a merge key, "
            "<<: *name, is an alias too)",
        ) from None


def read_spec_yaml(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a YAML spec file (not yet validated)."""
    path = Path(path)
    try:
        raw = _load_yaml(path.read_text(encoding="utf-8"), where=f"spec file {str(path)!r}")
    except FileNotFoundError:
        raise SpecError(
            f"spec file {str(path)!r} does not exist",
            fix="check the path; `dlstudio schema` lists every field a spec may hold",
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(
            f"spec file {str(path)!r} is not valid YAML: {exc}",
            fix="write it as `key: value` lines, nested by indentation (see README)",
        ) from None
    if raw is not None and not isinstance(raw, dict):
        raise SpecError(
            f"spec file {str(path)!r} must hold a mapping (key: value), not a list",
            fix="start with `task: tabular_classification` and a `data:` section (see README)",
        )
    return raw or {}


def load_spec(path: str | Path) -> RunSpec:
    """Read and validate a YAML spec file."""
    return parse_spec(read_spec_yaml(path))


def dump_spec(spec: RunSpec) -> str:
    """YAML text of a spec, every field written out so the run can be repeated exactly."""
    raw = spec.model_dump(mode="json")
    ordered = {"task": raw.pop("task"), **raw}  # the task first: it decides what options mean
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)


def spec_json_schema() -> dict[str, Any]:
    """JSON schema of RunSpec (all tasks), for docs, forms and editors."""
    return _run_spec().json_schema()


def flatten_spec(spec: RunSpec) -> dict[str, str]:
    """Dotted key -> value, for MLflow params (lists as JSON)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            flat[prefix] = json.dumps(value) if isinstance(value, list) else str(value)

    walk("", spec.model_dump(mode="json"))
    return flat


def apply_overrides(raw: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML scalars) to a raw spec dict."""
    result = json.loads(json.dumps(raw))
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.strip():
            raise SpecError(
                f"--set {assignment!r} is not of the form dotted.key=value",
                fix="for example --set training.epochs=5",
            )
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SpecError(f"--set {assignment!r}: {part!r} is not a section")
        node[parts[-1]] = _load_yaml(text, where=f"--set {assignment!r}") if text.strip() else None
    return result


def _unknown_task_message(task: object) -> str:
    close = difflib.get_close_matches(str(task), list(spec_models()), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown task {task!r}{hint}"


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """Turn pydantic errors into lines naming the field, the problem and the valid choices."""
    lines = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"] if not str(part).startswith("tagged-union")]
        if location and location[0] in spec_models():
            location = location[1:]
        field = ".".join(location) or "spec"
        if error["type"] == "extra_forbidden":
            known = _known_keys(model, location[:-1])
            close = difflib.get_close_matches(location[-1], known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{field}: unknown key{hint} Valid keys here: {', '.join(known)}.")
        elif error["type"] == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            lines.append(f"{field}: {error['input']!r} is not allowed; choose one of {expected}.")
        else:
            given = error.get("input")
            # never echo a password back; a whole section (a check across its fields) is not
            # echoed at all: the message names the fields
            got = "" if isinstance(given, dict) else f" (got {mask_url(repr(given))})"
            lines.append(f"{field}: {error['msg']}{got}.")
    return "invalid spec:\n" + "\n".join(f"  - {line}" for line in lines)


def _known_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    for part in path:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
