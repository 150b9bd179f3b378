"""One run as the Results page shows it: metrics against the baseline, the report artifacts
(confusion matrix, per-class scores, forecasts, mistakes, test predictions, the models compared,
the decision threshold and the columns' importance) and where its model is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from dlstudio.evaluation.metrics import Result, against
from dlstudio.settings import Settings
from dlstudio.tracking.queries.model_choice import (
    Decision,
    ModelCandidates,
    read_candidates,
    read_decision,
)
from dlstudio.tracking.queries.runs import get_run
from dlstudio.tracking.setup import configure_tracking

CARD_METRICS = {
    "accuracy": "Accuracy",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "f1_macro": "F1 (macro)",
    "mae": "MAE",  # forecasting: lower is better
    "rmse": "RMSE",
    "smape": "sMAPE",
    "mase": "MASE",
    "r2": "R²",  # regression: higher is better, whatever the primary metric
    "mape": "MAPE",
}
HIGHER_IS_BETTER = {"r2"}  # cards whose direction is not the primary metric's
# Runs logged before run() tagged its primary metric were all tabular classification.
DEFAULT_PRIMARY_METRIC = "f1_macro"
# text runs log each mistake's text; image runs log the image's file in the ZIP instead
MISTAKE_COLUMNS = ["text", "true", "predicted", "probability"]
ERROR_METRICS = ("mase", "smape", "mae", "rmse")  # forecast errors, the scale-free first


@dataclass(frozen=True)
class ForecastArtifacts:
    """What a forecasting run logs to draw its forecasts: times as timestamps, series as text."""

    backtest: pd.DataFrame  # series, origin, step, time, actual, forecast[, _p10, _p90], baselines
    history: pd.DataFrame  # series, time, actual: the recent past of each series
    future: pd.DataFrame | None  # series, time, forecast[, _p10, _p90]; None when not logged
    horizon_errors: list[dict] | None  # step, model and one value per metric

    @property
    def series(self) -> list[str]:
        return sorted(self.backtest["series"].unique())

    def origins(self, series: str) -> dict[pd.Timestamp | None, str]:
        """The backtest's forecast origins of one series -> label, after None (each date's
        newest forecast) when there are several."""
        made = sorted(self.backtest.loc[self.backtest["series"] == series, "origin"].unique())
        steps = int(self.backtest["step"].max())
        labels: dict[pd.Timestamp | None, str] = (
            {None: "newest forecast of each date"} if len(made) > 1 else {}
        )
        for origin in made:
            labels[origin] = f"made at {_timestamp_text(origin)}, {steps} steps ahead"
        return labels

    @property
    def error_metrics(self) -> list[str]:
        """The metrics of ``horizon_errors``, scale-free ones first."""
        logged = {key for row in self.horizon_errors or [] for key in row} - {"step", "model"}
        return [m for m in ERROR_METRICS if m in logged] + sorted(logged - set(ERROR_METRICS))


def _timestamp_text(moment: pd.Timestamp) -> str:
    """A date alone when there is no time of day to show."""
    return f"{moment:%Y-%m-%d}" if moment == moment.normalize() else f"{moment:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class RunDetails:
    """One run as the Results page shows it. Metric names carry no ``test_`` prefix."""

    run_id: str
    experiment_id: str
    name: str
    status: str  # RUNNING, FINISHED, FAILED, KILLED, SCHEDULED
    task: str | None
    dataset: str | None
    metrics: dict[str, float]  # ours, on the test split
    baseline: dict[str, float]  # the strongest classical model, same split
    baseline_name: str | None
    primary_metric: str
    higher_is_better: bool
    verdict: str | None
    params: dict[str, str]
    tags: dict[str, str]
    labels: list[str] = field(default_factory=list)  # class names, confusion-matrix order
    confusion: list[list[int]] = field(default_factory=list)  # rows true, columns predicted
    per_class: pd.DataFrame | None = None  # class, precision, recall, F1, support
    spec_yaml: str | None = None
    logged_model_uri: str | None = None  # models:/m-... (MLflow 3 logged model)
    registered: list[str] = field(default_factory=list)  # "name version N"
    forecast: ForecastArtifacts | None = None  # forecasting runs only
    mistakes: pd.DataFrame | None = None  # text or image, true, predicted, probability
    mistakes_sheet: bytes | None = None  # image runs: PNG of the mistakes' thumbnails
    mistakes_heat: bytes | None = None  # the same with Grad-CAM heat maps over them
    test_predictions: pd.DataFrame | None = None  # regression: actual, predicted per test row
    candidates: ModelCandidates | None = None  # tabular: the models compared on validation
    decision: Decision | None = None  # two classes: the tuned decision threshold
    importance: ColumnImportance | None = None  # table models: permutation importance
    calibration: dict | None = None  # two classes: calibration.json (Brier score, bins)

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/model"

    @property
    def backbone(self) -> str | None:
        """The pretrained network the model starts from, its data, licence and source, in one
        line; None for a model trained from scratch."""
        name = self.params.get("backbone")
        if not name:
            return None
        return (f"{name}, pretrained on {self.params.get('backbone_pretrained_on', 'unknown data')}"
                f" · licence {self.params.get('backbone_licence', 'unknown')}"
                f" · {self.params.get('backbone_source', 'source unknown')}")  # fmt: skip

    @property
    def finished(self) -> bool:
        return self.status == "FINISHED"

    @property
    def in_progress(self) -> bool:
        return self.status in ("RUNNING", "SCHEDULED")

    def model_reference(self) -> str:
        """A text saying where the trained model is and how to load it."""
        lines = [f"run model:       {self.model_uri}"]
        if self.logged_model_uri:
            lines.append(f"logged model:    {self.logged_model_uri}")
        lines += [f"registered as:   {name}" for name in self.registered]
        lines.append(f'load it with:    mlflow.pyfunc.load_model("{self.model_uri}")')
        return "\n".join(lines) + "\n"

    @property
    def beats_baseline(self) -> bool | None:
        """Whether the primary metric clearly beats the baseline's (a tie does not); None when
        either is missing."""
        result = self.baseline_result
        return None if result is None else result == "wins"

    @property
    def baseline_result(self) -> Result | None:
        """Ours against the strongest classical model on the primary metric: wins, ties or
        loses (as the verdict words it); None when either score is missing."""
        ours, theirs = self.metrics.get(self.primary_metric), self.baseline.get(self.primary_metric)
        if ours is None or theirs is None:
            return None
        return against(ours, theirs, higher_is_better=self.higher_is_better)


def run_details(settings: Settings, run_id: str) -> RunDetails:
    """Metrics, baseline, params, tags and report artifacts of one run.

    Raises:
        UnknownRun: no run has this id.
    """
    configure_tracking(settings)
    client = MlflowClient()
    run = get_run(client, run_id)
    tags, metrics = run.data.tags, run.data.metrics
    artifacts = {item.path for item in client.list_artifacts(run_id)}

    def artifact(name: str, load: Callable[[str], Any]) -> Any:
        return load(f"runs:/{run_id}/{name}") if name in artifacts else None

    confusion = artifact("confusion_matrix.json", mlflow.artifacts.load_dict) or {}
    report = artifact("classification_report.json", mlflow.artifacts.load_dict)
    outputs = run.outputs.model_outputs if run.outputs else []
    return RunDetails(
        run_id=run_id,
        experiment_id=run.info.experiment_id,
        name=run.info.run_name or "",
        status=run.info.status,
        task=tags.get("dlstudio.task"),
        dataset=tags.get("dlstudio.dataset"),
        metrics=_strip_prefix(metrics, "test_"),
        baseline=_strip_prefix(metrics, "baseline_test_"),
        baseline_name=tags.get("dlstudio.baseline"),
        primary_metric=tags.get("dlstudio.primary_metric", DEFAULT_PRIMARY_METRIC),
        higher_is_better=tags.get("dlstudio.higher_is_better", "true").lower() != "false",
        verdict=tags.get("dlstudio.verdict"),
        params=dict(run.data.params),
        tags=dict(tags),
        labels=[str(label) for label in confusion.get("labels", [])],
        confusion=confusion.get("matrix", []),
        per_class=per_class_table(report) if report else None,
        spec_yaml=artifact("spec.yaml", mlflow.artifacts.load_text),
        logged_model_uri=f"models:/{outputs[0].model_id}" if outputs else None,
        registered=[
            f"{v.name} version {v.version}"
            for v in client.search_model_versions(f"run_id = '{run_id}'")
        ],
        forecast=_forecast(artifact),
        mistakes=artifact("mistakes.json", _read_mistakes),
        mistakes_sheet=artifact("mistakes.png", _read_bytes),
        mistakes_heat=artifact("mistakes_heatmaps.png", _read_bytes),
        test_predictions=artifact("test_predictions.csv", _read_table),
        candidates=read_candidates(artifact("candidates.json", mlflow.artifacts.load_dict) or {}),
        decision=read_decision(artifact("decision.json", mlflow.artifacts.load_dict) or {}),
        importance=artifact("importance.json", _read_importance),
        calibration=artifact("calibration.json", mlflow.artifacts.load_dict),
    )


TEST_ROWS = "test rows"


@dataclass(frozen=True)
class ColumnImportance:
    """``importance.json``: how much the test ``metric`` worsens when a column is shuffled."""

    metric: str
    rows: int
    repeats: int
    columns: pd.DataFrame  # column, worsens_by, spread; the most important first
    unit: str = TEST_ROWS  # what was shuffled across: test rows, or a forecast's backtest windows
    lags: pd.DataFrame | None = None  # a forecast's: lag, worsens_by, spread; lag 1 first

    @property
    def of_rows(self) -> bool:
        """Whether it was measured over the test rows of a table model (one row, one answer)."""
        return self.unit == TEST_ROWS


def _read_importance(uri: str) -> ColumnImportance:
    raw = mlflow.artifacts.load_dict(uri)
    columns = pd.DataFrame(raw["columns"], columns=["column", "worsens_by", "spread"])
    lags = (
        pd.DataFrame(raw["lags"], columns=["lag", "worsens_by", "spread"])
        if "lags" in raw
        else None
    )
    return ColumnImportance(raw["metric"], int(raw["rows"]), int(raw["repeats"]), columns,
                            raw.get("unit", TEST_ROWS), lags)  # fmt: skip


def _forecast(artifact: Callable[[str, Callable[[str], Any]], Any]) -> ForecastArtifacts | None:
    """The forecast tables of a run; None unless it logged a backtest and the recent history."""
    backtest = artifact("backtest.csv", _read_table)
    history = artifact("series_tail.csv", _read_table)
    if backtest is None or history is None:
        return None
    errors = artifact("horizon_errors.json", mlflow.artifacts.load_dict)
    return ForecastArtifacts(
        backtest=backtest,
        history=history,
        future=artifact("future_forecast.csv", _read_table),
        horizon_errors=errors["rows"] if errors else None,
    )


def _read_table(uri: str) -> pd.DataFrame:
    """A logged CSV artifact; series ids stay text, times become timestamps."""
    frame = pd.read_csv(mlflow.artifacts.download_artifacts(uri), dtype={"series": str})
    for column in ("origin", "time"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def _read_mistakes(uri: str) -> pd.DataFrame:
    """The logged most confident mistakes, most confident first (no rows when there were none):
    the text or the image file, true, predicted, probability."""
    records = mlflow.artifacts.load_dict(uri)
    shown = "image" if records and "image" in records[0] else "text"
    return pd.DataFrame(records, columns=[shown, *MISTAKE_COLUMNS[1:]])


def _read_bytes(uri: str) -> bytes:
    """A logged file's bytes (a PNG figure)."""
    return Path(mlflow.artifacts.download_artifacts(uri)).read_bytes()


