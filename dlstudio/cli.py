"""The ``dlstudio`` command: parse, build a RunSpec, hand over. Errors print without traceback."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dlstudio.cli_data import add_data_commands
from dlstudio.cli_jobs import add_job_commands
from dlstudio.cli_models import add_model_commands
from dlstudio.cli_schedules import add_schedule_commands
from dlstudio.cli_spec import add_spec_arguments, build_spec
from dlstudio.errors import DLStudioError

APP_FILE = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.handler(args)
    except DLStudioError as exc:
        _print_error(str(exc), args)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` & co.: the reader left, nothing is wrong
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback
        _print_error(f"internal error: {type(exc).__name__}: {exc}", args, internal=True)
        return 1


def _print_error(message: str, args: argparse.Namespace, *, internal: bool = False) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()
    elif internal:
        message += "\n(run again with --debug to see the traceback)"
    print(f"error: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlstudio", description="No-code deep learning: train, track and predict."
    )
    commands = parser.add_subparsers(title="commands")
    _add(commands, "train", "train a model now and log it to MLflow", _train, add_spec_arguments)
    _add(commands, "predict", "predict new rows with a logged model", _predict, _predict_args)
    _add(commands, "schema", "print the JSON schema of a run spec", _schema, lambda p: None)
    _add(commands, "ui", "start the dashboard, a worker and the MLflow UI", _ui, _ui_args)
    add_data_commands(commands, _add_returning)
    add_job_commands(commands, _add_returning)
    add_model_commands(commands, _add_returning)
    add_schedule_commands(commands, _add_returning)
    _add(
        commands, "mlflow-ui", "start the MLflow UI on the local store", _mlflow_ui, _port_arg(5000)
    )
    return parser


def _add(
    commands: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
    arguments: Callable[[argparse.ArgumentParser], None],
) -> None:
    arguments(_add_returning(commands, name, help_text, handler))


def _add_returning(
    commands: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    command.set_defaults(handler=handler)
    return command


def _predict_args(command: argparse.ArgumentParser) -> None:
    command.add_argument("--model", required=True, help="model URI, e.g. models:/churn@champion")
    command.add_argument(
        "--data",
        required=True,
        help="rows to predict (CSV, Excel, Parquet), or a ZIP or folder of images",
    )
    command.add_argument("--output", required=True, help="where to write (.csv or .parquet)")


def _port_arg(default: int) -> Callable[[argparse.ArgumentParser], None]:
    return lambda command: command.add_argument("--port", type=int, default=default)


def _train(args: argparse.Namespace) -> int:
    from dlstudio.training import run
    from dlstudio.training.callbacks import ConsoleProgress

    spec = build_spec(args)
    # Anything a library prints must not spoil the one JSON object on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(spec, callbacks=[ConsoleProgress(sys.stderr)])
    if args.json:
        payload = result.to_json()
        print(json.dumps(payload, indent=2, default=str))
    else:
        _print_summary(result)
    return 0


def _print_summary(result: Any) -> None:
    for note in result.notes:
        print(f"note: {note}")
    for finding in result.findings:
        print(f"{finding.level}: {finding}")
    print(f"\nrun {result.run_id} (experiment {result.experiment_id}) on {result.device}")
    baseline = result.baseline["metrics"]
    print(f"{'metric':<22}{'model':>10}{result.baseline['name']:>24}")
    for key, value in result.metrics.items():
        if not key.startswith("test_"):  # the other baselines' own scores: in --json and MLflow
            continue
        print(f"{key:<22}{value:>10.4f}{baseline.get(key, float('nan')):>24.4f}")
    print(f"\n{result.verdict}")
    print(f"model: {result.model_uri}")
    if result.registered:
        print(f"registered: {result.registered['name']} version {result.registered['version']}")


def _predict(args: argparse.Namespace) -> int:
    from dlstudio.predict import predict_file

    rows = predict_file(args.model, args.data, args.output)
    print(f"wrote {rows} predictions to {args.output}", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    from dlstudio.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return 0


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


def _ui_args(command: argparse.ArgumentParser) -> None:
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

