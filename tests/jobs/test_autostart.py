"""The dashboard's "start a worker when none is alive", with a real `dlstudio worker` process."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.jobs import JobStore
from dlstudio.jobs.autostart import ALIVE_WITHIN, ensure_worker
from dlstudio.jobs.store import utc_now
from dlstudio.jobs.worker import process_exists
from dlstudio.settings import get_settings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_with_autostart_off_it_says_how_to_start_a_worker() -> None:
    status = ensure_worker(get_settings())  # tests run with DLSTUDIO_START_WORKER=false
    assert not status.alive and status.started_pid is None
    assert "dlstudio worker" in status.message
    assert not (get_settings().home_dir / "worker.pid").exists()


def test_app_shows_the_worker_status_in_the_sidebar(mlflow_home) -> None:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("No worker is running" in c.value for c in app.sidebar.caption)


def test_starts_one_worker_that_registers_and_stops_with_its_parent(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("DLSTUDIO_START_WORKER", "true")
    # the app was started in a folder holding a module named like one the worker imports:
    # the worker must not import it (it runs in the home folder, with python -P)
    planted = tmp_path / "started-here"
    planted.mkdir()
    marker = tmp_path / "planted-module-ran"
    (planted / "pandas.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.chdir(planted)
    parent = subprocess.Popen(["sleep", "600"])  # stands in for the dashboard's server process
    try:
        first = ensure_worker(get_settings(), parent_pid=parent.pid)
        again = ensure_worker(get_settings(), parent_pid=parent.pid)
        assert first.started_pid and again.started_pid == first.started_pid  # not a second one
        assert "starting" in again.message
        store = JobStore.from_settings(get_settings())
        deadline = time.monotonic() + 60
        while not store.live_workers(now=utc_now(), within=ALIVE_WITHIN):
            assert time.monotonic() < deadline, (isolated_home / "logs/worker.log").read_text()
            time.sleep(0.2)
        (live,) = store.live_workers(now=utc_now(), within=ALIVE_WITHIN)
        assert live.pid == first.started_pid and live.executor == "local"
        assert ensure_worker(get_settings()).message.startswith("1 worker alive")
        assert not marker.exists()
    finally:
        parent.send_signal(signal.SIGTERM)
        parent.wait()
    deadline = time.monotonic() + 30
    while process_exists(first.started_pid) and not _zombie(first.started_pid):
        assert time.monotonic() < deadline, "the worker outlived the process that started it"
        time.sleep(0.2)
    assert store.live_workers(now=utc_now(), within=timedelta(days=1)) == []  # unregistered


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