def per_class_table(report: dict) -> pd.DataFrame:
    """The per-class rows of sklearn's ``classification_report`` (output_dict) as a table."""
    rows = [
        {
            "class": name,
            "precision": scores["precision"],
            "recall": scores["recall"],
            "F1": scores["f1-score"],
            "support": int(scores["support"]),
        }
        for name, scores in report.items()
        if isinstance(scores, dict) and not name.endswith(" avg")
    ]
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "F1", "support"])


@dataclass(frozen=True)
class MetricCard:
    """One st.metric: our test score and its difference to the baseline."""

    metric: str
    label: str
    value: float
    delta: float | None  # ours - baseline
    higher_is_better: bool
    tie: bool = False  # the delta is within what counts as a tie: shown grey, neither way

    @property
    def delta_color(self) -> str:
        """st.metric's delta_color: green when ours is better, red when worse, grey on a tie."""
        if self.tie:
            return "off"
        return "normal" if self.higher_is_better else "inverse"


def metric_cards(details: RunDetails) -> list[MetricCard]:
    """The scores of ``CARD_METRICS`` the run logged and its primary metric, each vs the
    baseline; R² is better higher whatever the run's direction (its errors are better lower)."""
    names = list(CARD_METRICS)
    if details.primary_metric not in names:
        names.append(details.primary_metric)
    cards = []
    for name in names:
        if name not in details.metrics:
            continue
        label = CARD_METRICS.get(name, name)
        if name == details.primary_metric:
            label += " · primary"
        value, theirs = details.metrics[name], details.baseline.get(name)
        delta = None if theirs is None else value - theirs
        higher_is_better = name in HIGHER_IS_BETTER or details.higher_is_better
        tie = theirs is not None and against(
            value, theirs, higher_is_better=higher_is_better
        ) == "ties"  # fmt: skip
        cards.append(MetricCard(name, label, value, delta, higher_is_better, tie))
    return cards


def _strip_prefix(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}
