"""The job queue on SQLite and on PostgreSQL: N `dlstudio worker` processes started together on
fresh databases drain M tiny jobs; every job must run exactly once, with no lock error.

    .venv/bin/python bench/queue_databases.py [--jobs 50] [--workers 4] [--only sqlite|postgresql]

Everything real: a fresh DLSTUDIO_HOME per database; for PostgreSQL a private server started
as the tests start theirs (tests/postgres.py), with the job store and MLflow's store in two
fresh databases of it. The jobs are queued first, so the workers start together on an empty
MLflow store (the race issue 21 measured: 1 of 12 jobs failed with UniqueViolation).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.postgres: the test server's start and stop

from bench.job_queue import stop, tiny_table  # noqa: E402
from tests.postgres import postgres_bin, start_server, stop_server  # noqa: E402

TROUBLE = re.compile(r"database is locked|IntegrityError|UniqueViolation|Traceback|internal error")


def drain(label: str, jobs: int, workers: int, home: Path) -> dict:
    """Queue ``jobs`` tiny jobs, start ``workers`` workers at once, wait until all finished."""
    from mlflow.tracking import MlflowClient

    from dlstudio.jobs import JobStatus, JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.settings import get_settings
    from dlstudio.spec import parse_spec

    csv = home / "tiny.csv"
    tiny_table(csv)
    spec = parse_spec(
        {"data": {"path": str(csv), "target": "y"}, "training": {"preset": "fast", "epochs": 1},
         "tracking": {"experiment": f"bench-{label}"}}
    ).model_dump(mode="json")  # fmt: skip
    store = JobStore.from_settings(get_settings())
    ids = [store.submit(spec, submitted_by="bench", now=utc_now()).id for _ in range(jobs)]
    logs = [home / f"worker-{i}.log" for i in range(workers)]
    command = [sys.executable, "-m", "dlstudio", "worker", "--poll-seconds", "0.2"]
    started = time.perf_counter()
    running = [subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True) for log in logs]  # fmt: skip
    while not all(job.state.finished for job in store.list_jobs(limit=jobs + 10)):
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    stop(running)
    done = [store.get(job_id) for job_id in ids]
    runs_started = {
        job_id: sum(e.message.startswith("running on") for e in store.events(job_id))
        for job_id in ids
    }
    tracking = get_settings().mlflow_tracking_uri
    experiment = MlflowClient(tracking).get_experiment_by_name(f"bench-{label}")
    mlflow_runs = MlflowClient(tracking).search_runs([experiment.experiment_id], max_results=1000)
    lines = [line for log in logs for line in log.read_text().splitlines()]
    trouble = [line for line in lines if TROUBLE.search(line)]
    return {
        "label": label, "seconds": seconds, "jobs": jobs, "workers": workers,
        "succeeded": sum(job.state is JobStatus.SUCCEEDED for job in done),
        "ran_once": sum(count == 1 for count in runs_started.values()),
        "mlflow_runs": len(mlflow_runs),
        "distinct_runs": len({job.mlflow_run_id for job in done if job.mlflow_run_id}),
        "trouble": trouble,
    }  # fmt: skip


def run_on(label: str, jobs: int, workers: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"dlstudio-queue-{label}-"))
    os.environ.update({"DLSTUDIO_HOME": str(home), "DLSTUDIO_TORCH_THREADS": "1",
                       "DLSTUDIO_START_WORKER": "false"})  # fmt: skip
    for name in ("DLSTUDIO_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        os.environ.pop(name, None)
    if label == "sqlite":
        return drain(label, jobs, workers, home)
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: apt-get install postgresql")
    server = start_server(bin_dir)
    try:
        os.environ["DLSTUDIO_DATABASE_URL"] = server.create_database(name="dlstudio")
        os.environ["MLFLOW_TRACKING_URI"] = server.create_database(name="mlflow")
        return drain(label, jobs, workers, home)
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    labels = [args.only] if args.only else ["sqlite", "postgresql"]
    results = [run_on(label, args.jobs, args.workers) for label in labels]
    print("| database | jobs x workers | wall time | jobs/minute | succeeded | ran exactly once "
          "| MLflow runs (distinct per job) | lock / integrity errors in worker logs |"
          )  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['jobs']} x {r['workers']} | {r['seconds']:.0f} s | "
              f"{r['jobs'] / r['seconds'] * 60:.1f} | {r['succeeded']}/{r['jobs']} | "
              f"{r['ran_once']}/{r['jobs']} | {r['mlflow_runs']} ({r['distinct_runs']}) | "
              f"{len(r['trouble'])} |")  # fmt: skip
    for r in results:
        for line in r["trouble"][:10]:
            print(f"{r['label']}: {line}")


if __name__ == "__main__":
    main()
