"""The MLflow UI that `dlstudio ui` and `dlstudio mlflow-ui` start for the embedded store.

MLflow's UI and REST API can delete runs and models and move aliases; without a login anyone
who reaches the port could. So it listens on 127.0.0.1 only and runs MLflow's own basic-auth
app: every request needs a login (user ``admin``, password generated on first start and kept
in ``<home>/mlflow-ui/``, readable by its owner only). The store's URL goes to the server
through the environment, not the command line, where ``ps`` would show a password in it.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from dlstudio.settings import Settings

ADMIN = "admin"
_AUTH_INI = """[mlflow]
default_permission = READ
database_uri = {database}
admin_username = {admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
"""


@dataclass(frozen=True)
class UICommand:
    """How to start the MLflow UI: the command line, its environment and the login."""

    argv: list[str]
    env: dict[str, str]
    user: str
    password_file: Path


def mlflow_ui_command(settings: Settings, port: int, *, env: dict[str, str]) -> UICommand:
    """The MLflow server for ``settings``' store on 127.0.0.1:``port``, behind basic auth."""
    folder = settings.home_dir / "mlflow-ui"
    folder.mkdir(mode=0o700, exist_ok=True)
    password_file = folder / "admin-password"
    config = folder / "auth.ini"
    _write_private(config, _AUTH_INI.format(database=f"sqlite:///{folder / 'users.db'}",
                                            admin=ADMIN))  # fmt: skip
    server_env = {
        **env,
        "MLFLOW_BACKEND_STORE_URI": settings.mlflow_tracking_uri,
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        # read only when the users store is created: later the password is the stored one
        "MLFLOW_AUTH_ADMIN_PASSWORD": _secret(password_file),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": _secret(folder / "csrf-key"),
        # MLflow's job runner (a huey consumer and its workers, for GenAI jobs the studio never
        # submits) would start beside the server: the idle stack's largest part (issue 22)
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": env.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"),
    }
    argv = [
        sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
        "--default-artifact-root", settings.artifact_root.as_uri(), "--no-serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    return UICommand(argv, server_env, ADMIN, password_file)


def _secret(path: Path) -> str:
    """The secret in ``path``, made (random, owner-only) on first use."""
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(18))
    return path.read_text(encoding="utf-8").strip()


def _write_private(path: Path, text: str) -> None:
    handle = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
