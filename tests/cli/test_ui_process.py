"""``dlstudio ui`` as users start it: one banner, the servers' lines in a log file, and SIGTERM
stopping every process it started, as Ctrl-C does."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")
pytest.importorskip("streamlit")
pytest.importorskip("mlflow")

BANNER_WITHIN_S = 25  # streamlit and the MLflow UI start in ~5-10 s on a quiet machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_banner(process: subprocess.Popen, health_url: str, timeout: float) -> str:
    """stdout up to 'Press Ctrl-C to stop.'. When it does not come in time, the test is skipped
    if the dashboard is not up either (a slow machine), and fails if it is (no banner)."""
    text, deadline = "", time.monotonic() + timeout
    while "Press Ctrl-C to stop." not in text:
        left = deadline - time.monotonic()
        if process.poll() is not None:
            pytest.fail(f"dlstudio ui exited: {text!r} {process.stderr.read().decode()!r}")
        if left <= 0:
            assert not answers(health_url), f"the dashboard is up but printed no banner: {text!r}"
            pytest.skip(f"dlstudio ui did not start here in {timeout:g} s")
        if select.select([process.stdout], [], [], left)[0]:
            text += os.read(process.stdout.fileno(), 4096).decode()
    return text


def answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def ui(
    isolated_home: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[subprocess.Popen]:
    monkeypatch.setenv("DLSTUDIO_START_WORKER", "true")
    command = [sys.executable, "-m", "dlstudio", "ui", "--port", str(port),
               "--mlflow-port", str(free_port())]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=os.environ.copy(), start_new_session=True)  # fmt: skip
    yield process
    if process.poll() is None:  # a failed test: leave no server behind
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
        process.kill()
    process.wait(timeout=30)


def test_sigterm_stops_every_child_after_one_banner(
    ui: subprocess.Popen, port: int, isolated_home: Path
) -> None:
    banner = read_banner(ui, f"http://127.0.0.1:{port}/_stcore/health", BANNER_WITHIN_S)
    children = psutil.Process(ui.pid).children(recursive=True)

    ui.send_signal(signal.SIGTERM)

    assert ui.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    assert len(children) >= 3  # the dashboard, the MLflow UI and the worker, at least
    log = isolated_home / "logs" / "ui.log"
    assert banner.count("dlstudio is running") == 1
    for line in ("dashboard:   http://127.0.0.1:", "MLflow UI:   http://127.0.0.1:",
                 f"data:        {isolated_home}", f"server log:  {log}", "worker:      "):  # fmt: skip
        assert line in banner
    assert "streamlit" in log.read_text().lower()  # the servers' own lines went there
    err = ui.stderr.read().decode()
    assert "You can now view" not in err + banner and "INFO" not in err
