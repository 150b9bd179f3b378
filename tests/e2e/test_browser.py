"""The dashboard in a real headless Chromium, served by `streamlit run` as users start it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from dlstudio.settings import Settings
from dlstudio.tracking.setup import configure_tracking, ensure_experiment
from tests.e2e.servers import free_port, wait_until_up

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
    port = free_port()
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
        wait_until_up(f"{url}/_stcore/health", process)
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
