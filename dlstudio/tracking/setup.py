"""Point MLflow at its store (the embedded SQLite, the team's PostgreSQL or server) and find
experiments."""

from __future__ import annotations

import fcntl
import os
import re

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlstudio.database import (
    MLFLOW_SCHEMA_LOCK,
    is_postgresql,
    same_database,
    schema_lock,
    server_of,
)
from dlstudio.errors import DLStudioError, SpecError
from dlstudio.settings import Settings, private_sqlite_file


def configure_tracking(settings: Settings) -> str:
    """Set MLflow's tracking and registry URI from the settings; return the URI."""
    uri = settings.mlflow_tracking_uri
    if same_database(uri, settings.job_database_url):
        raise DLStudioError(
            f"MLFLOW_TRACKING_URI and DLSTUDIO_DATABASE_URL name one database ({server_of(uri)}): "
            "MLflow has a table named jobs too, so each needs a database of its own",
            fix="create a second database (e.g. CREATE DATABASE mlflow) and point "
            "MLFLOW_TRACKING_URI at it",
        )
    users_choice = {name: os.environ.get(name) for name in _URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow also writes the URIs into the environment; undo that, so the variables keep meaning
    # "the user's shared server", a later change of DLSTUDIO_HOME is honoured, and child
    # processes (mlflow models serve) are not pinned to this home.
    for name, value in users_choice.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if uri.startswith("sqlite:") and uri not in _ready:
        _create_store(uri, settings)
    elif is_postgresql(uri) and uri not in _ready:
        _create_shared_store(uri)
    return uri


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
_ready: set[str] = set()  # database stores this process has opened (and migrated)
_DATABASES = ("sqlite", "postgresql", "postgres", "mysql", "mssql")  # MLflow's SQL stores


def _create_store(uri: str, settings: Settings) -> None:
    """Open the SQLite store once per process, under a file lock: two jobs starting together
    on a fresh home would otherwise both run MLflow's schema migration and one would fail."""
    with open(settings.home_dir / ".mlflow-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            private_sqlite_file(uri)
            MlflowClient(uri).search_experiments(max_results=1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _ready.add(uri)


def _create_shared_store(uri: str) -> None:
    """Open a PostgreSQL store once per process, under an advisory lock: workers starting
    together on a fresh database would otherwise all create MLflow's tables, and all but one
    fail. Connecting first also fails fast (MLflow itself retries for about 100 s)."""
    with schema_lock(uri, MLFLOW_SCHEMA_LOCK, setting="MLFLOW_TRACKING_URI"):
        MlflowClient(uri).search_experiments(max_results=1)
    _ready.add(uri)


def ensure_experiment(name: str, settings: Settings) -> str:
    """The id of experiment ``name``, created on first use.

    With a database store (the embedded SQLite, or PostgreSQL without an MLflow server),
    artifacts go under ``<home>/mlartifacts/<name>``: MLflow's default would be
    ``./mlartifacts`` relative to whatever folder the process started in.
    """
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise SpecError(
            f"the MLflow experiment {name!r} was deleted",
            fix="restore it in the MLflow UI, or train into another one with --experiment NAME",
        )
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if settings.mlflow_tracking_uri.split(":", 1)[0].split("+", 1)[0] in _DATABASES:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        location = (settings.artifact_root / slug).as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by a job starting at the same time
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def register_model(model_uri: str, name: str) -> str:
    """Register a model version under ``name``; its version number. Aliases are the promotion
    policy's to set (``dlstudio.tracking.promotion``)."""
    return str(mlflow.register_model(model_uri, name).version)
