"""Start a local worker when none is alive, so a job submitted in the dashboard always runs.

Used by the dashboard (each new session checks) and by ``dlstudio ui``. A file lock and a pid
file under the home folder keep two callers from starting two workers in the seconds before the
first one has registered itself. ``DLSTUDIO_START_WORKER=false`` turns it off (workers run
elsewhere: a server, a Ray cluster).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dlstudio.jobs.store import JobStore, WorkerInfo, utc_now
from dlstudio.jobs.worker import process_exists
from dlstudio.settings import Settings

ALIVE_WITHIN = timedelta(seconds=15)  # a worker heartbeats every 2 s


@dataclass(frozen=True)
class WorkerStatus:
    """What the dashboard says about the workers."""

    workers: list[WorkerInfo]
    started_pid: int | None  # a worker this call started (or one starting up)
    message: str  # one sentence for the user

    @property
    def alive(self) -> bool:
        return bool(self.workers) or self.started_pid is not None


def ensure_worker(settings: Settings, *, parent_pid: int | None = None) -> WorkerStatus:
    """The live workers; when there are none and the setting allows, start one.

    ``parent_pid``: the started worker stops (gracefully) when that process exits.
    """
    store = JobStore.from_settings(settings)
    live = store.live_workers(now=utc_now(), within=ALIVE_WITHIN)
    if live:
        return WorkerStatus(live, None, _describe(live))
    if not settings.start_worker:
        return WorkerStatus([], None, "No worker is running, so jobs wait in the queue. "
                            "Start one with `dlstudio worker` (DLSTUDIO_START_WORKER is off).")  # fmt: skip
    home = settings.home_dir
    with open(home / ".worker-start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        starting = _starting_pid(home / "worker.pid")
        if starting is not None:
            return WorkerStatus([], starting, "A background worker is starting.")
        pid = _spawn(home, parent_pid)
    return WorkerStatus(
        [], pid, f"Started a background worker (log: {home / 'logs' / 'worker.log'})."
    )


def _describe(live: list[WorkerInfo]) -> str:
    slots = sum(w.concurrency for w in live)
    kinds = ", ".join(sorted({w.executor for w in live}))
    return f"{len(live)} worker{'s' * (len(live) > 1)} alive ({kinds}; {slots} job slot{'s' * (slots > 1)})."


def _starting_pid(pid_file: Path) -> int | None:
    """The worker started earlier from this home, if its process still runs."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return None
    return pid if process_exists(pid) and _is_worker(pid) else None


def _is_worker(pid: int) -> bool:
    """A running (not zombie) `dlstudio worker` process; where /proc is missing, trust the pid."""
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return not Path("/proc/self").exists()
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and b"worker" in (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False


def _spawn(home: Path, parent_pid: int | None) -> int:
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    # -P and its own working folder: never import modules from wherever the app was started
    command = [sys.executable, "-P", "-m", "dlstudio", "worker"]
    if parent_pid:
        command += ["--parent-pid", str(parent_pid)]
    with open(logs / "worker.log", "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=home,
            start_new_session=True,  # its own group: Ctrl-C in a terminal goes to the app only
        )  # fmt: skip
    (home / "worker.pid").write_text(str(process.pid))
    return process.pid
