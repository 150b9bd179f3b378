"""dlstudio's runs in MLflow: search them, label them, list and filter them for pickers,
and the promotion decisions they recorded (plain data, no streamlit here)."""

from __future__ import annotations

from collections.abc import Sequence

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.errors import DLStudioError
from dlstudio.settings import Settings
from dlstudio.tracking.setup import configure_tracking

RUN_COLUMNS = {  # what a user reads first comes first: what, when, how well, the verdict
    "tags.dlstudio.dataset": "dataset",
    "tags.dlstudio.task": "task",
    "start_time": "started",
    "metrics.test_f1_macro": "F1 (macro)",
    "metrics.baseline_test_f1_macro": "baseline F1 (macro)",
    "metrics.test_mase": "MASE",  # forecasting runs
    "metrics.baseline_test_mase": "baseline MASE",
    "metrics.test_rmse": "RMSE",  # regression runs
    "metrics.baseline_test_rmse": "baseline RMSE",
    "tags.dlstudio.verdict": "verdict",
    "metrics.test_accuracy": "accuracy",
    "status": "status",
    "tags.dlstudio.device": "device",
    "run_id": "run",
}
DLSTUDIO_RUNS = "tags.`dlstudio.task` != ''"


class UnknownRun(DLStudioError):
    """No MLflow run has the id the user gave."""

    exit_code = 2


def search_runs(limit: int) -> pd.DataFrame:
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
    runs = search_runs(limit)
    if runs.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS.values()))
    present = [column for column in RUN_COLUMNS if column in runs.columns]
    return runs[present].rename(columns=RUN_COLUMNS)


def run_label(
    run_id: str,
    *,
    dataset: str | None = None,
    task: str | None = None,
    started: pd.Timestamp | None = None,
    metric: str | None = None,
    score: float | None = None,
) -> str:
    """How the dashboard names a run in pickers and chart legends: "dataset · template · date
    · score (id)" (the id's start, as the tables show it), not MLflow's random run name."""
    parts = [
        dataset or "no dataset",
        task.replace("_", " ") if task else None,
        None if started is None or pd.isna(started) else f"{pd.Timestamp(started):%Y-%m-%d %H:%M}",
        None if metric is None or score is None or pd.isna(score) else f"{metric} {score:.3f}",
    ]
    return " · ".join(part for part in parts if part) + f" ({run_id[:8]})"


def label_of(run: mlflow.entities.Run) -> str:
    """``run_label`` of one MLflow run."""
    tags, metric = run.data.tags, run.data.tags.get("dlstudio.primary_metric")
    return run_label(
        run.info.run_id,
        dataset=tags.get("dlstudio.dataset"),
        task=tags.get("dlstudio.task"),
        started=pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
        metric=metric,
        score=run.data.metrics.get(f"test_{metric}") if metric else None,
    )


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
    runs = search_runs(limit)
    if runs.empty:
        return pd.DataFrame(columns=columns)
    names = {e.experiment_id: e.name for e in MlflowClient().search_experiments()}
    return pd.DataFrame(
        {
            "run_id": runs["run_id"],
            "run": search_labels(runs),
            "experiment_id": runs["experiment_id"],
            "experiment": runs["experiment_id"].map(names),
            "task": tag_column(runs, "tags.dlstudio.task"),
            "dataset": tag_column(runs, "tags.dlstudio.dataset"),
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


def like_the_newest(runs: pd.DataFrame, *, limit: int = 5) -> list[str]:
    """The ids of the newest run and the runs of its task and dataset (newest first, at most
    ``limit``): what Compare opens on. Runs of different tasks share no metric worth comparing."""
    if runs.empty:
        return []
    newest = runs.iloc[0]
    same = (runs["task"] == newest["task"]) & (
        (runs["dataset"] == newest["dataset"])
        | (runs["dataset"].isna() & pd.isna(newest["dataset"]))
    )
    return runs.loc[same, "run_id"].head(limit).tolist()


def search_labels(runs: pd.DataFrame) -> list[str]:
    """The label of each row of ``search_runs`` output (``run_label``), in their order."""
    labels = []
    for index, row in runs.iterrows():
        metric = tag_column(runs, "tags.dlstudio.primary_metric")[index]
        score_column = f"metrics.test_{metric}"
        labels.append(run_label(
            row["run_id"],
            dataset=tag_column(runs, "tags.dlstudio.dataset")[index],
            task=tag_column(runs, "tags.dlstudio.task")[index],
            started=row["start_time"],
            metric=metric if isinstance(metric, str) else None,
            score=row[score_column] if isinstance(metric, str) and score_column in runs else None,
        ))  # fmt: skip
    return labels


def get_run(client: MlflowClient, run_id: str) -> mlflow.entities.Run:
    """The run with this id.

    Raises:
        UnknownRun: no run has this id.
    """
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        raise UnknownRun(
            f"no run has the id {run_id!r}",
            fix="pick a run from the Runs page, or copy its id from the MLflow UI",
        ) from exc


def tag_column(frame: pd.DataFrame, name: str) -> pd.Series:
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
