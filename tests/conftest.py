"""Shared fixtures: an isolated DLSTUDIO_HOME per test, one migrated MLflow DB per session."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest_plugins = ["tests.postgres"]  # a real PostgreSQL server, started when a test needs one


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home folder; nothing touches ~/.dlstudio or a real server."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("DLSTUDIO_MAX_UPLOAD_MB", raising=False)
    monkeypatch.setenv("DLSTUDIO_START_WORKER", "false")  # the tests that need one start it
    return home


@pytest.fixture(scope="session")
def migrated_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Create and migrate one MLflow SQLite DB (seconds), copied by each test that needs it."""
    import os

    import mlflow
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    MlflowClient().search_experiments()
    MlflowClient().search_registered_models()
    mlflow.set_tracking_uri(before or "")  # leave no global pointer at the template
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    return path


@pytest.fixture
def mlflow_home(isolated_home: Path, migrated_mlflow_db: Path) -> Path:
    """A home whose MLflow DB is already migrated."""
    shutil.copy(migrated_mlflow_db, isolated_home / "mlflow.db")
    return isolated_home


def make_customers(n: int = 240, *, seed: int = 0) -> pd.DataFrame:
    """A small churn-like table with every column kind the tabular template handles."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    plan = rng.choice(["basic", "plus", "premium"], n)
    monthly = np.round(rng.normal(60, 20, n), 2)
    score = 1.5 * (plan == "basic") - tenure / 24 + (monthly - 60) / 30 + rng.normal(0, 0.5, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "tenure": tenure,
            "plan": plan,
            "monthly": monthly,
            "paperless": rng.choice(["Yes", "No"], n),
            "signup": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "region": rng.choice(["north", "south", None], n),
            "churn": np.where(score > 0, "yes", "no"),
        }
    )
    frame.loc[rng.choice(n, 10, replace=False), "monthly"] = np.nan
    return frame


@pytest.fixture
def customers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    make_customers().to_csv(path, index=False)
    return path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A ZIP archive (in memory) holding ``files``: entry name -> content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
