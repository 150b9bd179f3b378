"""Runs: every training run recorded in MLflow, newest first; open one in Results."""

import pandas as pd
import streamlit as st

from dlstudio.credentials import mask_url
from dlstudio.settings import Settings, get_settings
from dlstudio.tracking.queries import recent_runs, run_choices
from dlstudio.views.text import inline_code
from pages._widgets.widgets import ensure_navigation

ensure_navigation()


@st.cache_data(ttl=5, show_spinner=False)
def load_runs(settings: Settings) -> pd.DataFrame:
    return recent_runs(settings)


@st.cache_data(ttl=5, show_spinner=False)
def load_labels(settings: Settings) -> dict[str, str]:
    return run_choices(settings)


settings = get_settings()
st.title("Runs")
st.caption(
    "Every model trained with dlstudio, newest first. Train one from the command line: "
    "`dlstudio train --data your.csv --target COLUMN`."
)
runs = load_runs(settings)
if runs.empty:
    st.info("No runs yet. Train a model and it will appear here.")
    st.stop()
st.dataframe(runs, hide_index=True, width="stretch", key="runs_table")

labels = load_labels(settings)
run_id = st.selectbox(
    "Open a run",
    runs["run"].tolist(),
    format_func=lambda run: labels.get(run, run),
    key="runs_open",
)
st.page_link(
    "pages/results.py",
    label="Show its results",
    icon=":material/insights:",
    query_params={"run": run_id},
)
st.caption(f"Tracking store: {inline_code(mask_url(settings.mlflow_tracking_uri))}")
