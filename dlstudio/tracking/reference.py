"""The training data a run keeps for later: up to 5,000 of its rows, logged with the run, so
that a retrain can say how far its new data has moved from the champion's (the drift summary
named in the promotion decision)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pyarrow.lib import ArrowException

from dlstudio.evaluation.drift import DriftReport, drift_summary
from dlstudio.tracking.registry import describe_model

REFERENCE_FILE, REFERENCE_ROWS = "data_reference.parquet", 5000


def log_reference(frame: pd.DataFrame, *, seed: int = 0) -> None:
    """Log up to 5,000 rows of the training data with the run: what a later retrain compares
    its new data with (the drift summary)."""
    sample = (
        frame.sample(min(len(frame), REFERENCE_ROWS), random_state=seed) if len(frame) else frame
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / REFERENCE_FILE
        try:
            sample.to_parquet(path, index=False)
        except (ValueError, TypeError, ArrowException):  # mixed types in a column: keep the text
            sample.astype({c: str for c in sample.columns if sample[c].dtype == object}).to_parquet(
                path, index=False
            )
        mlflow.log_artifact(str(path))


def data_drift(
    name: str, champion: str, frame: pd.DataFrame, target: str | None, client: MlflowClient
) -> DriftReport | None:
    """The shift from the champion's training data (its logged reference rows) to ``frame``;
    None when the champion logged none (trained before this existed)."""
    run_id = next(
        (v.run_id for v in describe_model(name, client).versions if v.version == champion), None
    )
    if run_id is None:
        return None
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_FILE)
    except (MlflowException, OSError):
        return None
    reference = pd.read_parquet(local)
    target = target if target in reference.columns and target in frame.columns else None
    columns = [c for c in reference.columns if c != target and c in frame.columns]
    return drift_summary(reference, frame, columns=columns, target=target)
