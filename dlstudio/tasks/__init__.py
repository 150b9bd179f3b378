"""Task templates, registered by name. Nothing else branches on task names."""

from __future__ import annotations

import importlib

from dlstudio.errors import SpecError
from dlstudio.tasks.base import TaskTemplate

# name -> "module:Class"; imported on first use so `dlstudio schema` stays fast.
_REGISTRY: dict[str, str] = {
    "tabular_classification": "dlstudio.tasks.tabular:TabularClassification",
    "forecasting": "dlstudio.tasks.forecasting:Forecasting",
    "text_sentiment": "dlstudio.tasks.text:TextSentiment",
    "image_classification": "dlstudio.tasks.images:ImageClassification",
}


def task_names() -> list[str]:
    """Names of the templates available in this version."""
    return list(_REGISTRY)


def get_template(name: str) -> TaskTemplate:
    """The template registered as ``name``."""
    if name not in _REGISTRY:
        raise SpecError(f"unknown task {name!r}", fix=f"use one of: {', '.join(_REGISTRY)}")
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
