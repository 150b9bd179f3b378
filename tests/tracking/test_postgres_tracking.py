"""MLflow with its backend store on PostgreSQL (MLFLOW_TRACKING_URI=postgresql+psycopg://...):
a run is tracked, its model registered and promoted, its artifacts kept under the home."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from dlstudio.spec import parse_spec
from dlstudio.tracking.registry import describe_model
from dlstudio.training import run
from tests.conftest import make_customers


def test_a_model_trained_against_postgresql_is_registered_and_promoted(
    mlflow_postgres: str, isolated_home: Path, tmp_path: Path
) -> None:
    # given MLflow on a PostgreSQL database and a small table
    data = tmp_path / "customers.csv"
    make_customers(200).to_csv(data, index=False)
    spec = parse_spec({
        "data": {"path": str(data), "target": "churn"},
        "training": {"preset": "fast", "epochs": 1, "seed": 0},
        "tracking": {"register_as": "churn"},
    })  # fmt: skip

    # when a model is trained
    result = run(spec)

    # then the run, the version and the champion alias live in PostgreSQL
    assert mlflow.get_tracking_uri() == mlflow_postgres
    assert result.registered["decision"] == "promoted"
    assert describe_model("churn").champion.version == "1"
    tracked = MlflowClient().get_run(result.run_id)
    assert tracked.info.status == "FINISHED"
    assert "test_f1_macro" in tracked.data.metrics
    # and its artifacts under the home, not in whatever folder the process started in
    assert tracked.info.artifact_uri.startswith((isolated_home / "mlartifacts").as_uri())
