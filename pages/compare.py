"""Compare: runs side by side, their learning curves overlaid, and a link into the MLflow UI."""

import pandas as pd
import streamlit as st

from dlstudio import charts
from dlstudio.settings import Settings, get_settings
from dlstudio.tracking.queries import (
    RunComparison,
    comparable_runs,
    compare_runs,
    compare_url,
    distinct,
    filter_runs,
    history_metrics,
    like_the_newest,
    run_labels,
    runs_history,
)
from pages._widgets.widgets import ensure_navigation

ensure_navigation()


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(settings: Settings) -> pd.DataFrame:
    return comparable_runs(settings)


@st.cache_data(ttl=10, show_spinner=False)
def load_comparison(settings: Settings, run_ids: tuple[str, ...]) -> RunComparison:
    return compare_runs(settings, run_ids)


@st.cache_data(ttl=10, show_spinner=False)
def load_histories(settings: Settings, run_ids: tuple[str, ...]) -> pd.DataFrame:
    return runs_history(settings, run_ids)


settings = get_settings()
st.title("Compare runs")
runs = load_runs(settings)
if runs.empty:
    st.info("No runs yet. Train two models and compare them here.")
    st.stop()

filters = st.columns(3)
chosen = {
    column: filters[i].selectbox(
        column.capitalize(),
        distinct(runs, column),
        index=None,
        placeholder="all",
        key=f"compare_{column}",
    )
    for i, column in enumerate(("experiment", "task", "dataset"))
}
shown = filter_runs(runs, **chosen)
labels = run_labels(shown)
picked = st.multiselect(
    "Runs",
    list(labels),
    default=like_the_newest(shown),
    format_func=labels.get,
    max_selections=10,
    key="compare_runs",
)
if len(picked) < 2:
    st.info("Pick two or more runs to compare them.")
    st.stop()

comparison = load_comparison(settings, tuple(picked))
st.link_button(
    "Open in the MLflow UI",
    compare_url(settings.mlflow_ui_url, comparison.run_ids, comparison.experiment_ids),
)
st.subheader("Test metrics")
st.caption("`baseline_test_*`: the strongest classical model on the same test rows.")
st.dataframe(comparison.metrics, key="compare_metrics_table")
st.subheader("Parameters")
st.caption("Parameters that differ between the runs come first.")
st.dataframe(comparison.params, key="compare_params_table")

names = comparison.score_names
if names:
    st.subheader("One metric")
    metric = st.selectbox(
        "Metric",
        names,
        index=names.index("test_f1_macro") if "test_f1_macro" in names else 0,
        key="compare_metric",
    )
    st.altair_chart(charts.metric_bars(comparison.scores, metric))

st.subheader("Learning curves")
history = load_histories(settings, tuple(picked))
if history.empty:
    st.info("These runs logged no per-epoch metrics.")
    st.stop()
curve = st.selectbox("Curve", history_metrics(history), key="compare_curve")
st.altair_chart(charts.run_curves(history, curve))
