"""Read runs back from MLflow for the dashboard (plain data, no streamlit here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError
from dlstudio.settings import Settings
from dlstudio.tracking.setup import configure_tracking

RUN_COLUMNS = {
    "run_id": "run",
    "start_time": "started",
    "status": "status",
    "tags.dlstudio.task": "task",
    "tags.dlstudio.dataset": "dataset",
    "tags.dlstudio.device": "device",
    "metrics.test_accuracy": "accuracy",
    "metrics.test_f1_macro": "F1 (macro)",
    "metrics.baseline_test_f1_macro": "baseline F1 (macro)",
    "metrics.test_mase": "MASE",  # forecasting runs
    "metrics.baseline_test_mase": "baseline MASE",
    "tags.dlstudio.verdict": "verdict",
}
HISTORY_COLUMNS = ["epoch", "metric", "value"]
EPOCH_METRIC_PREFIXES = ("train_", "val_")  # logged once per epoch with step=epoch
CARD_METRICS = {
    "accuracy": "Accuracy",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "f1_macro": "F1 (macro)",
    "mae": "MAE",  # forecasting: lower is better
    "rmse": "RMSE",
    "smape": "sMAPE",
    "mase": "MASE",
}
# Runs logged before run() tagged its primary metric were all tabular classification.
DEFAULT_PRIMARY_METRIC = "f1_macro"
DLSTUDIO_RUNS = "tags.`dlstudio.task` != ''"
# text runs log each mistake's text; image runs log the image's file in the ZIP instead
MISTAKE_COLUMNS = ["text", "true", "predicted", "probability"]
RUN_ID = re.compile(r"[A-Za-z0-9][\w-]{0,255}")  # MLflow's own rule; ids go into filters


class UnknownRun(DLStudioError):
    """No MLflow run has the id the user gave."""

    exit_code = 2


def _search_runs(limit: int) -> pd.DataFrame:
    """dlstudio's runs in every experiment, newest first (tracking already configured)."""
    return mlflow.search_runs(
        search_all_experiments=True,
        max_results=limit,
        order_by=["start_time DESC"],
        filter_string=DLSTUDIO_RUNS,
    )


def recent_runs(settings: Settings, *, limit: int = 50) -> pd.DataFrame:
    """The latest dlstudio runs across all experiments, newest first, with friendly headers."""
    configure_tracking(settings)
    runs = _search_runs(limit)
    if runs.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS.values()))
    present = [column for column in RUN_COLUMNS if column in runs.columns]
    return runs[present].rename(columns=RUN_COLUMNS)


def run_label(name: str | None, run_id: str) -> str:
    """How the dashboard names a run: MLflow's run name and the start of its id."""
    return f"{name or 'run'} ({run_id[:8]})"


def run_choices(settings: Settings, *, limit: int = 50) -> dict[str, str]:
    """run id -> label of the latest dlstudio runs, newest first (for pickers)."""
    return run_labels(comparable_runs(settings, limit=limit))


def finished_run_choices(settings: Settings, *, limit: int = 50) -> dict[str, str]:
    """run id -> label of the latest finished dlstudio runs (the ones with a model), newest first."""
    runs = comparable_runs(settings, limit=limit)
    return run_labels(runs[runs["status"] == "FINISHED"])


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """run id -> label for the rows of ``comparable_runs``, in their order."""
    return dict(zip(runs["run_id"], runs["run"], strict=True))


def distinct(runs: pd.DataFrame, column: str) -> list[str]:
    """The values of ``column`` (experiment, task, dataset) in ``runs``, sorted, for filters."""
    return sorted(runs[column].dropna().astype(str).unique())


def run_history(settings: Settings, run_id: str) -> pd.DataFrame:
    """Every per-epoch metric of a run (train_loss, val_*), long format: epoch, metric, value.

    Read from MLflow's metric history, so it also works while the run is still training.

    Raises:
        UnknownRun: no run has this id.
    """
    configure_tracking(settings)
    client = MlflowClient()
    return _history(client, _get_run(client, run_id))


