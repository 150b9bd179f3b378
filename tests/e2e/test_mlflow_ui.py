"""`dlstudio mlflow-ui` serves the embedded store: runs, metrics and the PNG artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
        with urllib.request.urlopen(
            f"{base}/api/2.0/mlflow/runs/get?run_id={active.info.run_id}"
        ) as response:
            run = json.load(response)["run"]
        assert run["data"]["metrics"][0]["value"] == 0.75
        png = f"{base}/get-artifact?path=confusion_matrix.png&run_uuid={active.info.run_id}"
        with urllib.request.urlopen(png) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        os.killpg(server.pid, 15)  # the UI runs uvicorn workers in its process group
        server.wait(timeout=30)
