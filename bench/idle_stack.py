"""Idle memory of the stack `dlstudio ui` starts (dashboard, worker, MLflow UI): the RSS of its
process tree summed (psutil; a page shared by two processes counts twice, so this is an upper
bound), 40 s after the banner, on free ports and a fresh home.

    .venv/bin/python bench/idle_stack.py [ENV=VALUE ...]
    .venv/bin/python bench/idle_stack.py MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true   # MLflow's default
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

SETTLE_SECONDS = 40  # the MLflow server and its helpers start after the banner


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    extra = dict(argument.split("=", 1) for argument in sys.argv[1:])
    env = {**os.environ, "DLSTUDIO_HOME": tempfile.mkdtemp(prefix="dlstudio-idle-"), **extra}
    command = [str(Path(sys.executable).parent / "dlstudio"), "ui", "--port", str(free_port()),
               "--mlflow-port", str(free_port())]  # fmt: skip
    ui = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          start_new_session=True, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "mlflow" not in ui.stdout.readline().lower():
            pass  # the banner names the MLflow UI last
        time.sleep(SETTLE_SECONDS)
        root = psutil.Process(ui.pid)
        tree = [root, *root.children(recursive=True)]
        sizes = {p: p.memory_info().rss for p in tree if p.is_running()}
        print(f"{len(sizes)} processes, {sum(sizes.values()) / 2**30:.2f} GiB RSS {extra or ''}")
        for process, size in sorted(sizes.items(), key=lambda item: -item[1])[:6]:
            print(f"  {size / 2**20:6.0f} MiB  {' '.join(process.cmdline()[:4])[:100]}")
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(60)


if __name__ == "__main__":
    main()
