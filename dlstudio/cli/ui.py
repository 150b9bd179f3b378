"""``dlstudio ui`` and ``dlstudio mlflow-ui``: the dashboard with its worker and MLflow UI."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dlstudio.cli.common import add_command

APP_FILE = Path(__file__).resolve().parent.parent.parent / "app.py"


def add_ui_command(commands: argparse._SubParsersAction) -> None:
    """Register ``ui``."""
    _ui_arguments(
        add_command(commands, "ui", "start the dashboard, a worker and the MLflow UI", _ui)
    )


def add_mlflow_ui_command(commands: argparse._SubParsersAction) -> None:
    """Register ``mlflow-ui``."""
    command = add_command(
        commands, "mlflow-ui", "start the MLflow UI on the local store", _mlflow_ui
    )
    command.add_argument("--port", type=int, default=5000)


def _ui(args: argparse.Namespace) -> int:
    """Streamlit in the foreground; a worker and the MLflow UI beside it; all stop together."""
    from dlstudio.jobs.autostart import ensure_worker
    from dlstudio.settings import get_settings

    helpers = []  # each in its own process group, so their children stop with them
    env = dict(os.environ)
    worker_pid = None
    # the dashboard's "open in MLflow UI" links go where this command serves it
    env.setdefault(
        "DLSTUDIO_MLFLOW_UI_URL",
        _remote_tracking_server() or f"http://127.0.0.1:{args.mlflow_port}",
    )
    if args.no_worker:
        env["DLSTUDIO_START_WORKER"] = "false"  # nor may the dashboard start one
    else:  # unless one is alive already; the dashboard restarts it if it dies
        worker_pid = ensure_worker(get_settings(), parent_pid=os.getpid()).started_pid
    if not args.no_mlflow and not _remote_tracking_server():
        helpers.append(_start_mlflow_ui(args.mlflow_port, env, own_group=True))
    if args.host not in LOOPBACK:
        print(OPEN_WARNING.format(host=args.host, port=args.port), file=sys.stderr)
    # -P: never import modules from the folder the user started us in
    streamlit = [sys.executable, "-P", "-m", "streamlit", "run", str(APP_FILE)]
    try:
        # Streamlit reads .streamlit/config.toml from the working folder: run beside app.py.
        return subprocess.call(
            [*streamlit, "--server.address", args.host, "--server.port", str(args.port)],
            cwd=APP_FILE.parent,
            env=env,
        )
    finally:
        for helper in helpers:
            os.killpg(helper.pid, signal.SIGTERM)
        if worker_pid:  # SIGTERM: the worker requeues a running job before it exits
            _stop_group(worker_pid)
        for helper in helpers:
            helper.wait(timeout=60)


LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_WARNING = (
    "WARNING: the dashboard listens on {host}:{port}, open to every machine that reaches it, "
    "and has no sign-in: anyone there can upload, train, delete datasets and promote models. "
    "Put it behind a login (a reverse proxy with your company's sign-in) or start it without "
    "--host to keep it on this machine (see docs/security.md)."
)


def _start_mlflow_ui(port: int, env: dict[str, str], *, own_group: bool) -> subprocess.Popen:
    """The MLflow UI (basic auth, 127.0.0.1), in its own process group or in ours (it then
    stops with us, as a foreground command should); says how to log in."""
    from dlstudio.settings import get_settings
    from dlstudio.tracking.mlflow_ui import mlflow_ui_command

    ui = mlflow_ui_command(get_settings(), port, env=env)
    print(
        f"MLflow UI: http://127.0.0.1:{port} (log in as {ui.user!r}; the password is in "
        f"{ui.password_file})",
        file=sys.stderr,
    )
    return subprocess.Popen(ui.argv, env=ui.env, cwd=get_settings().home_dir,
                            start_new_session=own_group)  # fmt: skip


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
    return _start_mlflow_ui(args.port, dict(os.environ), own_group=False).wait()


def _remote_tracking_server() -> str | None:
    """The team's MLflow server when MLFLOW_TRACKING_URI points to one (it has its own UI)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    return uri if uri.startswith(("http://", "https://", "databricks")) else None
