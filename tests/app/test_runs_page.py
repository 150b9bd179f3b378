"""The Runs page under Streamlit's AppTest, reading a real MLflow SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.settings import get_settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(mlflow_home: Path) -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def test_empty_store_invites_a_first_run(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


def test_logged_run_is_listed_with_its_scores(app: AppTest) -> None:
    settings = get_settings()
    configure_tracking(settings)
    experiment_id = ensure_experiment("page-test", settings)
    with mlflow.start_run(
        experiment_id=experiment_id, tags={"dlstudio.task": "tabular_classification"}
    ):
        mlflow.log_metrics({"test_f1_macro": 0.81, "baseline_test_f1_macro": 0.78})
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table["task"].tolist() == ["tabular_classification"]
    assert table["F1 (macro)"].tolist() == [0.81]


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
