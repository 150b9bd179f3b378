"""Reading runs back from a real (temporary) MLflow SQLite store, with runs logged by hand."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from urllib.parse import unquote

import mlflow
import pandas as pd
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


BACKTEST = """series,origin,step,time,actual,forecast,forecast_p10,forecast_p90,seasonal_naive,holt_winters
007,2020-05-01T00:00:00,1,2020-06-01T00:00:00,5.0,5.5,4.0,7.0,2.0,6.0
007,2020-05-01T00:00:00,2,2020-07-01T00:00:00,6.0,6.5,5.0,8.0,3.0,7.0
007,2020-06-01T00:00:00,1,2020-07-01T00:00:00,6.0,6.5,5.0,8.0,3.0,7.0
007,2020-06-01T00:00:00,2,2020-08-01T00:00:00,7.0,7.5,6.0,9.0,4.0,8.0
"""
TAIL = "series,time,actual\n007,2020-05-01,4.0\n007,2020-06-01,5.0\n"
HORIZON_ERRORS = {
    "rows": [
        {"step": 1, "model": "LSTM", "mae": 0.5, "rmse": 0.5, "smape": 8.0, "mase": 0.4},
        {"step": 1, "model": "seasonal naive", "mae": 3, "rmse": 3, "smape": 60, "mase": 1},
    ]
}


def log_forecasting_run(*, future: bool) -> str:
    """A finished forecasting run with the artifacts the template logs."""
    run_id = log_run(
        test={
            "test_mase": 0.6,
            "baseline_test_mase": 0.9,
            "test_mae": 2.0,
            "baseline_test_mae": 1.5,
        }
    )
    with mlflow.start_run(run_id=run_id):
        mlflow.log_text(BACKTEST, "backtest.csv")
        mlflow.log_text(TAIL, "series_tail.csv")
        mlflow.log_dict(HORIZON_ERRORS, "horizon_errors.json")
        if future:
            mlflow.log_text("series,time,forecast\n007,2020-09-01,8.5\n", "future_forecast.csv")
        mlflow.set_tags(
            {
                "dlstudio.task": "forecasting",
                "dlstudio.primary_metric": "mase",
                "dlstudio.higher_is_better": "false",
            }
        )
    return run_id


def test_run_details_reads_a_forecasting_runs_tables(settings: Settings) -> None:
    forecast = queries.run_details(settings, log_forecasting_run(future=True)).forecast
    assert forecast is not None
    assert forecast.series == ["007"]  # an id, not the number 7
    assert forecast.backtest["origin"].dt.month.tolist() == [5, 5, 6, 6]
    assert forecast.backtest["forecast_p90"].tolist() == [7.0, 8.0, 8.0, 9.0]
    assert forecast.history["time"].dt.month.tolist() == [5, 6]
    assert forecast.future[["series", "forecast"]].values.tolist() == [["007", 8.5]]
    assert forecast.horizon_errors == HORIZON_ERRORS["rows"]
    assert forecast.error_metrics == ["mase", "smape", "mae", "rmse"]


def test_forecast_origins_are_offered_after_the_one_step_ahead_view(settings: Settings) -> None:
    forecast = queries.run_details(settings, log_forecasting_run(future=False)).forecast
    assert forecast.future is None  # not logged: no future forecast, no error
    assert list(forecast.origins("007").values()) == [
        "newest forecast of each date",
        "made at 2020-05-01, 2 steps ahead",
        "made at 2020-06-01, 2 steps ahead",
    ]


def test_a_classification_run_has_no_forecast(settings: Settings) -> None:
    assert queries.run_details(settings, log_run()).forecast is None


def test_metric_cards_of_a_forecast_read_lower_as_better(settings: Settings) -> None:
    details = queries.run_details(settings, log_forecasting_run(future=False))
    cards = {c.metric: c for c in queries.metric_cards(details)}
    assert list(cards) == ["mae", "mase"]
    assert cards["mase"].label == "MASE · primary"
    assert cards["mase"].delta == pytest.approx(-0.3)  # lower than the baseline: better
    assert not cards["mase"].higher_is_better
    assert details.beats_baseline is True


def test_a_single_origin_is_offered_alone() -> None:
    """One step ahead from one origin would be a single point: the whole horizon shows instead."""
    origin = pd.Timestamp("2021-12-01")
    backtest = pd.DataFrame(
        {"series": "all", "origin": origin, "step": [1, 2], "time": ["2022-01-01", "2022-02-01"]}
    )
    forecast = queries.ForecastArtifacts(backtest, backtest, None, None)
    assert forecast.origins("all") == {origin: "made at 2021-12-01, 2 steps ahead"}
    assert forecast.error_metrics == []


MISTAKES = [
    {"text": "Not bad at all", "true": "positive", "predicted": "negative", "probability": 0.91},
    {"text": "Fine, I guess", "true": "neutral", "predicted": "positive", "probability": 0.62},
]


def test_run_details_reads_a_text_runs_mistakes_in_order(settings: Settings) -> None:
    run_id = log_run()
    with mlflow.start_run(run_id=run_id):
        mlflow.log_dict(MISTAKES, "mistakes.json")
    mistakes = queries.run_details(settings, run_id).mistakes
    assert list(mistakes.columns) == ["text", "true", "predicted", "probability"]
    assert mistakes["text"].tolist() == ["Not bad at all", "Fine, I guess"]
    assert mistakes["probability"].tolist() == [0.91, 0.62]


def test_a_text_run_without_mistakes_has_an_empty_table(settings: Settings) -> None:
    run_id = log_run()
    with mlflow.start_run(run_id=run_id):
        mlflow.log_dict([], "mistakes.json")
    mistakes = queries.run_details(settings, run_id).mistakes
    assert mistakes.empty
    assert list(mistakes.columns) == ["text", "true", "predicted", "probability"]


def test_a_run_that_logged_no_mistakes_file_has_none(settings: Settings) -> None:
    assert queries.run_details(settings, log_run()).mistakes is None


def test_a_tie_with_the_baseline_is_neither_green_nor_a_win(settings: Settings) -> None:
    details = queries.run_details(
        settings, log_run(test={"test_f1_macro": 0.8004, "baseline_test_f1_macro": 0.8})
    )
    assert details.baseline_result == "ties"
    assert details.beats_baseline is False  # the Results page shows it amber, not green
    card = next(c for c in queries.metric_cards(details) if c.metric == "f1_macro")
    assert card.tie and card.delta_color == "off"
    won = queries.run_details(
        settings, log_run(test={"test_f1_macro": 0.85, "baseline_test_f1_macro": 0.8})
    )
    assert won.beats_baseline is True
    assert next(c for c in queries.metric_cards(won) if c.metric == "f1_macro").delta_color == (
        "normal"
    )
