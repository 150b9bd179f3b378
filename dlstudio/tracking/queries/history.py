"""The per-epoch metrics of runs (train_loss, val_*), read from MLflow's metric history, so
that they show while a run is still training."""

from __future__ import annotations

from collections.abc import Sequence

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from dlstudio.settings import Settings
from dlstudio.tracking.queries.runs import get_run, label_of
from dlstudio.tracking.setup import configure_tracking

HISTORY_COLUMNS = ["epoch", "metric", "value"]
EPOCH_METRIC_PREFIXES = ("train_", "val_")  # logged once per epoch with step=epoch


def run_history(settings: Settings, run_id: str) -> pd.DataFrame:
    """Every per-epoch metric of a run (train_loss, val_*), long format: epoch, metric, value.

    Read from MLflow's metric history, so it also works while the run is still training.

    Raises:
        UnknownRun: no run has this id.
    """
    configure_tracking(settings)
    client = MlflowClient()
    return _history(client, get_run(client, run_id))


def runs_history(settings: Settings, run_ids: Sequence[str]) -> pd.DataFrame:
    """``run_history`` of several runs stacked, with a ``run`` column holding each run's label."""
    configure_tracking(settings)
    client = MlflowClient()
    parts = []
    for run_id in run_ids:
        run = get_run(client, run_id)
        parts.append(_history(client, run).assign(run=label_of(run)))
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
