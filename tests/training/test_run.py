"""run(spec) end to end on a tiny table: MLflow contents, the pyfunc, the registry, cancel."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from dlstudio.evaluation.metrics import against
from dlstudio.settings import Settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking
from dlstudio.training import run
from dlstudio.training.callbacks import TrainingCancelled
from dlstudio.training.loop import Callback, FitState
from tests.conftest import make_customers

RAW_SPEC = {
    "task": "tabular_classification",
    "data": {"target": "churn"},
    "training": {"preset": "fast", "epochs": 3, "seed": 3},
    "tracking": {"experiment": "tests", "register_as": "customers"},
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, migrated_mlflow_db) -> tuple[Settings, Path]:
    home = tmp_path_factory.mktemp("home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "customers.csv"
    make_customers(300).to_csv(csv, index=False)
    return Settings(home=home), csv


@pytest.fixture(scope="module")
def first(workspace):
    settings, csv = workspace
    return run(
        parse_spec({**RAW_SPEC, "data": {"path": str(csv), "target": "churn"}}), settings=settings
    )


@pytest.fixture(scope="module")
def second(workspace, first):
    settings, csv = workspace
    return run(
        parse_spec({**RAW_SPEC, "data": {"path": str(csv), "target": "churn"}}), settings=settings
    )


@pytest.fixture
def client(workspace) -> MlflowClient:
    configure_tracking(workspace[0])
    return MlflowClient()


def test_result_reports_test_and_baseline_metrics(first) -> None:
    expected = {"test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro",
                "test_f1_weighted", "test_roc_auc"}  # fmt: skip
    scores = {name.removeprefix("test_") for name in expected}
    baselines = {f"{key}_test_{name}" for key in ("hgb", "logreg") for name in scores}
    assert set(first.metrics) == expected | baselines  # as logged in MLflow
    assert set(first.baseline["metrics"]) == expected
    names = [b["name"] for b in first.baselines]
    assert names == ["HistGradientBoosting", "logistic regression"]
    assert all(0.0 <= value <= 1.0 for value in first.metrics.values())
    assert first.device == "cpu"


def test_baseline_is_the_strongest_classical_model(first) -> None:
    best = max(b["metrics"]["test_f1_macro"] for b in first.baselines)
    assert first.baseline["metrics"]["test_f1_macro"] == best


def test_verdict_follows_the_primary_metric(first) -> None:
    ours, theirs = first.metrics["test_f1_macro"], first.baseline["metrics"]["test_f1_macro"]
    result = against(ours, theirs, higher_is_better=True)
    assert first.beats_baseline == (result == "wins")
    opening = {"wins": "Beats", "ties": "Ties with", "loses": "Does not beat"}[result]
    assert first.verdict.startswith(opening)


def test_per_epoch_metrics_are_logged_with_epoch_steps(first, client) -> None:
    for key in ("train_loss", "val_loss", "val_f1_macro", "val_accuracy"):
        history = client.get_metric_history(first.run_id, key)
        assert [m.step for m in history] == list(range(1, len(history) + 1))
        assert 1 <= len(history) <= 3


def test_final_metrics_tags_and_params_are_logged(first, client) -> None:
    data = client.get_run(first.run_id).data
    assert data.metrics["test_f1_macro"] == pytest.approx(first.metrics["test_f1_macro"])
    assert "baseline_test_f1_macro" in data.metrics
    assert data.tags["dlstudio.task"] == "tabular_classification"
    assert data.tags["dlstudio.dataset"] == "customers.csv"
    assert len(data.tags["dlstudio.dataset_version"]) == 12
    assert data.tags["dlstudio.baseline"] == first.baseline["name"]
    assert data.metrics["hgb_test_f1_macro"] == pytest.approx(
        first.baselines[0]["metrics"]["test_f1_macro"]
    )
    assert "logreg_test_accuracy" in data.metrics
    assert data.params["training.epochs"] == "3"


def test_artifacts_include_spec_reports_and_figures(first, client, tmp_path) -> None:
    names = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"spec.yaml", "confusion_matrix.json", "confusion_matrix.png", "learning_curves.png",
            "classification_report.json", "history.json"} <= names  # fmt: skip
    spec_file = client.download_artifacts(first.run_id, "spec.yaml", str(tmp_path))
    assert yaml.safe_load(Path(spec_file).read_text())["training"]["seed"] == 3
    matrix = mlflow.artifacts.load_dict(f"runs:/{first.run_id}/confusion_matrix.json")
    assert matrix["labels"] == ["no", "yes"]
    assert sum(map(sum, matrix["matrix"])) == 60  # 20% of 300 rows


def test_pyfunc_predicts_raw_rows_with_probabilities(first, workspace) -> None:
    configure_tracking(workspace[0])
    model = mlflow.pyfunc.load_model(first.model_uri)
    raw = make_customers(300).drop(columns=["churn"]).head(50)
    raw.loc[0, "plan"] = None  # a blank cell in new data
    predictions = model.predict(raw)
    assert list(predictions.columns) == ["prediction", "probability_no", "probability_yes"]
    assert set(predictions["prediction"]) <= {"no", "yes"}
    np.testing.assert_allclose(
        predictions[["probability_no", "probability_yes"]].sum(axis=1), 1, rtol=1e-5
    )


def test_pyfunc_learned_the_signal(first, workspace) -> None:
    configure_tracking(workspace[0])
    frame = make_customers(300, seed=9)  # fresh rows from the same process
    predictions = mlflow.pyfunc.load_model(first.model_uri).predict(frame.drop(columns=["churn"]))
    assert (predictions["prediction"] == frame["churn"]).mean() > 0.7


def test_first_registration_becomes_champion(first, workspace) -> None:
    configure_tracking(workspace[0])
    assert first.registered == {"name": "customers", "version": "1", "decision": "promoted",
                                "reason": "first version of the model"}  # fmt: skip
    version = MlflowClient().get_model_version_by_alias("customers", "champion")
    assert str(version.version) == "1"


def test_later_registration_is_a_challenger_held_to_the_baseline(second, client) -> None:
    # same spec and data: as good as the champion, but 3 epochs stay below the baseline,
    # and the default rule also asks for the baseline's score
    baseline = second.baseline["metrics"]["test_f1_macro"]
    assert second.metrics["test_f1_macro"] < baseline
    assert second.registered["version"] == "2"
    assert second.registered["decision"] == "not promoted"
    assert second.registered["reason"].startswith(f"below the baseline ({baseline:.4f}): test_f1_macro")
    assert str(client.get_model_version_by_alias("customers", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("customers", "challenger").version) == "2"


def test_same_spec_and_data_give_the_same_metrics(first, second) -> None:
    assert second.metrics == first.metrics


def test_cancel_ends_the_mlflow_run_as_killed(workspace, client) -> None:
    class CancelAtFirstEpoch(Callback):
        def on_epoch_end(self, state: FitState) -> None:
            raise TrainingCancelled("cancelled by the user")

    settings, csv = workspace
    spec = parse_spec({**RAW_SPEC, "data": {"path": str(csv), "target": "churn"},
                       "tracking": {"experiment": "cancelled"}})  # fmt: skip
    with pytest.raises(TrainingCancelled):
        run(spec, callbacks=[CancelAtFirstEpoch()], settings=settings)
    configure_tracking(settings)
    runs = mlflow.search_runs(experiment_names=["cancelled"])
    assert runs["status"].tolist() == ["KILLED"]


def test_predict_cli_writes_input_plus_predictions(first, workspace, tmp_path, monkeypatch) -> None:
    from dlstudio.cli import main

    settings, _ = workspace
    monkeypatch.setenv("DLSTUDIO_HOME", str(settings.home))
    new = tmp_path / "new.csv"
    make_customers(40, seed=5).drop(columns=["churn"]).to_csv(new, index=False)
    out = tmp_path / "scored.parquet"
    assert (
        main(
            [
                "predict",
                "--model",
                "models:/customers@champion",
                "--data",
                str(new),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    scored = pd.read_parquet(out)
    assert len(scored) == 40
    assert {"customer_id", "tenure", "prediction", "probability_yes"} <= set(scored.columns)


def test_predict_cli_explains_each_row_with_the_columns_that_moved_it(
    first, workspace, tmp_path, monkeypatch
) -> None:
    from dlstudio.cli import main

    monkeypatch.setenv("DLSTUDIO_HOME", str(workspace[0].home))
    new = tmp_path / "new.csv"
    rows = make_customers(30, seed=8).drop(columns=["churn"])
    rows.to_csv(new, index=False)
    out = tmp_path / "explained.csv"

    code = main(["predict", "--model", "models:/customers@champion", "--data", str(new),
                 "--output", str(out), "--explain"])  # fmt: skip

    assert code == 0
    scored = pd.read_csv(out, keep_default_na=False)
    assert scored["customer_id"].tolist() == rows["customer_id"].tolist()
    assert list(scored.columns[-3:]) == ["reason_1", "reason_2", "reason_3"]
    columns = "|".join(rows.columns)
    assert scored["reason_1"].str.match(
        rf"^(?:{columns}) = .+ (?:raises|lowers) the chance of (?:yes|no) \([+-]"
    ).all()


def test_the_run_logs_how_much_each_column_matters_on_the_test_rows(first, workspace) -> None:
    from dlstudio.tracking.queries.details import run_details

    importance = run_details(workspace[0], first.run_id).importance

    assert importance is not None and importance.metric == "f1_macro" and importance.repeats == 3
    inputs = set(make_customers(20).columns) - {"churn", "customer_id"}  # the id is left out
    assert set(importance.columns["column"]) <= inputs
    assert importance.columns["worsens_by"].is_monotonic_decreasing


def test_predict_keeps_an_input_column_named_prediction(
    first, workspace, tmp_path, monkeypatch
) -> None:
    from dlstudio.cli import main

    monkeypatch.setenv("DLSTUDIO_HOME", str(workspace[0].home))
    new = tmp_path / "new.csv"
    make_customers(10, seed=6).rename(columns={"churn": "prediction"}).to_csv(new, index=False)
    out = tmp_path / "scored.csv"
    assert (
        main(["predict", "--model", first.model_uri, "--data", str(new), "--output", str(out)]) == 0
    )
    scored = pd.read_csv(out)
    assert {"prediction_input", "prediction"} <= set(scored.columns)
    assert not list(tmp_path.glob(".*.partial"))


def test_training_into_a_deleted_experiment_says_how_to_fix(workspace, client) -> None:
    from dlstudio.errors import SpecError

    settings, csv = workspace
    client.delete_experiment(client.create_experiment("gone"))
    spec = parse_spec({**RAW_SPEC, "data": {"path": str(csv), "target": "churn"},
                       "tracking": {"experiment": "gone"}})  # fmt: skip
    with pytest.raises(SpecError, match="was deleted") as caught:
        run(spec, settings=settings)
    assert "restore it in the MLflow UI" in str(caught.value)
