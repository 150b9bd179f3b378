"""Overhead of the job queue: submit -> running latency, tiny jobs through 2 workers, idle memory.

    .venv/bin/python bench/queue.py [--jobs 50] [--workers 2]

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


def start_workers(count: int) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "dlstudio", "worker", "--poll-seconds", "1.0"]
    return [subprocess.Popen(command, start_new_session=True) for _ in range(count)]


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
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

    # 1. idle memory and submit -> running latency with one idle worker (poll every 1.0 s)
    (idle,) = start_workers(1)
    time.sleep(8)
    rss = psutil.Process(idle.pid).memory_info().rss / 2**20
    latencies = []
    for _ in range(5):
        submitted = time.perf_counter()
        job = store.submit(spec, submitted_by="bench", now=utc_now())
        while store.get(job.id).state is JobStatus.QUEUED:
            time.sleep(0.01)
        latencies.append(time.perf_counter() - submitted)
        while not store.get(job.id).state.finished:
            time.sleep(0.2)
    stop([idle])

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

    print("| measure | value |\n|---|---|")
    print(f"| idle worker RSS (after 8 s) | {rss:.0f} MiB |")
    print(
        f"| submit -> running, idle worker polling every 1.0 s (5 runs) | median "
        f"{statistics.median(latencies):.2f} s, max {max(latencies):.2f} s |"
    )
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
