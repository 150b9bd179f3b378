"""The model report (issue 20): every run logs a self-contained ``report.html`` that shows the
figures it logged, loads nothing from the network and escapes what users named."""

from __future__ import annotations

import io
import logging
import re
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from dlstudio.data.checks import Finding
from dlstudio.data.sources import DataSource
from dlstudio.explain import model_report
from dlstudio.explain.model_report import (
    REPORT_FILE,
    DataSummary,
    ReportInputs,
    log_report,
    render_report,
    report_file_name,
    report_for_run,
    summarize_data,
)
from dlstudio.explain.report_html import number
from dlstudio.settings import Settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.base import TrainingData
from dlstudio.tracking.queries import RunDetails
from dlstudio.tracking.queries.details import ColumnImportance, ForecastArtifacts
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from dlstudio.training import run
from tests.conftest import make_customers

HOSTILE = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
MADE = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> tuple:
    """One finished 2-epoch tabular run (a two-class target, so with calibration) whose data has
    a column named like a script; its settings and run id."""
    home = tmp_path_factory.mktemp("report-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    csv = home / "customers.csv"
    make_customers().rename(columns={"plan": HOSTILE}).to_csv(csv, index=False)
    spec = parse_spec(
        {"data": {"path": str(csv), "target": "churn"}, "training": {"preset": "fast", "epochs": 2}}
    )
    settings = Settings(home=home, torch_threads=1)
    with pytest.MonkeyPatch.context() as env:  # never a user's shared MLflow server
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec, settings=settings)
    return settings, result.run_id


@pytest.fixture
def logged(trained: tuple) -> str:
    """The report the trained run logged."""
    settings, run_id = trained
    configure_tracking(settings)
    return mlflow.artifacts.load_text(f"runs:/{run_id}/{REPORT_FILE}")


class ResourceLinks(HTMLParser):
    """Every tag name and every attribute that makes a browser fetch something."""

    FETCHING: ClassVar[set[str]] = {
        "src",
        "href",
        "srcset",
        "action",
        "data",
        "poster",
        "xlink:href",
        "background",
    }

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value or "" for name, value in attrs if name in self.FETCHING]


def resource_links(document: str) -> ResourceLinks:
    parser = ResourceLinks()
    parser.feed(document)
    return parser


def test_a_training_run_logs_its_report(trained: tuple) -> None:
    settings, run_id = trained
    configure_tracking(settings)
    names = {item.path for item in MlflowClient().list_artifacts(run_id)}
    assert REPORT_FILE in names


def test_the_report_shows_the_test_and_baseline_scores_logged(trained: tuple, logged: str) -> None:
    logged_run = MlflowClient().get_run(trained[1])
    scores = {k: v for k, v in logged_run.data.metrics.items() if k.startswith("test_")}
    baseline = {k: v for k, v in logged_run.data.metrics.items() if k.startswith("baseline_test_")}
    assert scores and baseline
    table = logged.split("Scores against the classical baseline", 1)[1].split("</section>")[0]
    for value in [*scores.values(), *baseline.values()]:
        assert f">{number(value)}</td>" in table
    assert f"baseline ({logged_run.data.tags['dlstudio.baseline']})" in table


def test_the_report_says_who_trained_it_on_what_data_when_and_where(
    trained: tuple, logged: str
) -> None:
    tags = MlflowClient().get_run(trained[1]).data.tags
    for shown in (
        "customers.csv",
        tags["dlstudio.dataset_version"],
        f"{int(tags['dlstudio.dataset_rows']):,}",
        tags["mlflow.user"],
        tags["dlstudio.device"],
        "target: churn",  # the spec
    ):
        assert f">{shown}<" in logged or shown in logged
    started = MlflowClient().get_run(trained[1]).info.start_time
    assert f"{datetime.fromtimestamp(started / 1000, UTC):%Y-%m-%d %H:%M} UTC" in logged


def test_the_report_has_every_section_of_a_two_class_table_run(logged: str) -> None:
    for heading in (
        "About this model",
        "Data",
        "Data checks",
        "Scores against the classical baseline",
        "Models compared",
        "Confusion matrix and scores per class",
        "What the model relies on",
        "Can its probabilities be trusted?",
        "Learning curves",
        "Intended use and limits",
        "Spec",
    ):
        assert f"<h2>{heading}</h2>" in logged
    assert logged.count("<svg") == 2  # importance, reliability
    # the confusion matrix and the curves the run logged as PNG, inside the file
    assert logged.count('src="data:image/png;base64,') == 2
    assert "Brier score" in logged


