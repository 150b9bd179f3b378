"""Trials of one search on one worker against several workers, in the same wall-time budget.

    .venv/bin/python bench/search_workers.py [--budget 2m] [--workers 2] [--threads 1]

Everything real: for each case a fresh DLSTUDIO_HOME (SQLite job store, Optuna study and MLflow
in it), N `dlstudio worker` processes started as a user starts them, one search job submitted
through the JobStore API as `dlstudio submit --search BUDGET --search-workers N` does, on
telco-churn with the fast preset. The search's own job ends the search; the figure is the
trials its study holds then (finished, stopped early and failed alike), read from the parent
run's ``search_trials``. Every worker trains with ``DLSTUDIO_TORCH_THREADS`` threads (1: two
workers on a 2-core machine get a core each, and the single worker gets the same one core).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "tabular" / "telco-churn.csv"


def one_case(workers: int, budget: str, threads: int) -> dict:
    import mlflow

    from dlstudio.jobs import JobStatus, JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.settings import get_settings
    from dlstudio.spec import parse_spec
    from dlstudio.tracking.setup import configure_tracking

    with tempfile.TemporaryDirectory(prefix="dlstudio-bench-workers-") as home:
        env = {**os.environ, "DLSTUDIO_HOME": home, "DLSTUDIO_TORCH_THREADS": str(threads)}
        env.pop("MLFLOW_TRACKING_URI", None)
        os.environ.update({"DLSTUDIO_HOME": home})
        settings = get_settings()
        store = JobStore.from_settings(settings)
        spec = parse_spec({
            "task": "tabular_classification",
            "data": {"path": str(DATA), "target": "Churn"},
            "training": {"preset": "fast"},
            "search": {"budget": budget, "workers": workers},
        })  # fmt: skip
        job = store.submit(spec.model_dump(mode="json"), submitted_by="bench", now=utc_now())
        command = [sys.executable, "-m", "dlstudio", "worker"]
        procs = [subprocess.Popen(command, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]  # fmt: skip
        started = time.monotonic()
        try:
            while not store.get(job.id).state.finished:
                time.sleep(2)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=120)
        wall = time.monotonic() - started
        done = store.get(job.id)
        if done.state is not JobStatus.SUCCEEDED:
            raise SystemExit(f"the search failed: {done.error_message}")
        configure_tracking(settings)
        parents = mlflow.search_runs(search_all_experiments=True,
                                     filter_string="tags.`dlstudio.search` = 'true'")  # fmt: skip
        parent = parents.iloc[0]
        helpers = [j for j in store.list_jobs() if j.id != job.id]
        return {
            "workers": workers, "trials": int(parent["metrics.search_trials"]),
            "pruned": int(parent["metrics.search_pruned"]),
            "search_s": float(parent["metrics.search_seconds"]), "wall_s": wall,
            "helper_messages": [
                next((line for line in (h.log_tail or "").splitlines() if " trials of the search"
                      in line), h.state.value)
                for h in helpers
            ],
            "best": float(parent[f"metrics.best_{parent['tags.dlstudio.search_objective']}"]),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="2m")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is not here")
        return 0
    one = one_case(1, args.budget, args.threads)
    print(f"1 worker: {one}", file=sys.stderr)
    many = one_case(args.workers, args.budget, args.threads)
    print(f"{args.workers} workers: {many}", file=sys.stderr)
    print(f"\ntelco-churn, preset fast, budget `{args.budget}`, {args.threads} torch thread(s) "
          f"per worker, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| workers | trials (stopped early) | best val F1 | search s | wall s |")
    print("|---|---|---|---|---|")
    for r in (one, many):
        print(f"| {r['workers']} | {r['trials']} ({r['pruned']}) | {r['best']:.4f} | "
              f"{r['search_s']:.0f} | {r['wall_s']:.0f} |")  # fmt: skip
    print(f"\ntrials ratio {many['trials'] / one['trials']:.2f}x (target >= 1.7x)")
    print(f"helper jobs said: {many['helper_messages']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
