"""The Runs page under Streamlit's AppTest (through app.py), reading a real MLflow SQLite store."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.settings import get_settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

APP = str(Path(__file__).resolve().parents[2] / "app.py")
START_TIMES = itertools.count(1_700_000_000_000, 1000)


@pytest.fixture
def app(mlflow_home: Path) -> AppTest:
    """The dashboard, opened on the Runs page (its st.page_link needs app.py's navigation)."""
    return AppTest.from_file(APP, default_timeout=60).switch_page("pages/runs.py")


def test_empty_store_invites_a_first_run(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


def log_run(f1: float) -> str:
    """A finished run with a test score; each one starts a second after the previous."""
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    run = client.create_run(
        ensure_experiment("page-test", settings),
        start_time=next(START_TIMES),
        tags={"dlstudio.task": "tabular_classification"},
    )
    metrics = [Metric("test_f1_macro", f1, 0, 0), Metric("baseline_test_f1_macro", 0.78, 0, 0)]
    client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_logged_run_is_listed_with_its_scores(app: AppTest) -> None:
    log_run(0.81)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table["task"].tolist() == ["tabular_classification"]
    assert table["F1 (macro)"].tolist() == [0.81]


def test_chosen_run_opens_in_results(app: AppTest) -> None:
    older, newer = log_run(0.81), log_run(0.85)
    app.run()
    assert app.selectbox(key="runs_open").value == newer  # newest first
    app.selectbox(key="runs_open").set_value(older).run()
    (link,) = [link for link in app.get("page_link") if link.value == "Show its results"]
    assert link.proto.query_string == f"run={older}"
    assert link.proto.page_script_hash  # the Results page is a registered page

    app.query_params["run"] = older  # what following the link does
    app.switch_page("pages/results.py").run()
    assert not app.exception
    assert app.selectbox(key="results_run").value == older
    assert app.metric[0].value == "0.810"


def test_dlstudio_package_never_imports_streamlit() -> None:
    package = Path(__file__).resolve().parents[2] / "dlstudio"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(
            line.strip().startswith(("import streamlit", "from streamlit"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert offenders == []
