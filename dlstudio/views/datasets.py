"""Which kind of data a stored dataset holds, and the templates that read that kind (from the
template registry, so a new template needs no change here); storing a template's sample. No
streamlit here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

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


def add_sample(store: DatasetStore, sample: Sample, *, by: str | None = None) -> DatasetVersion:
    """Store a template's sample as a dataset (the same content is stored once)."""
    if sample.archive is not None:
        return store.save(sample.name, sample.archive, filename=f"{sample.name}.zip", by=by)
    data = sample.frame.to_csv(index=False).encode("utf-8")
    return store.save(sample.name, data, filename=f"{sample.name}.csv", by=by)


def suggest_task(frame: pd.DataFrame, *, name: str | None = None) -> str:
    """The template a table most likely suits, for the Data page to open on (the user can
    switch): a template's own sample by its name; a column of sentences -> text; a column named
    like a label (churn, label, ..._class) -> tabular classification; a regular time axis with a
    number to forecast -> forecasting; a continuous last column -> regression; otherwise
    tabular classification."""
    for task in templates_reading("table"):
        sample = get_template(task).sample()
        if sample is not None and sample.name == name:
            return task
    if "text_sentiment" in task_names() and _holds_sentences(frame):
        return "text_sentiment"
    if _named_label(frame):  # a customer table with daily sign-ups is no time series
        return "tabular_classification"
    if "forecasting" in task_names() and _regular_series(frame):
        return "forecasting"
    if "tabular_regression" in task_names() and len(frame.columns) > 1:
        last = frame.columns[-1]
        roles = get_template("tabular_regression").suggest_roles(frame)
        if roles.get("target") == last and not pd.api.types.is_bool_dtype(frame[last]):
            return "tabular_regression"
    return "tabular_classification"


SENTENCE_WORDS = 5  # words on average that make a column free text rather than names or codes


def _holds_sentences(frame: pd.DataFrame) -> bool:
    from dlstudio.tasks.text.checks import guess_text_column

    column = guess_text_column(frame)
    if column is None:
        return False
    words = frame[column].dropna().astype(str).head(2000).str.split().str.len()
    return bool(words.mean() >= SENTENCE_WORDS)


def _regular_series(frame: pd.DataFrame) -> bool:
    """A time column whose distinct times are evenly spaced (80% of the gaps within 15% of the
    typical one: months, business days), unique per series, and a number to forecast. Dates of
    events (sign-ups, orders) are irregular and stay tabular."""
    template = get_template("forecasting")
    roles = template.suggest_roles(frame)
    time, target = roles.get("time"), roles.get("target")
    if time is None or target is None:
        return False
    if frame[time].duplicated().any() and roles.get("series") is None:
        return False
    times = pd.to_datetime(frame[time], errors="coerce", format="mixed").dropna()
    distinct = times.drop_duplicates().sort_values()
    if len(distinct) < 8:
        return False
    gaps = distinct.diff().dropna().dt.total_seconds()
    typical = gaps.median()
    return bool(typical > 0 and ((gaps - typical).abs() <= 0.15 * typical).mean() >= 0.8)


def _named_label(frame: pd.DataFrame) -> bool:
    from dlstudio.tasks.classification_checks import TARGET_NAMES

    names = [str(column).strip().lower() for column in frame.columns]
    labels = set(TARGET_NAMES) - {"y"}  # "ds, y" is how forecasting tools name a series
    return any(n in labels or n.endswith(("_label", "_target", "_class")) for n in names)
