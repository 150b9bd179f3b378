"""``dlstudio ui`` and ``dlstudio mlflow-ui``: the dashboard with its worker and MLflow UI."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dlstudio.cli.common import add_command

if TYPE_CHECKING:
    from dlstudio.jobs.autostart import WorkerStatus

APP_FILE = Path(__file__).resolve().parent.parent.parent / "app.py"


def add_ui_command(commands: argparse._SubParsersAction) -> None:
    """Register ``ui``."""
    command = add_command(commands, "ui", "start the dashboard, a worker and the MLflow UI", _ui)
    _ui_arguments(command)
    command.set_defaults(library_logs=True)  # the servers' lines go to their log file


def add_mlflow_ui_command(commands: argparse._SubParsersAction) -> None:
    """Register ``mlflow-ui``."""
    command = add_command(
        commands, "mlflow-ui", "start the MLflow UI on the local store", _mlflow_ui
    )
    command.add_argument("--port", type=int, default=5000)
    command.set_defaults(library_logs=True)  # the server's output is its log


class _Stopped(Exception):
    """SIGTERM arrived: stop every child as Ctrl-C does."""


def _ui(args: argparse.Namespace) -> int:
    """The dashboard, a worker and the MLflow UI, each in its own process group with its output
    in one log file; one banner says where everything is; Ctrl-C or SIGTERM stops them all."""
    from dlstudio.jobs.autostart import ensure_worker
    from dlstudio.settings import get_settings

    settings, env = get_settings(), _servers_env(args)
    log_path = settings.home_dir / "logs" / "ui.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen] = []
    worker = mlflow_ui = None
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        with log_path.open("ab") as log:
            if not args.no_worker:  # unless one is alive already; the dashboard restarts it
                worker = ensure_worker(settings, parent_pid=os.getpid())
            if not args.no_mlflow and not _remote_tracking_server():
                mlflow_ui = _start_mlflow_ui(args.mlflow_port, env, own_group=True, log=log)
                children.append(mlflow_ui.process)
            dashboard = _start_dashboard(args.host, args.port, env, log=log)
            children.append(dashboard)
        if args.host not in LOOPBACK:
            print(OPEN_WARNING.format(host=args.host, port=args.port), file=sys.stderr)
        # Streamlit's health check answers once the app is served, not just the port bound
        health = f"http://{_browsable(args.host)}:{args.port}/_stcore/health"
        if _wait_until_ready(dashboard, health):
            print(_banner(args, settings.home_dir, log_path, worker, mlflow_ui), flush=True)
        return _exit_code(dashboard.wait(), log_path)
    except (KeyboardInterrupt, _Stopped):
        print("stopping the dashboard, the worker and the MLflow UI", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        _stop_children(children, worker.started_pid if worker else None)
        signal.signal(signal.SIGTERM, previous)


def _servers_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of the dashboard and the MLflow UI."""
    env = dict(os.environ)
    # the dashboard's "open in MLflow UI" links go where this command serves it
    env.setdefault("DLSTUDIO_MLFLOW_UI_URL", _mlflow_ui_url(args.mlflow_port))
    if args.no_worker:
        env["DLSTUDIO_START_WORKER"] = "false"  # nor may the dashboard start one
    env["PYTHONUNBUFFERED"] = "1"  # the servers' lines reach their log file as they happen
    return env


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped


def _start_dashboard(
    host: str, port: int, env: dict[str, str], *, log: IO[bytes]
) -> subprocess.Popen:
    """``streamlit run app.py`` in its own process group, its output into ``log``."""
    # -P: never import modules from the folder the user started us in
    argv = [sys.executable, "-P", "-m", "streamlit", "run", str(APP_FILE),
            "--server.address", host, "--server.port", str(port)]  # fmt: skip
    # Streamlit reads .streamlit/config.toml from the working folder: run beside app.py.
    return subprocess.Popen(argv, cwd=APP_FILE.parent, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _wait_until_ready(process: subprocess.Popen, url: str, timeout: float = 120) -> bool:
    """True once ``url`` answers (or ``timeout`` passed: it may still be starting); False if
    ``process`` exits first."""
    import urllib.request  # here: importing the CLI stays cheap

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError), direct.open(url, timeout=1):
            return True
        time.sleep(0.2)
    return process.poll() is None


