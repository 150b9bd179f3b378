"""The Results page's model at hand: loaded once per model for every session, and its answer to
one typed sentence or uploaded image shown as a label and every class's probability."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dlstudio.errors import DLStudioError
from dlstudio.predict import load_model
from dlstudio.settings import get_settings
from dlstudio.tracking.queries import RunDetails
from dlstudio.views.text import escape_markdown
from dlstudio.views.text_try import LabelPrediction
from pages._widgets.widgets import show_message


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def cached_model(model_uri: str, tracking_uri: str):
    """A loaded model, shared by every session; ``tracking_uri`` is part of the key because
    the same URI names another model in another tracking store."""
    return load_model(model_uri, get_settings())


def run_model(details: RunDetails):
    """The run's model (loaded once, see ``cached_model``)."""
    return cached_model(details.model_uri, get_settings().mlflow_tracking_uri)


def show_answer(
    details: RunDetails,
    ask: Callable[[object], LabelPrediction],
    *,
    label: str,
    key: str,
    picture: bytes | None = None,
) -> object | None:
    """The run's model's answer to ``ask(model)`` (a typed sentence, an uploaded image) and each
    class's probability; ``picture`` is shown beside the answer. Returns the model when it
    answered (None after a warning), for what the caller shows next."""
    try:
        model = run_model(details)
        answer = ask(model)
    except DLStudioError as exc:
        show_message("warning", exc.message, exc.fix)
        return None
    label_column, table_column = st.columns([1, 2])
    label_column.metric(label, escape_markdown(answer.label), help=f"{answer.confidence:.0%} sure.")
    if picture is not None:
        label_column.image(picture, width=160)
    table_column.dataframe(
        answer.probabilities,
        hide_index=True,
        key=key,
        column_config={
            "probability": st.column_config.ProgressColumn(
                "Probability", format="percent", min_value=0.0, max_value=1.0
            )
        },
    )
    return model
