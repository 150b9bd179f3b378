"""The Results page under AppTest, on one real tiny training run (trained once per module)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.settings import Settings, get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from dlstudio.training import RunResult, run
from tests.conftest import make_customers

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "results.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """A home with one finished 2-epoch run (about 10 s), shared by this module's tests."""
    home = tmp_path_factory.mktemp("results-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "customers.csv"
    make_customers().to_csv(csv, index=False)
    spec = parse_spec(
        {"data": {"path": str(csv), "target": "churn"}, "training": {"preset": "fast", "epochs": 2}}
    )
    with pytest.MonkeyPatch.context() as env:  # never a user's shared MLflow server
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec, settings=Settings(home=home, torch_threads=1))
    return home, result


@pytest.fixture
def finished(trained: tuple, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    """Point this test's DLSTUDIO_HOME at the trained home; the finished run's result."""
    home, result = trained
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    configure_tracking(get_settings())
    return result


def results_page(run_id: str | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    if run_id is not None:
        app.query_params["run"] = run_id
    return app.run()


def chart_rows(element) -> pd.DataFrame:
    """The rows Streamlit sends to the browser for a chart (its one named dataset)."""
    (dataset,) = element.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


def test_empty_install_says_there_are_no_runs(mlflow_home: Path) -> None:
    app = results_page()
    assert not app.exception
    assert "No runs yet" in app.info[0].value
    assert not app.metric


def test_finished_run_shows_metric_cards_with_baseline_deltas(finished: RunResult) -> None:
    app = results_page(finished.run_id)
    assert not app.exception
    cards = {m.label: (m.value, m.delta) for m in app.metric}
    ours, theirs = finished.metrics, finished.baseline["metrics"]
    for label, key in (
        ("Accuracy", "test_accuracy"),
        ("Precision (macro)", "test_precision_macro"),
        ("Recall (macro)", "test_recall_macro"),
        ("F1 (macro) · primary", "test_f1_macro"),
    ):
        assert cards[label] == (f"{ours[key]:.3f}", f"{ours[key] - theirs[key]:+.3f}")
    verdicts = app.success if finished.beats_baseline else app.warning
    assert verdicts[0].value == finished.verdict


def test_confusion_matrix_shows_the_logged_counts_and_normalizes(finished: RunResult) -> None:
    logged = MlflowClient().download_artifacts(finished.run_id, "confusion_matrix.json")
    confusion = json.loads(Path(logged).read_text())
    app = results_page(finished.run_id)
    heatmap = app.get("vega_lite_chart")[0]
    assert json.loads(heatmap.proto.spec)["layer"][1]["encoding"]["text"]["field"] == "count"
    rows = chart_rows(heatmap)
    first, second = confusion["labels"]
    assert rows.set_index(["true", "predicted"])["count"].to_dict() == {
        (first, first): confusion["matrix"][0][0],
        (first, second): confusion["matrix"][0][1],
        (second, first): confusion["matrix"][1][0],
        (second, second): confusion["matrix"][1][1],
    }

    app.toggle(key="results_normalize").set_value(True).run()
    heatmap = app.get("vega_lite_chart")[0]
    assert json.loads(heatmap.proto.spec)["layer"][1]["encoding"]["text"]["field"] == "share"
    assert chart_rows(heatmap).groupby("true")["share"].sum().tolist() == pytest.approx([1, 1])


def test_per_class_table_curves_links_and_downloads(finished: RunResult) -> None:
    app = results_page(finished.run_id)
    table = app.dataframe[0].value
    assert table["class"].tolist() == ["no", "yes"]
    assert table["support"].sum() == 48  # the 20 % test split of 240 rows
    curves = chart_rows(app.get("vega_lite_chart")[1])
    assert curves[curves.metric == "train_loss"]["epoch"].tolist() == [1, 2]
    (link,) = app.get("link_button")
    expected = (
        f"http://127.0.0.1:5000/#/experiments/{finished.experiment_id}/runs/{finished.run_id}"
    )
    assert link.proto.url == expected
    assert [b.proto.label for b in app.get("download_button")] == [
        "Download the spec",
        "Download the model URI",
    ]
    assert f"runs:/{finished.run_id}/model" in app.code[0].value


def test_without_a_query_parameter_the_newest_run_is_shown(finished: RunResult) -> None:
    app = results_page()
    assert not app.exception
    assert app.selectbox(key="results_run").value == finished.run_id
    assert app.query_params["run"] == finished.run_id  # the address now links to this run


def test_unknown_run_id_is_a_clear_error(finished: RunResult) -> None:
    app = results_page("0123456789abcdef0123456789abcdef")
    assert not app.exception
    assert "no run has the id '0123456789abcdef0123456789abcdef'" in app.error[0].value
    assert not app.metric


def test_running_run_says_it_is_still_training(mlflow_home: Path) -> None:
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    running = client.create_run(
        ensure_experiment("results-test", settings), tags={"dlstudio.task": "x"}
    )
    client.log_metric(running.info.run_id, "train_loss", 0.8, step=1)
    app = results_page(running.info.run_id)
    assert not app.exception
    assert "still training" in app.info[0].value
    assert chart_rows(app.get("vega_lite_chart")[0])["value"].tolist() == [0.8]
    assert not app.metric


def test_failed_run_says_it_has_no_results(mlflow_home: Path) -> None:
    settings = get_settings()
    configure_tracking(settings)
    client = MlflowClient()
    failed = client.create_run(ensure_experiment("results-test", settings))
    client.set_terminated(failed.info.run_id, status="FAILED")
    app = results_page(failed.info.run_id)
    assert not app.exception
    assert "This run failed" in app.error[0].value
