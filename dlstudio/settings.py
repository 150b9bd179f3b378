"""Where dlstudio keeps its state: one home folder, overridable by DLSTUDIO_* variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings read from the environment (prefix ``DLSTUDIO_``)."""

    model_config = SettingsConfigDict(env_prefix="DLSTUDIO_", frozen=True)

    home: Path = Field(
        default=Path("~/.dlstudio"),
        description="Folder for datasets, the job database, MLflow runs and artifacts.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the job store; default SQLite under home."
    )
    max_upload_mb: int = Field(
        default=200,
        gt=0,
        description="Largest data file accepted, in MB (keep equal to server.maxUploadSize).",
    )
    mlflow_ui_url: str = Field(
        default="http://127.0.0.1:5000",
        description="Where users open the MLflow UI (the dashboard links runs there).",
    )
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads per training run; default all cores this process may use "
        "(a worker sets cores / concurrency for its jobs).",
    )
    start_worker: bool = Field(
        default=True,
        description="The dashboard starts a local worker when it finds none alive; "
        "false when workers run elsewhere (a server, a Ray cluster).",
    )
    ray_address: str = Field(
        default="auto",
        description="Ray cluster for `dlstudio worker --executor ray` "
        "(auto: the cluster started on this machine with `ray start`).",
    )
    ray_num_cpus: float = Field(
        default=1, gt=0, description="CPUs each job asks of the Ray cluster (its torch threads)."
    )
    ray_num_gpus: float | None = Field(
        default=None,
        ge=0,
        description="GPUs each job asks of the Ray cluster; default 1 when the cluster has GPUs "
        "and the job's device allows one, else 0.",
    )

    @property
    def home_dir(self) -> Path:
        """The home folder, expanded and created on first use."""
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def job_database_url(self) -> str:
        """``DLSTUDIO_DATABASE_URL``, or SQLite ``dlstudio.db`` under the home folder."""
        return self.database_url or f"sqlite:///{self.home_dir / 'dlstudio.db'}"

    @property
    def mlflow_tracking_uri(self) -> str:
        """``MLFLOW_TRACKING_URI`` when set (a shared server), else SQLite under home."""
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        """Where run artifacts are stored with the embedded (SQLite) tracking store."""
        return self.home_dir / "mlartifacts"

    @property
    def datasets_dir(self) -> Path:
        """Where uploaded datasets are stored, one folder per name and version."""
        return self.home_dir / "datasets"


def get_settings() -> Settings:
    """Settings as the environment says now (read each call, so tests can change it)."""
    return Settings()
