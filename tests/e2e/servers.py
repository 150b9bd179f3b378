"""Start real servers for end-to-end tests and wait until they answer."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    url: str, process: subprocess.Popen, timeout: float = 120, *, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process died (with its
    output: from ``log`` when it writes to a file, else from its stdout pipe)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace") if log else process.stdout.read()
            raise RuntimeError(f"server exited early: {output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"no answer from {url} within {timeout} s")


@contextlib.contextmanager
def dashboard_and_worker(home: Path, env: dict[str, str]) -> Iterator[str]:
    """`streamlit run app.py` and one `dlstudio worker` on ``home`` with ``env``, as users start
    them; the dashboard's URL while both run."""
    root = Path(__file__).resolve().parents[2]
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "dlstudio", "worker", "--poll-seconds", "0.2"],
        env=env, start_new_session=True,
    )  # fmt: skip
    command = [sys.executable, "-m", "streamlit", "run", str(root / "app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    # to a file: a pipe nobody reads fills up (64 KiB: MLflow's progress bars of a few model
    # loads), and the dashboard then blocks on its next log line, every page "Running..."
    log = home / "dashboard.log"
    with log.open("w") as output:
        app = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", app, log=log)
        yield url
    finally:
        app.terminate()
        os.killpg(worker.pid, signal.SIGTERM)
        app.wait(timeout=30)
        worker.wait(timeout=60)
