"""Where dlstudio keeps its state: one home folder, overridable by DLSTUDIO_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dlstudio.errors import SettingsError


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
    allowed_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        description="Host names the dashboard answers to, comma-separated (a guard against DNS "
        "rebinding); add the name users type when the dashboard is opened to a network, or * "
        "for any.",
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
    model_signing_key: SecretStr | None = Field(
        default=None,
        description="Secret that signs the models this studio trains (checked before one is "
        "loaded); default a random key in the home folder. Set the same value on every machine "
        "that trains or predicts when they share one MLflow server or a Ray cluster.",
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

    sign_in: Literal["off", "accounts", "sso"] = Field(
        default="off",
        description="Who may use the dashboard: off (one person on this machine, the default), "
        "accounts (user names and passwords kept by `dlstudio users`), or sso (the company's "
        "OpenID Connect sign-in, configured under [auth] in .streamlit/secrets.toml).",
    )
    session_minutes: int = Field(
        default=60, gt=0, description="A signed-in dashboard session ends after this many idle "
        "minutes; the next click asks to sign in again.",
    )  # fmt: skip
    sso_role: Literal["viewer", "analyst", "admin"] = Field(
        default="viewer",
        description="Role of a person's first SSO sign-in (an admin changes it with `dlstudio "
        "users set-role`).",
    )
    user: str | None = Field(
        default=None,
        description="Whom the CLI acts as when sign-in is on; default the login name of the "
        "shell account.",
    )

    @property
    def home_dir(self) -> Path:
        """The home folder, expanded and created on first use, readable by its owner only
        (it holds the databases, datasets, models and the model-signing key)."""
        path = self.home.expanduser().resolve()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o700)  # a home made by an earlier version was world-readable
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
    """Settings as the environment says now (read each call, so tests can change it).

    Raises:
        SettingsError: a DLSTUDIO_* variable holds a value it cannot take (named, with why).
    """
    try:
        return Settings()
    except ValidationError as exc:
        wrong = "; ".join(
            f"DLSTUDIO_{'_'.join(map(str, error['loc'])).upper()}={error['input']!r}: "
            f"{error['msg'][0].lower()}{error['msg'][1:]}"
            for error in exc.errors()
        )
        raise SettingsError(
            f"A setting cannot be used: {wrong}.",
            fix="change or unset that environment variable (README: Configuration lists them)",
        ) from None


def private_sqlite_file(url: str) -> None:
    """Create the file of a ``sqlite:///PATH`` URL readable by its owner only (0600), before
    SQLite creates it with the umask's looser mode; SQLite gives its -wal and -shm files the
    same mode. A file created earlier is tightened. Other URLs are left alone."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.is_absolute() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
