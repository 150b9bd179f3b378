"""The task templates of this version, registered by name: the one list of task names.

A template is a package under ``dlstudio/tasks/`` (see docs/adding-a-template.md): its
``options.py`` defines ``SPEC``, the template's RunSpec model (its ``task`` name and
``options``), and its ``template.py`` defines ``TEMPLATE``, the TaskTemplate that checks,
trains and loads. Both are imported on first use, so reading a spec needs pydantic, not torch.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dlstudio.errors import SpecError

if TYPE_CHECKING:
    from dlstudio.tasks.base import TaskTemplate

# task name -> its package; a new template is one more line here
TEMPLATES: dict[str, str] = {
    "tabular_classification": "dlstudio.tasks.tabular",
    "tabular_regression": "dlstudio.tasks.regression",
    "forecasting": "dlstudio.tasks.forecasting",
    "text_sentiment": "dlstudio.tasks.text",
    "image_classification": "dlstudio.tasks.images",
}


def task_names() -> list[str]:
    """Names of the templates available in this version."""
    return list(TEMPLATES)


def get_template(name: str) -> TaskTemplate:
    """The template registered as ``name``."""
    if name not in TEMPLATES:
        raise SpecError(f"unknown task {name!r}", fix=f"use one of: {', '.join(TEMPLATES)}")
    return importlib.import_module(f"{TEMPLATES[name]}.template").TEMPLATE()


@cache
def spec_models() -> dict[str, type[BaseModel]]:
    """Task name -> the template's RunSpec model, in registry order (the RunSpec union)."""
    return {
        name: importlib.import_module(f"{package}.options").SPEC
        for name, package in TEMPLATES.items()
    }
