"""`dlstudio mlflow-ui` serves the embedded store (runs, metrics and the PNG artifacts) to a
logged-in user only: without the login nothing can be read, created or deleted."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow

from dlstudio.settings import Settings
from dlstudio.tracking import figures
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from tests.e2e.servers import free_port, wait_until_up


def test_mlflow_ui_shows_a_run_and_its_figures(tmp_path: Path, migrated_mlflow_db: Path) -> None:
    home = tmp_path / "ui-home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    settings = Settings(home=home)
    configure_tracking(settings)
    with mlflow.start_run(experiment_id=ensure_experiment("ui", settings)) as active:
        mlflow.log_metric("test_f1_macro", 0.75)
        mlflow.log_figure(
            figures.confusion_matrix({"labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]}),
            "confusion_matrix.png",
        )
    port = free_port()
    env = {**os.environ, "DLSTUDIO_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "dlstudio", "mlflow-ui", "--port", str(port)]
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", server)
        password = (home / "mlflow-ui" / "admin-password").read_text()
        login = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
        run_url = f"{base}/api/2.0/mlflow/runs/get?run_id={active.info.run_id}"
        with urllib.request.urlopen(request(run_url, login)) as response:
            run = json.load(response)["run"]
        assert run["data"]["metrics"][0]["value"] == 0.75
        png = f"{base}/get-artifact?path=confusion_matrix.png&run_uuid={active.info.run_id}"
        with urllib.request.urlopen(request(png, login)) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
        # what the security review did with no login: read runs, register and delete models
        assert status(request(run_url)) == 401
        create = f"{base}/api/2.0/mlflow/registered-models/create"
        assert status(request(create, data=b'{"name": "planted"}')) == 401
        delete = f"{base}/api/2.0/mlflow/runs/delete"
        assert status(request(delete, data=json.dumps({"run_id": active.info.run_id}).encode())) == 401
        assert mlflow.get_run(active.info.run_id).info.lifecycle_stage == "active"
    finally:
        os.killpg(server.pid, 15)  # the UI runs uvicorn workers in its process group
        server.wait(timeout=30)


def request(url: str, login: str | None = None, data: bytes | None = None) -> urllib.request.Request:
    headers = {"Content-Type": "application/json", **({"Authorization": login} if login else {})}
    return urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")


def status(sent: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(sent) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
