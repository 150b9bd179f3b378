"""A budgeted search (issue 19) against the preset it starts from, on the same rows.

    .venv/bin/python bench/search.py [--data telco|sentences] [--budget 5m] [--seeds 0,1,2]
                                     [--preset balanced]

Per seed: ``run()`` with the preset (the run a user gets without a search), then
``run_search()`` with the same spec and ``search.budget``; both in a fresh DLSTUDIO_HOME (the
embedded SQLite MLflow store), training seed = the seed. The split of rows is the template's
own, seeded by the spec, so the preset's run and every trial are scored on the same test rows.
Trial 0 of every search is the preset itself (the same spec and seed as the preset's run): the
gap between its test score and the preset run's is the run-to-run noise (a time budget makes
the number of epochs depend on the machine's speed at the time).
Reported: the preset's test primary metric, the best trial's (chosen on the validation rows),
their gap, the trials run / pruned, and the search's overhead per trial: the search's wall time
minus the time its trial runs took (MLflow's start and end time of each child run), divided by
the trials (TPE sampling, study bookkeeping, the parent run's logging).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
DATASETS = {
    "telco": ("tabular_classification", SHARED / "tabular" / "telco-churn.csv", "Churn"),
    "sentences": ("text_sentiment", SHARED / "text" / "uci-sentences.csv", "label"),
}


def one_seed(name: str, budget: str, preset: str, seed: int) -> dict:
    import mlflow

    from dlstudio.search.study import run_search
    from dlstudio.settings import get_settings
    from dlstudio.spec import parse_spec
    from dlstudio.training import run

    task, path, target = DATASETS[name]
    raw = {"task": task, "data": {"path": str(path), **({"target": target} if target else {})},
           "training": {"preset": preset, "seed": seed}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dlstudio-bench-search-") as home:
        os.environ["DLSTUDIO_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        settings = get_settings()
        started = time.perf_counter()
        plain = run(parse_spec(raw), settings=settings)
        plain_seconds = time.perf_counter() - started
        started = time.perf_counter()
        found = run_search(parse_spec({**raw, "search": {"budget": budget}}), settings=settings)
        search_seconds = time.perf_counter() - started
        children = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"tags.mlflow.parentRunId = '{found.parent_run_id}'",
        )
        in_runs = (children["end_time"] - children["start_time"]).dt.total_seconds().sum()
        metric = f"test_{'f1_macro' if task != 'tabular_regression' else 'rmse'}"
        zero = children[children["tags.dlstudio.trial"] == "0"]  # the preset's settings again
        trial0 = float(zero[f"metrics.{metric}"].iloc[0]) if len(zero) else float("nan")
    best = found.best.metrics[metric] if found.best else float("nan")
    return {
        "seed": seed, "preset": plain.metrics[metric], "search": best,
        "gain": best - plain.metrics[metric], "trials": found.trials, "pruned": found.pruned,
        "overhead": (search_seconds - in_runs) / max(found.trials, 1),
        "preset_seconds": plain_seconds, "search_seconds": search_seconds,
        "best_params": found.best_params, "best_trial": found.best_trial, "trial0": trial0,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=list(DATASETS), default="telco")
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", default="balanced")
    args = parser.parse_args()
    if not DATASETS[args.data][1].is_file():
        print(f"skipped: {DATASETS[args.data][1]} is not here")
        return 0
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        rows.append(one_seed(args.data, args.budget, args.preset, seed))
        print(f"seed {seed}: {rows[-1]}", file=sys.stderr)
    print(f"\n`{args.data}`, preset `{args.preset}`, search budget `{args.budget}`, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| seed | preset test F1 | search's best trial test F1 | gain | trials (pruned) | "
          "best trial | trial 0 test F1 | overhead per trial | preset run s | search s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['preset']:.4f} | {r['search']:.4f} | {r['gain']:+.4f} | "
              f"{r['trials']} ({r['pruned']}) | {r['best_trial']} | {r['trial0']:.4f} | "
              f"{r['overhead']:.2f} s | "
              f"{r['preset_seconds']:.0f} | "
              f"{r['search_seconds']:.0f} |")  # fmt: skip
    gains = [r["gain"] for r in rows]
    print(f"\nmean gain {statistics.mean(gains):+.4f}; best values: "
          f"{[r['best_params'] for r in rows]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
