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

    @property
    def home_dir(self) -> Path:
        """The home folder, expanded and created on first use."""
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

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
