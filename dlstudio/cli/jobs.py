"""``dlstudio worker`` and ``dlstudio jobs ...``: run queued jobs, follow and cancel them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from dlstudio.cli.common import add_command, audited_command

if TYPE_CHECKING:
    from dlstudio.jobs.status import JobStatus
    from dlstudio.jobs.store import JobStore


def add_job_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``worker`` and ``jobs list|show|cancel|wait``."""
    worker = add_command(commands, "worker", "run queued jobs (training in child processes)", _work)
    worker.add_argument("--concurrency", type=int, help="jobs at once (default: GPUs, 1 on CPU)")
    worker.add_argument("--max-jobs", type=int, help="stop after this many jobs")
    worker.add_argument("--poll-seconds", type=float, default=0.5, help="queue check interval")
    worker.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: a child process per job; ray: a Ray task per job on a cluster",
    )
    worker.add_argument(
        "--ray-address", help="Ray cluster address (default DLSTUDIO_RAY_ADDRESS, else auto)"
    )
    worker.add_argument(
        "--no-warm-start",
        action="store_true",
        help="no child waiting with the training stack loaded (saves ~400 MB; jobs start ~8 s later)",
    )
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # stop when it exits
    worker.set_defaults(library_logs=True)  # a worker's output is its log
    jobs = commands.add_parser("jobs", help="list, follow and cancel queued runs")
    sub = jobs.add_subparsers(title="jobs commands", required=True)
    listing = add_command(sub, "list", "jobs, newest first", _list)
    listing.add_argument("--state", choices=[s.value for s in _status()])
    listing.add_argument("--json", action="store_true")
    show = add_command(sub, "show", "state, progress, MLflow run and error of a job", _show)
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    cancel = add_command(sub, "cancel", "cancel a queued or running job", _cancel)
    cancel.add_argument("job_id")
    wait = add_command(sub, "wait", "wait for a job; exit 0 only if it succeeded", _wait)
    wait.add_argument("job_id")
    wait.add_argument("--timeout", type=float, default=None, help="seconds (default: forever)")


def _work(args: argparse.Namespace) -> int:
    from dlstudio.jobs.worker import start_worker

    return start_worker(
        concurrency=args.concurrency,
        max_jobs=args.max_jobs,
        poll_seconds=args.poll_seconds,
        executor=args.executor,
        ray_address=args.ray_address,
        parent_pid=args.parent_pid,
        warm=not args.no_warm_start,
    )


def _store() -> JobStore:  # imported late: keeps `dlstudio --help` fast
    from dlstudio.jobs import JobStore
    from dlstudio.settings import get_settings

    return JobStore.from_settings(get_settings())


def _status() -> type[JobStatus]:
    from dlstudio.jobs.status import JobStatus  # no SQLAlchemy: the parser needs the states

    return JobStatus


def _list(args: argparse.Namespace) -> int:
    state = _status()(args.state) if args.state else None
    found = _store().list_jobs(state=state)
    if args.json:
        print(json.dumps([job.to_json() for job in found], indent=2, default=str))
        return 0
    if not found:
        print("no jobs yet: dlstudio submit --data FILE --target COLUMN", file=sys.stderr)
    for job in found:
        progress = f"epoch {job.epoch}/{job.total_epochs}" if job.epoch else ""
        print(
            f"{job.id}  {job.state.value:<9}  {job.task}  {job.submitted_at:%Y-%m-%d %H:%M}  {progress}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store()
    job = store.get(args.job_id)
    if args.json:
        payload = job.to_json()
        payload["events"] = [vars(e) for e in store.events(job.id)]
        print(json.dumps(payload, indent=2, default=str))
        return 0
    print(f"job {job.id}: {job.state.value} ({job.task}, submitted by {job.submitted_by})")
    if job.epoch:
        print(f"progress: epoch {job.epoch}/{job.total_epochs}")
    if job.mlflow_run_id:
        print(f"MLflow run: {job.mlflow_run_id}")
    if job.error_message:
        print(f"error: {job.error_message}")
    for entry in store.events(job.id):
        print(f"  {entry.at:%H:%M:%S}  {entry.message}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from dlstudio.jobs.store import utc_now

    store = _store()
    owner = store.get(args.job_id).submitted_by
    with audited_command("cancel", f"job {args.job_id}", owner=owner) as done:
        _, message = store.cancel(args.job_id, now=utc_now())
        done.detail = message
    print(message, file=sys.stderr)
    return 0


def _wait(args: argparse.Namespace) -> int:
    store = _store()
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        job = store.get(args.job_id)
        if job.state.finished:
            print(f"job {job.id} {job.state.value}", file=sys.stderr)
            return 0 if job.state == _status().SUCCEEDED else 1
        if deadline is not None and time.monotonic() > deadline:
            print(f"job {job.id} still {job.state.value} after {args.timeout:g} s", file=sys.stderr)
            return 3
        time.sleep(0.5)