def test_the_report_loads_nothing_from_the_network(logged: str) -> None:
    found = resource_links(logged)
    assert not found.tags & {"script", "link", "iframe", "object", "embed", "base"}
    assert found.links  # the confusion matrix's image, inline
    assert all(re.match(r"(#|data:)", link) for link in found.links)
    # CSS and SVG references point inside the file (a clip path's #id), never outside
    references = re.findall(r"url\(\s*['\"]?([^)'\"]*)", logged)
    assert all(ref.startswith(("#", "data:")) for ref in references)
    assert "@import" not in logged
    # the SVGs' namespace names are URLs that are never fetched; nothing else may be one
    assert not re.search(r"https?://", re.sub(r'xmlns(:\w+)?="[^"]*"', "", logged))


def test_a_column_named_like_a_script_is_shown_escaped(logged: str) -> None:
    assert "<script" not in logged.lower()
    assert ESCAPED in logged  # the data profile and the importance table
    assert "&lt;script&gt;alert(" in logged.split("<h2>What the model relies on</h2>")[1]


def test_report_for_run_returns_the_logged_report(trained: tuple, logged: str) -> None:
    settings, run_id = trained
    assert report_for_run(settings, run_id) == logged.encode("utf-8")


def test_an_older_run_gets_a_report_made_from_what_mlflow_holds(mlflow_home: Path) -> None:
    settings = Settings(home=mlflow_home)
    configure_tracking(settings)
    experiment = ensure_experiment("older", settings)
    tags = {"dlstudio.task": "tabular_classification", "dlstudio.dataset": "old.csv",
            "dlstudio.baseline": "HistGradientBoosting"}  # fmt: skip
    with mlflow.start_run(experiment_id=experiment, tags=tags) as older:
        mlflow.log_metrics({"test_f1_macro": 0.81234, "baseline_test_f1_macro": 0.75678})
    document = report_for_run(settings, older.info.run_id, now=MADE).decode()
    assert ">0.8123</td>" in document and ">0.7568</td>" in document
    assert "do not record the checks of their data" in document
    assert "2026-01-02 03:04 UTC" in document


def test_a_report_that_fails_does_not_fail_the_run(
    mlflow_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=mlflow_home)
    configure_tracking(settings)

    def broken(inputs: ReportInputs) -> str:
        raise ValueError("a bug in the report")

    monkeypatch.setattr(model_report, "render_report", broken)
    source = DataSource(TrainingData(make_customers(20)), "customers.csv", "v1")
    experiment = ensure_experiment("failing", settings)
    with (
        mlflow.start_run(experiment_id=experiment) as active,
        caplog.at_level(logging.WARNING, logger=model_report.__name__),
    ):
        log_report(active.info.run_id, source, findings=[], settings=settings)
    assert "Could not make the model report" in caplog.text
    assert "a bug in the report" in caplog.text
    assert REPORT_FILE not in {a.path for a in MlflowClient().list_artifacts(active.info.run_id)}


def details_of(task: str, **fields) -> RunDetails:
    """A finished run as the Results page reads it, with hostile names everywhere."""
    base = dict(
        run_id="r1", experiment_id="0", name=f"run {HOSTILE}", status="FINISHED", task=task,
        dataset=f"{HOSTILE}.csv", metrics={"mase": 0.8}, baseline={"mase": 0.9},
        baseline_name=f"seasonal {HOSTILE}", primary_metric="mase", higher_is_better=False,
        verdict=f"Beats {HOSTILE}.", params={},
        tags={"dlstudio.dataset_version": HOSTILE, "mlflow.user": HOSTILE},
        spec_yaml=f"data:\n  target: {HOSTILE}\n",
    )  # fmt: skip
    return RunDetails(**{**base, **fields})


def inputs_of(details: RunDetails, **fields) -> ReportInputs:
    history = pd.DataFrame({"epoch": [1, 2, 1, 2], "metric": ["train_loss"] * 2 + ["val_mae"] * 2,
                            "value": [1.0, 0.5, 2.0, 1.5]})  # fmt: skip
    return ReportInputs(details, history, MADE, MADE, **fields)


