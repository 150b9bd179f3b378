"""The dashboard in a real headless Chromium, served by `streamlit run` as users start it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from dlstudio.settings import Settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(
        "Chromium is not installed here (apt-get install chromium)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, migrated_mlflow_db) -> Iterator[str]:
    home = tmp_path_factory.mktemp("e2e-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    settings = Settings(home=home)
    configure_tracking(settings)
    with mlflow.start_run(
        experiment_id=ensure_experiment("e2e", settings),
        tags={"dlstudio.task": "tabular_classification", "dlstudio.dataset": "churn.csv"},
    ):
        mlflow.log_metrics({"test_f1_macro": 0.8, "baseline_test_f1_macro": 0.7})
    port = _free_port()
    env = {**os.environ, "DLSTUDIO_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_runs_page_shows_the_logged_run(served_app: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(served_app)
            page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
            # The table is a canvas grid; its accessible twin holds the cell text once drawn.
            page.locator("[data-testid='stDataFrame'] canvas").first.wait_for(timeout=60_000)
            cell = page.get_by_text("tabular_classification").first
            cell.wait_for(state="attached", timeout=60_000)
            page.screenshot(path=str(tmp_path / "runs.png"))
            assert "No runs yet" not in page.content()
            assert "Tracking store" in page.content()
        finally:
            browser.close()
