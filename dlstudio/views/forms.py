"""Forms generated from the RunSpec models: the Train page's "Advanced" section and its spec.

Defaults, limits and descriptions come from the pydantic fields, so a new option (or a new
template's options model) appears in the dashboard without page changes. No streamlit here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel

from dlstudio.spec import RunSpec, parse_spec
from dlstudio.tasks.registry import get_template, spec_models

Kind = Literal["choice", "int", "float", "bool", "columns", "int_list", "text"]
# asked elsewhere on the Train page, or not meant for a form
NOT_IN_FORM = {"training.preset", "options.features", "tracking.register_as"}


@dataclass(frozen=True)
class FormField:
    """One option as a widget: its spec path, kind, default, limits and help text."""

    path: str
    label: str
    kind: Kind
    default: Any
    description: str
    optional: bool  # empty means "the preset / the template decides"
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def advanced_fields(task: str, *, asked: Collection[str] = ()) -> list[FormField]:
    """Every option of ``task`` a user may set, section by section (training, options, tracking).

    ``asked``: spec paths the page already asks for, such as the template's column roles.
    """
    spec_model = spec_models()[task]
    left_out = NOT_IN_FORM | set(asked) | set(get_template(task).superseded)
    fields = []
    for section in ("training", "options", "tracking"):
        model = spec_model.model_fields[section].annotation
        fields += [f for f in model_fields(model, section) if f.path not in left_out]
    return fields


def model_fields(model: type[BaseModel], prefix: str) -> list[FormField]:
    """The fields of one spec section as form fields."""
    found = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap_optional(info.annotation)
        kind, choices = _kind(annotation)
        minimum, maximum = _limits(info.metadata)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        found.append(
            FormField(
                path=f"{prefix}.{name}",
                label=name.replace("_", " ").capitalize(),
                kind=kind,
                default=default,
                description=info.description or "",
                optional=optional,
                choices=choices,
                minimum=minimum,
                maximum=maximum,
            )
        )
    return found


def build_spec(
    task: str,
    *,
    dataset: str,
    roles: dict[str, str | None],
    role_paths: dict[str, str],
    preset: str,
    advanced: dict[str, Any],
) -> RunSpec:
    """The RunSpec the Train page submits; SpecError (with the field named) when invalid.

    Values equal to their default or left empty are not written, so the spec stays short and
    the preset keeps deciding what it decides.
    """
    raw: dict[str, Any] = {
        "task": task,
        "data": {"dataset": dataset},
        "training": {"preset": preset},
    }
    for key, column in roles.items():
        if column:
            _set(raw, role_paths[key], column)
    defaults = {f.path: f.default for f in advanced_fields(task)}
    for path, value in advanced.items():
        if value is None or value == [] or value == "" or value == defaults.get(path):
            continue
        _set(raw, path, value)
    return parse_spec(raw)


def parse_int_list(text: str) -> list[int] | None:
    """ "256, 128" -> [256, 128]; blank -> None; ValueError names the bad part."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        return None
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"{text!r} is not a list of whole numbers such as 256, 128") from None


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _kind(annotation: Any) -> tuple[Kind, tuple[Any, ...]]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice", typing.get_args(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if typing.get_origin(item) is typing.Annotated:
            item = typing.get_args(item)[0]
        return ("int_list" if item is int else "columns"), ()
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    return "text", ()


def _limits(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = getattr(item, "ge", None) if isinstance(item, annotated_types.Ge) else item.gt
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            high = getattr(item, "le", None) if isinstance(item, annotated_types.Le) else item.lt
    return low, high
