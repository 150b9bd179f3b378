"""Reading runs back from a real (temporary) MLflow SQLite store, with runs logged by hand."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from urllib.parse import unquote

import mlflow
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from dlstudio.settings import Settings, get_settings
from dlstudio.tracking import queries
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

CONFUSION = {"labels": ["no", "yes"], "matrix": [[30, 9], [2, 7]]}
REPORT = {
    "no": {"precision": 0.9375, "recall": 0.769, "f1-score": 0.845, "support": 39.0},
    "yes": {"precision": 0.4375, "recall": 0.778, "f1-score": 0.56, "support": 9.0},
    "accuracy": 0.77,
    "macro avg": {"precision": 0.69, "recall": 0.77, "f1-score": 0.70, "support": 48.0},
    "weighted avg": {"precision": 0.84, "recall": 0.77, "f1-score": 0.79, "support": 48.0},
}
START_TIMES = itertools.count(1_700_000_000_000, 1000)  # distinct, so "newest first" is defined


@pytest.fixture
def settings(mlflow_home: Path) -> Settings:
    settings = get_settings()
    configure_tracking(settings)
    return settings


def log_run(
    *,
    experiment: str = "queries",
    params: dict[str, str] | None = None,
    test: dict[str, float] | None = None,
    epochs: dict[str, list[float]] | None = None,
    end: bool = True,
) -> str:
    """A run shaped like run(spec) logs it; returns its id."""
    experiment_id = ensure_experiment(experiment, get_settings())
    client = MlflowClient()
    run = client.create_run(
        experiment_id,
        start_time=next(START_TIMES),
        tags={"dlstudio.task": "tabular_classification"},
    )
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    per_epoch = [
        Metric(key, value, now, step)
        for key, values in (epochs or {}).items()
        for step, value in enumerate(values, start=1)
    ]
    finals = [Metric(key, value, now, 0) for key, value in (test or {}).items()]
    client.log_batch(run_id, metrics=per_epoch + finals, params=[])
    for key, value in (params or {}).items():
        client.log_param(run_id, key, value)
    if end:
        client.set_terminated(run_id)
    return run_id


def test_run_history_has_every_epoch_metric_but_no_test_score(settings: Settings) -> None:
    run_id = log_run(
        epochs={"train_loss": [0.7, 0.5, 0.4], "val_f1_macro": [0.6, 0.7, 0.75]},
        test={"test_f1_macro": 0.74},
    )
    history = queries.run_history(settings, run_id)
    assert list(history.columns) == ["epoch", "metric", "value"]
    assert history[history.metric == "train_loss"]["value"].tolist() == [0.7, 0.5, 0.4]
    assert history[history.metric == "val_f1_macro"]["epoch"].tolist() == [1, 2, 3]
    assert set(history.metric) == {"train_loss", "val_f1_macro"}
    assert history["epoch"].dtype.kind == "i"


def test_run_history_reads_a_run_still_training(settings: Settings) -> None:
    run_id = log_run(epochs={"val_loss": [0.9]}, end=False)
    history = queries.run_history(settings, run_id)
    assert history[["epoch", "value"]].values.tolist() == [[1, 0.9]]


def test_run_history_of_a_run_without_epochs_is_empty_with_columns(settings: Settings) -> None:
    history = queries.run_history(settings, log_run())
    assert history.empty
    assert list(history.columns) == ["epoch", "metric", "value"]


def test_run_details_reads_scores_baseline_and_reports(settings: Settings) -> None:
    run_id = log_run(
        test={"test_f1_macro": 0.70, "baseline_test_f1_macro": 0.65, "test_accuracy": 0.77}
    )
    with mlflow.start_run(run_id=run_id):
        mlflow.log_dict(CONFUSION, "confusion_matrix.json")
        mlflow.log_dict(REPORT, "classification_report.json")
        mlflow.log_text("task: tabular_classification\n", "spec.yaml")
        mlflow.set_tags({"dlstudio.verdict": "Beats the baseline", "dlstudio.baseline": "hgb"})
    details = queries.run_details(settings, run_id)
    assert details.status == "FINISHED" and details.finished
    assert details.metrics == {"f1_macro": 0.70, "accuracy": 0.77}
    assert details.baseline == {"f1_macro": 0.65}
    assert details.beats_baseline is True
    assert details.verdict == "Beats the baseline"
    assert (details.labels, details.confusion) == (["no", "yes"], [[30, 9], [2, 7]])
    assert details.per_class["class"].tolist() == ["no", "yes"]  # no "accuracy" or "... avg"
    assert details.per_class["support"].tolist() == [39, 9]
    assert details.per_class["precision"].tolist() == [0.9375, 0.4375]
    assert details.spec_yaml == "task: tabular_classification\n"
    assert details.model_uri == f"runs:/{run_id}/model"
    assert f"runs:/{run_id}/model" in details.model_reference()


def test_metric_cards_give_the_difference_to_the_baseline(settings: Settings) -> None:
    run_id = log_run(
        test={
            "test_accuracy": 0.80,
            "baseline_test_accuracy": 0.85,
            "test_f1_macro": 0.75,
            "baseline_test_f1_macro": 0.70,
            "test_recall_macro": 0.6,  # no baseline for it: a card without delta
        }
    )
    cards = {c.metric: c for c in queries.metric_cards(queries.run_details(settings, run_id))}
    assert list(cards) == ["accuracy", "recall_macro", "f1_macro"]
    assert cards["accuracy"].delta == pytest.approx(-0.05)
    assert cards["f1_macro"].delta == pytest.approx(0.05)
    assert cards["f1_macro"].label == "F1 (macro) · primary"
    assert cards["recall_macro"].delta is None


def test_unknown_run_id_raises_a_user_error(settings: Settings) -> None:
    with pytest.raises(queries.UnknownRun, match="'0123abcd'"):
        queries.run_details(settings, "0123abcd")
    with pytest.raises(queries.UnknownRun):
        queries.run_history(settings, "not a run")


def test_run_url_points_at_the_run_page() -> None:
    url = queries.run_url("http://mlflow.local:5000/", "7", "abc123")
    assert url == "http://mlflow.local:5000/#/experiments/7/runs/abc123"


def test_compare_url_carries_json_lists_of_run_and_experiment_ids() -> None:
    url = queries.compare_url("http://mlflow.local:5000", ["r1", "r2"], ["3"])
    prefix = "http://mlflow.local:5000/#/compare-runs?runs="
    assert url.startswith(prefix)
    runs, experiments = url.removeprefix(prefix).split("&experiments=")
    assert json.loads(unquote(runs)) == ["r1", "r2"]
    assert json.loads(unquote(experiments)) == ["3"]
    assert '"' not in url and "[" not in url  # encoded, so the link survives any renderer


def test_compare_runs_puts_runs_side_by_side_differing_params_first(settings: Settings) -> None:
    first = log_run(
        params={"training.preset": "fast", "data.target": "churn"},
        test={"test_f1_macro": 0.7, "baseline_test_f1_macro": 0.6},
    )
    second = log_run(
        experiment="other",
        params={"training.preset": "best", "data.target": "churn"},
        test={"test_f1_macro": 0.8, "baseline_test_f1_macro": 0.6},
    )
    comparison = queries.compare_runs(settings, [first, second])
    columns = list(comparison.metrics.columns)
    assert [c[-9:-1] for c in columns] == [first[:8], second[:8]]
    assert comparison.metrics.loc["test_f1_macro"].tolist() == [0.7, 0.8]
    assert comparison.params.index.tolist() == ["training.preset", "data.target"]
    assert comparison.params.loc["training.preset"].tolist() == ["fast", "best"]
    assert comparison.score_names == ["test_f1_macro"]
    assert comparison.run_ids == [first, second]
    assert len(comparison.experiment_ids) == 2


def test_compare_runs_refuses_unknown_or_unsafe_ids(settings: Settings) -> None:
    known = log_run()
    with pytest.raises(queries.UnknownRun, match="0123abcd"):
        queries.compare_runs(settings, [known, "0123abcd"])
    with pytest.raises(queries.UnknownRun, match="is not a run id"):
        queries.compare_runs(settings, [known, "x') OR ('1'='1"])


def test_comparable_runs_can_be_filtered_by_experiment(settings: Settings) -> None:
    first = log_run(experiment="alpha")
    second = log_run(experiment="beta")
    runs = queries.comparable_runs(settings)
    assert runs["run_id"].tolist() == [second, first]  # newest first
    assert queries.distinct(runs, "experiment") == ["alpha", "beta"]
    only_alpha = queries.filter_runs(runs, experiment="alpha", task="tabular_classification")
    assert only_alpha["run_id"].tolist() == [first]
    assert queries.run_labels(only_alpha) == {first: only_alpha["run"].iloc[0]}


def test_runs_history_labels_each_run(settings: Settings) -> None:
    first = log_run(epochs={"val_loss": [0.5, 0.4]})
    second = log_run(epochs={"val_loss": [0.6]})
    history = queries.runs_history(settings, [first, second])
    by_run = history.groupby("run")["value"].apply(list).to_dict()
    labels = queries.run_labels(queries.comparable_runs(settings))
    assert by_run == {labels[first]: [0.5, 0.4], labels[second]: [0.6]}
    assert queries.history_metrics(history) == ["val_loss"]


def test_only_finished_runs_are_offered_for_prediction(settings: Settings) -> None:
    finished, training = log_run(), log_run(end=False)
    choices = queries.finished_run_choices(settings)
    assert finished in choices and training not in choices