def _banner(
    args: argparse.Namespace,
    home: Path,
    log_path: Path,
    worker: WorkerStatus | None,
    mlflow_ui: MlflowUI | None,
) -> str:
    """Where the dashboard, the MLflow UI, the worker, the data and the servers' log are."""
    if mlflow_ui is None:
        mlflow_line = _remote_tracking_server() or "not started (--no-mlflow)"
    elif mlflow_ui.process.poll() is not None:
        mlflow_line = f"did not start: see {log_path}"
    else:
        mlflow_line = f"{mlflow_ui.url} ({mlflow_ui.login})"
    lines = {
        "dashboard": f"http://{_browsable(args.host)}:{args.port}",
        "MLflow UI": mlflow_line,
        "worker": worker.message if worker else "not started (--no-worker): jobs wait in the queue",
        "data": f"{home} (datasets, jobs, runs and models)",
        "server log": str(log_path),
    }
    body = "\n".join(f"  {name + ':':<13}{value}" for name, value in lines.items())
    return f"dlstudio is running\n{body}\nPress Ctrl-C to stop."


def _browsable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _exit_code(code: int, log_path: Path) -> int:
    if code:
        print(f"error: the dashboard stopped (exit code {code}); see {log_path}", file=sys.stderr)
    return code


def _stop_children(children: list[subprocess.Popen], worker_pid: int | None) -> None:
    """SIGTERM each child's process group, the worker's too (it requeues a running job first)."""
    for child in children:
        if child.poll() is None:  # an exited child's pid may be someone else's by now
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    if worker_pid:
        _stop_group(worker_pid)
    for child in children:
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_WARNING = (
    "WARNING: the dashboard listens on {host}:{port}, open to every machine that reaches it, "
    "and has no sign-in: anyone there can upload, train, delete datasets and promote models. "
    "Put it behind a login (a reverse proxy with your company's sign-in) or start it without "
    "--host to keep it on this machine (see docs/security.md)."
)


@dataclass(frozen=True)
class MlflowUI:
    """The started MLflow UI server, where it listens and how to log in."""

    process: subprocess.Popen
    url: str
    login: str


def _start_mlflow_ui(
    port: int, env: dict[str, str], *, own_group: bool, log: IO[bytes] | None = None
) -> MlflowUI:
    """The MLflow UI (basic auth, 127.0.0.1), in its own process group or in ours (it then
    stops with us, as a foreground command should). Its output goes to ``log`` when given,
    else to the terminal, with a line saying how to log in."""
    from dlstudio.settings import get_settings
    from dlstudio.tracking.mlflow_ui import mlflow_ui_command

    ui = mlflow_ui_command(get_settings(), port, env=env)
    started = MlflowUI(
        subprocess.Popen(ui.argv, env=ui.env, cwd=get_settings().home_dir,
                         start_new_session=own_group,
                         **({} if log is None else {"stdout": log, "stderr": subprocess.STDOUT})),
        url=f"http://127.0.0.1:{port}",
        login=f"log in as {ui.user!r}; the password is in {ui.password_file}",
    )  # fmt: skip
    if log is None:
        print(f"MLflow UI: {started.url} ({started.login})", file=sys.stderr)
    return started


def _stop_group(pid: int) -> None:
    """SIGTERM a child process group and reap its leader (a minute's grace, then SIGKILL)."""
    from dlstudio.jobs.worker import process_exists

    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        if not process_exists(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _ui_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--port", type=int, default=8501, help="dashboard port")
    command.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the dashboard listens on (default 127.0.0.1: this machine only; "
        "0.0.0.0 opens it to the network, which it then reaches without sign-in)",
    )
    command.add_argument("--mlflow-port", type=int, default=5000, help="MLflow UI port")
    command.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")
    command.add_argument("--no-worker", action="store_true", help="do not start a worker")


def _mlflow_ui(args: argparse.Namespace) -> int:
    remote = _remote_tracking_server()
    if remote:
        print(f"runs are tracked on the MLflow server at {remote}: open it there", file=sys.stderr)
        return 0
    # in our process group: Ctrl-C, or a signal to the group, stops the server with us
    return _start_mlflow_ui(args.port, dict(os.environ), own_group=False).process.wait()


def _mlflow_ui_url(port: int) -> str:
    return _remote_tracking_server() or f"http://127.0.0.1:{port}"


def _remote_tracking_server() -> str | None:
    """The team's MLflow server when MLFLOW_TRACKING_URI points to one (it has its own UI)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    return uri if uri.startswith(("http://", "https://", "databricks")) else None
