"""Which kind of data a stored dataset holds, and the templates that read that kind (from the
template registry, so a new template needs no change here); storing a template's sample. No
streamlit here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dlstudio.data.images import is_image_source
from dlstudio.data.store import DatasetStore, DatasetVersion
from dlstudio.tasks import get_template, task_names
from dlstudio.tasks.base import Sample

DataKind = Literal["table", "images"]


def data_kind(path: Path) -> DataKind:
    """ "images" for a ZIP (or folder) of image class folders, else "table"."""
    return "images" if is_image_source(Path(path)) else "table"


def templates_reading(kind: DataKind) -> list[str]:
    """The names of the templates that train on this kind of data, in registry order."""
    return [name for name in task_names() if get_template(name).reads == kind]


def template_for(kind: DataKind, *, current: str | None = None) -> str:
    """The template to offer for a dataset: ``current`` when it reads this kind of data, else
    the first template that does (the first template at all when none does)."""
    if current in task_names() and get_template(current).reads == kind:
        return current
    return next(iter(templates_reading(kind)), task_names()[0])


def add_sample(store: DatasetStore, sample: Sample) -> DatasetVersion:
    """Store a template's sample as a dataset (the same content is stored once)."""
    if sample.archive is not None:
        return store.save(sample.name, sample.archive, filename=f"{sample.name}.zip")
    data = sample.frame.to_csv(index=False).encode("utf-8")
    return store.save(sample.name, data, filename=f"{sample.name}.csv")
