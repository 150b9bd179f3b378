"""Read runs back from MLflow for the dashboard (plain DataFrames, no streamlit here)."""

from __future__ import annotations

import mlflow
import pandas as pd

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
    "tags.dlstudio.verdict": "verdict",
}


def recent_runs(settings: Settings, *, limit: int = 50) -> pd.DataFrame:
    """The latest dlstudio runs across all experiments, newest first, with friendly headers."""
    configure_tracking(settings)
    runs = mlflow.search_runs(
        search_all_experiments=True,
        max_results=limit,
        order_by=["start_time DESC"],
        filter_string="tags.`dlstudio.task` != ''",
    )
    if runs.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS.values()))
    present = [column for column in RUN_COLUMNS if column in runs.columns]
    return runs[present].rename(columns=RUN_COLUMNS)
