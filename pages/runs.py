"""Runs: every training run recorded in MLflow, newest first."""

import streamlit as st

from dlstudio.settings import get_settings
from dlstudio.tracking.queries import recent_runs

settings = get_settings()
st.title("Runs")
st.caption(
    "Every model trained with dlstudio, newest first. Train one from the command line: "
    "`dlstudio train --data your.csv --target COLUMN`."
)
runs = recent_runs(settings)
if runs.empty:
    st.info("No runs yet. Train a model and it will appear here.")
    st.stop()
st.dataframe(runs, hide_index=True, width="stretch", key="runs_table")
st.caption(f"Tracking store: `{settings.mlflow_tracking_uri}`")