def runs_history(settings: Settings, run_ids: Sequence[str]) -> pd.DataFrame:
    """``run_history`` of several runs stacked, with a ``run`` column holding each run's label."""
    configure_tracking(settings)
    client = MlflowClient()
    parts = []
    for run_id in run_ids:
        run = _get_run(client, run_id)
        parts.append(_history(client, run).assign(run=run_label(run.info.run_name, run_id)))
    columns = ["run", *HISTORY_COLUMNS]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def history_metrics(history: pd.DataFrame) -> list[str]:
    """The metrics present in a history frame, losses first."""
    return sorted(set(history["metric"]), key=lambda m: (not m.endswith("loss"), m))


def _history(client: MlflowClient, run: mlflow.entities.Run) -> pd.DataFrame:
    keys = sorted(k for k in run.data.metrics if k.startswith(EPOCH_METRIC_PREFIXES))
    rows = [
        (point.step, key, point.value)
        for key in keys
        for point in client.get_metric_history(run.info.run_id, key)
    ]
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    history = history.astype({"epoch": int, "metric": str, "value": float})
    return history.sort_values(["metric", "epoch"], ignore_index=True)


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
        """The backtest's forecast origins of one series -> label, after None (one step ahead
        from every origin) when there are several: from one origin that is a single point."""
        made = sorted(self.backtest.loc[self.backtest["series"] == series, "origin"].unique())
        steps = int(self.backtest["step"].max())
        labels: dict[pd.Timestamp | None, str] = (
            {None: "one step ahead, every origin"} if len(made) > 1 else {}
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

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/model"

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
        """Whether the primary metric beats the baseline's; None when either is missing."""
        ours, theirs = self.metrics.get(self.primary_metric), self.baseline.get(self.primary_metric)
        if ours is None or theirs is None:
            return None
        return ours > theirs if self.higher_is_better else ours < theirs


def run_details(settings: Settings, run_id: str) -> RunDetails:
    """Metrics, baseline, params, tags and report artifacts of one run.

    Raises:
        UnknownRun: no run has this id.
    """
    configure_tracking(settings)
    client = MlflowClient()
    run = _get_run(client, run_id)
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
    )


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


def metric_cards(details: RunDetails) -> list[MetricCard]:
    """Accuracy, macro precision/recall/F1 and the task's primary metric, each vs the baseline."""
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
        cards.append(MetricCard(name, label, value, delta, details.higher_is_better))
    return cards


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def compare_url(ui_url: str, run_ids: Sequence[str], experiment_ids: Sequence[str]) -> str:
    """The MLflow UI's compare-runs page; it reads ``runs`` and ``experiments`` as JSON lists."""

    def listed(values: Sequence[str]) -> str:
        return quote(json.dumps(list(values), separators=(",", ":")), safe="")

    return (
        f"{ui_url.rstrip('/')}/#/compare-runs"
        f"?runs={listed(run_ids)}&experiments={listed(experiment_ids)}"
    )


def comparable_runs(settings: Settings, *, limit: int = 200) -> pd.DataFrame:
    """dlstudio runs, newest first: run_id, run (label), experiment_id, experiment, task,
    dataset, status, started."""
    configure_tracking(settings)
    columns = [
        "run_id",
        "run",
        "experiment_id",
        "experiment",
        "task",
        "dataset",
        "status",
        "started",
    ]
    runs = _search_runs(limit)
    if runs.empty:
        return pd.DataFrame(columns=columns)
    names = {e.experiment_id: e.name for e in MlflowClient().search_experiments()}
    return pd.DataFrame(
        {
            "run_id": runs["run_id"],
            "run": _labels(runs),
            "experiment_id": runs["experiment_id"],
            "experiment": runs["experiment_id"].map(names),
            "task": _column(runs, "tags.dlstudio.task"),
            "dataset": _column(runs, "tags.dlstudio.dataset"),
            "status": runs["status"],
            "started": runs["start_time"],
        }
    )[columns]


