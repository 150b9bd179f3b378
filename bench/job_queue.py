"""Overhead of the job queue: submit -> running latency, tiny jobs through 2 workers, idle memory.

    .venv/bin/python bench/job_queue.py [--jobs 50] [--workers 2] [--runs 5]
    (named job_queue.py, not queue.py: a file named queue.py in bench/ shadows the standard
    library's queue module for every script run from this folder)

Everything real: a fresh DLSTUDIO_HOME (SQLite job store + MLflow), `dlstudio worker` processes,
jobs submitted through the JobStore API exactly as `dlstudio submit` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil


def tiny_table(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["y"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    frame.to_csv(path, index=False)


def start_workers(count: int, *extra: str) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "dlstudio", "worker", *extra]
    return [subprocess.Popen(command, start_new_session=True) for _ in range(count)]


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def tree_rss(pid: int) -> float:
    """MiB of a process and its children (the worker and its warm child)."""
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def idle_latency(store, spec: dict, runs: int, *extra: str) -> tuple[float, list, list]:
    """One idle worker: its memory, then submit -> running and submit -> first epoch.

    Before each submit the worker is idle again: the previous job's child has exited and, with
    warm start, the next warm child has had time to load (12 s).
    """
    from dlstudio.jobs import JobStatus
    from dlstudio.jobs.store import utc_now

    (worker,) = start_workers(1, *extra)
    time.sleep(12)
    rss = tree_rss(worker.pid)
    to_running, to_epoch = [], []
    for _ in range(runs):
        submitted = time.perf_counter()
        job = store.submit(spec, submitted_by="bench", now=utc_now())
        while store.get(job.id).state is JobStatus.QUEUED:
            time.sleep(0.01)
        to_running.append(time.perf_counter() - submitted)
        while store.get(job.id).epoch is None and not store.get(job.id).state.finished:
            time.sleep(0.02)
        to_epoch.append(time.perf_counter() - submitted)
        while not store.get(job.id).state.finished:
            time.sleep(0.2)
        time.sleep(12)
    stop([worker])
    return rss, to_running, to_epoch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="latency samples per variant")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dlstudio-queue-"))
    os.environ["DLSTUDIO_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    from dlstudio.jobs import JobStatus, JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.settings import get_settings
    from dlstudio.spec import parse_spec

    csv = home / "tiny.csv"
    tiny_table(csv)
    spec = parse_spec(
        {"data": {"path": str(csv), "target": "y"}, "training": {"preset": "fast", "epochs": 1}}
    ).model_dump(mode="json")
    store = JobStore.from_settings(get_settings())

    # 1. one idle worker, with and without a warm child
    rows = []
    for label, extra in (("warm start (default)", ()), ("--no-warm-start", ("--no-warm-start",))):
        rss, to_running, to_epoch = idle_latency(store, spec, args.runs, *extra)
        rows.append((label, rss, to_running, to_epoch))

    # 2. many tiny jobs through N workers
    ids = [store.submit(spec, submitted_by="bench", now=utc_now()).id for _ in range(args.jobs)]
    started = time.perf_counter()
    workers = start_workers(args.workers)
    while not all(store.get(job_id).state.finished for job_id in ids):
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    stop(workers)
    jobs = [store.get(job_id) for job_id in ids]
    succeeded = sum(job.state is JobStatus.SUCCEEDED for job in jobs)
    twice = sum(job.attempts != 1 for job in jobs)

    print("| idle worker | RSS incl. children | submit -> running | submit -> first epoch |")
    print("|---|---|---|---|")
    for label, rss, to_running, to_epoch in rows:
        print(
            f"| {label} | {rss:.0f} MiB | median {statistics.median(to_running):.2f} s, "
            f"max {max(to_running):.2f} s | median {statistics.median(to_epoch):.2f} s, "
            f"max {max(to_epoch):.2f} s |"
        )
    print()
    print("| measure | value |\n|---|---|")
    print(
        f"| {args.jobs} tiny jobs (1 epoch, 200 rows) through {args.workers} workers | "
        f"{seconds:.0f} s = {args.jobs / seconds * 60:.1f} jobs/minute |"
    )
    print(
        f"| succeeded / failed / claimed more than once | {succeeded} / "
        f"{args.jobs - succeeded} / {twice} |"
    )


if __name__ == "__main__":
    main()