def test_every_user_string_is_escaped_in_a_classification_report() -> None:
    labels = [HOSTILE, "ok"]
    per_class = pd.DataFrame({"class": labels, "precision": [0.5, 0.6], "recall": [0.5, 0.6],
                              "F1": [0.5, 0.6], "support": [10, 12]})  # fmt: skip
    mistakes = pd.DataFrame({"text": [HOSTILE], "true": [HOSTILE], "predicted": ["ok"],
                             "probability": [0.9]})  # fmt: skip
    importance = ColumnImportance("f1_macro", 22, 3, pd.DataFrame(
        {"column": [HOSTILE, "b$c$"], "worsens_by": [0.2, 0.1], "spread": [0.01, 0.02]}))  # fmt: skip
    details = details_of(
        "text_sentiment", metrics={"f1_macro": 0.7}, baseline={"f1_macro": 0.6},
        primary_metric="f1_macro", higher_is_better=True, labels=labels,
        confusion=[[5, 5], [2, 10]], per_class=per_class, mistakes=mistakes, importance=importance,
        calibration={"positive_class": HOSTILE, "brier": 0.2, "base_rate": 0.4,
                     "bins": [{"predicted": 0.3, "observed": 0.2, "rows": 10}]},
    )  # fmt: skip
    summary = summarize_data(TrainingData(pd.DataFrame({HOSTILE: ["a", "b"], "y": [HOSTILE, "n"]})),
                             target="y")  # fmt: skip
    findings = (Finding("warning", f"Column {HOSTILE} looks odd.", f"Drop {HOSTILE}."),)
    document = render_report(inputs_of(details, data=summary, findings=findings))
    assert "<script" not in document.lower()
    assert resource_links(document).tags.isdisjoint({"script", "iframe"})
    # the title, run name, dataset, version, user, verdict, baseline, data, checks, classes, spec
    assert document.count(ESCAPED) >= 15
    assert f"Drop {ESCAPED}." in document


def test_a_forecast_report_draws_the_backtest_and_states_the_coverage() -> None:
    times = pd.date_range("2024-01-01", periods=12, freq="MS")
    history = pd.DataFrame({"series": HOSTILE, "time": times, "actual": np.arange(12.0)})
    backtest = pd.DataFrame({"series": HOSTILE, "origin": times[8], "step": [1, 2, 3],
                             "time": times[9:], "actual": [9.0, 10, 11], "forecast": [9.5, 10, 11],
                             "seasonal_naive": [8.0, 9, 10]})  # fmt: skip
    forecast = ForecastArtifacts(backtest, history, None,
                                 [{"step": 1, "model": "ours", "mase": 0.5}])  # fmt: skip
    details = details_of("forecasting", forecast=forecast,
                         metrics={"mase": 0.8, "coverage80": 0.5})  # fmt: skip
    document = render_report(inputs_of(details))
    assert "<h2>Forecast</h2>" in document and "MASE by forecast step" in document
    assert "too narrow" in document  # the coverage verdict, in the limits too
    assert "<script" not in document.lower()


def test_a_regression_report_plots_its_test_predictions() -> None:
    predictions = pd.DataFrame({"actual": [1.0, 2.0, 3.0], "predicted": [1.1, 1.9, 3.3]})
    details = details_of("tabular_regression", metrics={"mae": 0.2, "r2": 0.9},
                         baseline={"mae": 0.3, "r2": 0.8}, primary_metric="mae",
                         test_predictions=predictions)  # fmt: skip
    document = render_report(inputs_of(details))
    assert "<h2>Predictions on the test rows</h2>" in document
    scores = document.split("<h2>Scores against the classical baseline</h2>")[1]
    assert "R²</td>" in scores and ">ours</td>" in scores  # R² is better higher, MAE lower


def test_an_image_report_embeds_its_mistakes_sheet_in_the_file() -> None:
    figure = plt.figure(figsize=(1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    details = details_of("image_classification", mistakes_sheet=buffer.getvalue())
    document = render_report(inputs_of(details))
    assert '<img alt="mistakes" src="data:image/png;base64,' in document


def test_data_summary_profiles_a_big_table_on_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_report, "PROFILE_ROWS", 50)
    frame = pd.DataFrame({"x": range(200), "y": ["a", "b"] * 100})
    summary = summarize_data(TrainingData(frame), target="y")
    assert (summary.rows, summary.profiled_rows) == (200, 50)
    assert sum(summary.balance.values()) == 50
    document = render_report(inputs_of(details_of("tabular_classification"), data=summary))
    assert "200 rows and 2 columns, profiled on a random sample of 50 rows." in document


def test_report_file_name_keeps_only_safe_characters() -> None:
    details = details_of("forecasting", name="my run/../<x>")
    assert report_file_name(details) == "my-run-..-x-report.html"
    assert report_file_name(details_of("forecasting", name="")) == "r1-report.html"


def test_a_data_summary_without_checks_says_nothing_was_found() -> None:
    summary = DataSummary(3, pd.DataFrame({"column": ["x"]}), None, None, 3)
    document = render_report(inputs_of(details_of("forecasting"), data=summary, findings=()))
    assert "The checks before training found nothing." in document
