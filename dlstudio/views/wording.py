"""Messages written for the command line, said as a page says them. A check's fix names the spec
field to change ("Name the text column with options.text_column."), which is right in a YAML
spec and on the CLI; on a page the user has a picker for it, so the fix names the picker: "the
'Text column' picker". Field names come from the templates' roles and the spec models, so a new
option is worded without a change here. No streamlit here."""

from __future__ import annotations

import re
from functools import cache

from dlstudio.tasks.registry import get_template, spec_models

_PATH = re.compile(r"\b(?:data|options|training|tracking)\.[a-z][a-z_]*\b")
_TASK = re.compile(r"\s*\(task: ([a-z_]+)\)")


def for_pages(text: str) -> str:
    """``text`` with each spec path replaced by the control that sets it on the pages, and
    "(task: name)" dropped after a template's title."""
    names = _controls()
    worded = _PATH.sub(lambda match: names.get(match.group(0), match.group(0)), text)
    return _TASK.sub("", worded)


@cache
def _controls() -> dict[str, str]:
    """Spec path -> how the pages name its control."""
    names = {
        "data.target": "the target column picker",
        "data.path": "the dataset picker",
        "data.dataset": "the dataset picker",
        "data.test_path": "the dataset picker (a separate test file)",
        "data.sheet": "the sheet picker of the upload",
    }
    for task, model in spec_models().items():
        for section in ("training", "options", "tracking"):
            fields = model.model_fields[section].annotation.model_fields
            for field in fields:
                label = field.replace("_", " ").capitalize()
                names.setdefault(f"{section}.{field}", f"'{label}' under Advanced options")
        for role in get_template(task).roles:
            if role.spec_path != "data.target":
                names[role.spec_path] = f"the '{role.label}' picker"
    names["training.preset"] = "the preset choice"
    names["tracking.register_as"] = "'Save the model as'"
    return names
