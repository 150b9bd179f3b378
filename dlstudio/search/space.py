"""What a search may change: spec fields with their ranges, declared once.

Every template searches ``TRAINING_SPACE`` (the training fields all templates share), so a
template added later gets search for free; a template may add its own fields as a
``search_space`` tuple. Forms, CLI help and docs read the same declarations.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from dlstudio.errors import SpecError
from dlstudio.search.fields import TRAINING_SPACE, SearchField


def search_space(task: str) -> tuple[SearchField, ...]:
    """The fields a search of ``task`` changes: the shared training fields (with the ranges the
    template gives for them, if any), then the template's own."""
    from dlstudio.tasks.registry import get_template

    own = {field.path: field for field in get_template(task).search_space}
    shared = tuple(own.pop(field.path, field) for field in TRAINING_SPACE)
    return shared + tuple(own.values())


def describe_space(task: str) -> str:
    """The space in words, for help texts: "learning_rate 0.0001 to 0.01 (log scale);
    batch_size 64, 128, 256 or 512; ..."."""
    return "; ".join(f"{f.path.split('.', 1)[1]} {f.describe()}" for f in search_space(task))


def space_table() -> str:
    """Every template's space as a Markdown table (docs/search.md holds it; a test checks it)."""
    from dlstudio.tasks.registry import task_names

    lines = ["| template | field | searched over | what it changes |", "|---|---|---|---|"]
    for task in task_names():
        for field in search_space(task):
            lines.append(f"| {task} | `{field.path}` | {field.describe()} | {field.help} |")
    return "\n".join(lines)


def narrowed(
    space: tuple[SearchField, ...], ranges: dict[str, tuple[float, float]]
) -> tuple[SearchField, ...]:
    """``space`` with the numeric ranges the user gave (field path -> (low, high)).

    Raises:
        SpecError: a field the template cannot search, a choice field given a range, or a
            range whose low end is above its high end (or not positive on a log scale).
    """
    by_path = {field.path: field for field in space}
    for path, (low, high) in ranges.items():
        field = by_path.get(path)
        if field is None:
            raise SpecError(
                f"{path!r} cannot be searched in this template.",
                fix=f"Search one of: {', '.join(by_path)}.",
            )
        if field.choices:
            raise SpecError(
                f"{path!r} is searched over the choices {field.describe()}, not a range.",
                fix=f"Leave {path!r} out of the ranges.",
            )
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SpecError(
                f"The range of {path!r} runs from {low:g} down to {high:g}.",
                fix="Give the low end first: low <= high.",
            )
        if field.log and low <= 0:
            raise SpecError(
                f"{path!r} is searched on a log scale, so its range must be above 0 "
                f"(it starts at {low:g}).",
                fix=f"Start the range above 0, e.g. {field.low:g}.",
            )
        by_path[path] = replace(field, low=low, high=high)
    return tuple(by_path.values())


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the raw spec ``raw`` with each "section.field" of ``values`` set."""
    result = {key: dict(section) if isinstance(section, dict) else section
              for key, section in raw.items()}  # fmt: skip
    for path, value in values.items():
        section, name = path.split(".", 1)
        result.setdefault(section, {})[name] = value
    return result


if __name__ == "__main__":  # python -m dlstudio.search.space > the table in docs/search.md
    print(space_table())