def filter_runs(
    runs: pd.DataFrame,
    *,
    experiment: str | None = None,
    task: str | None = None,
    dataset: str | None = None,
) -> pd.DataFrame:
    """The rows of ``comparable_runs`` matching every filter given (None matches all)."""
    keep = pd.Series(True, index=runs.index)
    for column, wanted in (("experiment", experiment), ("task", task), ("dataset", dataset)):
        if wanted is not None:
            keep &= runs[column] == wanted
    return runs[keep]


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: one column per run label in ``metrics`` and ``params``."""

    scores: pd.DataFrame  # one row per run: run, run_id, experiment_id, test_* metrics
    metrics: pd.DataFrame  # index metric, columns run labels
    params: pd.DataFrame  # index param, columns run labels, differing params first

    @property
    def score_names(self) -> list[str]:
        """The test metrics a bar chart can show (``test_accuracy``, ...)."""
        return [c for c in self.scores.columns if c.startswith("test_")]

    @property
    def run_ids(self) -> list[str]:
        return self.scores["run_id"].tolist()

    @property
    def experiment_ids(self) -> list[str]:
        """The experiments the runs belong to, each once, in the runs' order."""
        return list(dict.fromkeys(self.scores["experiment_id"]))


def compare_runs(settings: Settings, run_ids: Sequence[str]) -> RunComparison:
    """Test metrics (ours and the baseline's) and params of the given runs (one or more, each
    once), side by side.

    Raises:
        UnknownRun: one of the ids names no run.
    """
    configure_tracking(settings)
    found = _search_by_id(run_ids)
    wide = found.assign(run=_labels(found)).set_index("run")
    metric_columns = sorted(
        c for c in wide.columns if c.startswith(("metrics.test_", "metrics.baseline_test_"))
    )
    params = _side_by_side(wide, sorted(c for c in wide.columns if c.startswith("params.")))
    differs = params.astype(str).nunique(axis=1) > 1
    scores = wide[[c for c in metric_columns if c.startswith("metrics.test_")]]
    scores = scores.rename(columns=lambda c: c.removeprefix("metrics.")).reset_index()
    scores.insert(1, "run_id", found["run_id"].to_numpy())
    scores.insert(2, "experiment_id", found["experiment_id"].to_numpy())
    return RunComparison(
        scores=scores,
        metrics=_side_by_side(wide, metric_columns).rename_axis("metric"),
        params=pd.concat([params[differs], params[~differs]]).rename_axis("param"),
    )


def _search_by_id(run_ids: Sequence[str]) -> pd.DataFrame:
    """``search_runs`` rows of exactly these runs, in this order."""
    unsafe = [i for i in run_ids if not RUN_ID.fullmatch(i)]
    if unsafe:
        raise UnknownRun(f"{unsafe[0]!r} is not a run id", fix="pick runs from the list")
    quoted = ", ".join(f"'{i}'" for i in run_ids)
    found = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"attributes.run_id IN ({quoted})"
    )
    missing = sorted(set(run_ids) - set(found["run_id"]))
    if missing:
        raise UnknownRun(f"no run has the id {missing[0]!r}", fix="pick runs from the list")
    return found.set_index("run_id").loc[list(run_ids)].reset_index()


def _side_by_side(wide: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Fields as rows (``metrics.``/``params.`` prefix dropped), one column per run."""
    return wide[columns].T.rename(index=lambda c: c.split(".", 1)[1])


def _labels(runs: pd.DataFrame) -> list[str]:
    names = _column(runs, "tags.mlflow.runName")
    return [run_label(n, i) for n, i in zip(names, runs["run_id"], strict=True)]


def _get_run(client: MlflowClient, run_id: str) -> mlflow.entities.Run:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        raise UnknownRun(
            f"no run has the id {run_id!r}",
            fix="pick a run from the Runs page, or copy its id from the MLflow UI",
        ) from exc


def _strip_prefix(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of ``search_runs`` output, or None values when no run has that tag."""
    return (
        frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    )


def run_decisions(settings: Settings, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Per run id: the promotion decision its registration made (``decision``,
    ``decision_reason``), for runs that registered a model."""
    configure_tracking(settings)
    client = MlflowClient()
    found = {}
    for run_id in run_ids:
        try:
            tags = client.get_run(run_id).data.tags
        except MlflowException:
            continue  # deleted since
        if "dlstudio.decision" in tags:
            found[run_id] = {"decision": tags["dlstudio.decision"],
                             "decision_reason": tags.get("dlstudio.decision_reason", "")}  # fmt: skip
    return found


def model_url(ui_url: str, name: str) -> str:
    """A registered model's page in the MLflow UI (its versions and aliases)."""
    return f"{ui_url.rstrip('/')}/#/models/{quote(name, safe='')}"
