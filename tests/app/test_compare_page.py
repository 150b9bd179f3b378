"""The Compare page under AppTest, on runs logged by hand into a temporary MLflow store."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.settings import get_settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")
START_TIMES = itertools.count(1_700_000_000_000, 1000)


def log_run(
    experiment: str, *, preset: str, f1: float, val_loss: list[float],
    task: str = "tabular_classification",
) -> str:
    """A finished run with a param, test scores and per-epoch losses; its id."""
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    run = client.create_run(
        ensure_experiment(experiment, settings),
        start_time=next(START_TIMES),
        tags={"dlstudio.task": task, "dlstudio.dataset": "customers.csv"},
    )
    run_id = run.info.run_id
    metrics = [Metric("test_f1_macro", f1, 0, 0), Metric("baseline_test_f1_macro", 0.6, 0, 0)]
    metrics += [Metric("val_loss", v, 0, step) for step, v in enumerate(val_loss, start=1)]
    client.log_batch(run_id, metrics=metrics, params=[Param("training.preset", preset)])
    client.set_terminated(run_id)
    return run_id


def chart_rows(element) -> pd.DataFrame:
    (dataset,) = element.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


@pytest.fixture
def two_runs(mlflow_home: Path) -> tuple[str, str]:
    older = log_run("churn", preset="fast", f1=0.70, val_loss=[0.6, 0.5])
    newer = log_run("churn-v2", preset="best", f1=0.80, val_loss=[0.55, 0.45, 0.4])
    return older, newer


def compare_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def test_empty_install_says_there_are_no_runs(mlflow_home: Path) -> None:
    app = compare_page()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


def test_two_runs_side_by_side_with_bars_curves_and_mlflow_link(
    two_runs: tuple[str, str],
) -> None:
    older, newer = two_runs
    app = compare_page()
    assert not app.exception
    assert app.multiselect(key="compare_runs").value == [newer, older]  # the newest two

    metrics = app.dataframe[0].value
    assert [c[-9:-1] for c in metrics.columns] == [newer[:8], older[:8]]
    assert metrics.loc["test_f1_macro"].tolist() == [0.80, 0.70]
    params = app.dataframe[1].value
    assert params.loc["training.preset"].tolist() == ["best", "fast"]

    bars, curves = app.get("vega_lite_chart")
    assert sorted(chart_rows(bars)["value"]) == [0.70, 0.80]
    assert json.loads(bars.proto.spec)["encoding"]["x"]["title"] == "test_f1_macro"
    losses = chart_rows(curves).groupby("run")["value"].apply(list)
    assert sorted(losses.tolist()) == [[0.55, 0.45, 0.4], [0.6, 0.5]]

    (link,) = app.get("link_button")
    base, query = link.proto.url.split("?")
    assert base == "http://127.0.0.1:5000/#/compare-runs"
    runs, experiments = (unquote(part.split("=")[1]) for part in query.split("&"))
    assert json.loads(runs) == [newer, older]
    client = MlflowClient()
    expected = [client.get_run(i).info.experiment_id for i in (newer, older)]
    assert json.loads(experiments) == expected


def test_experiment_filter_narrows_the_runs_offered(two_runs: tuple[str, str]) -> None:
    older, _ = two_runs
    app = compare_page()
    app.selectbox(key="compare_experiment").set_value("churn").run()
    assert not app.exception
    (offered,) = app.multiselect(key="compare_runs").options  # labels: "name (id start)"
    assert offered.endswith(f"({older[:8]})")
    assert "Pick two or more runs" in app.info[0].value


def test_compare_opens_on_runs_of_the_newest_runs_task_and_dataset(two_runs) -> None:
    """Issue 22: Compare opened on two runs of different tasks side by side."""
    older, newer = two_runs
    other = log_run("sales", preset="fast", f1=0.5, val_loss=[0.9], task="tabular_regression")
    app = compare_page()
    assert app.multiselect(key="compare_runs").value == [other]  # the newest has no peer yet
    assert "Pick two or more runs" in app.info[0].value
    peer = log_run("churn", preset="balanced", f1=0.75, val_loss=[0.5])
    st.cache_data.clear()  # the page caches the runs for 10 s
    app = compare_page()
    assert app.multiselect(key="compare_runs").value == [peer, newer, older]
    assert other not in app.multiselect(key="compare_runs").value
