"""Quality on real tables: dlstudio's network, its classical models, its ensemble and the model it
registers, all scored on exactly the same test rows.

Classification: ../shared/datasets/tabular/{telco-churn,penguins,winequality-red}.csv, stratified
80/20 split per seed. Regression: ../shared/datasets/tabular/auto-mpg.csv (target ``mpg``, ``name``
excluded) and ../shared/datasets/timeseries/bike-sharing-day.csv (target ``cnt``; ``instant``,
``dteday``, ``casual`` and ``registered`` excluded), random 80/20 split per seed. Each split
(``train_test_split(random_state=seed)``) is written to two CSVs; dlstudio trains on the first
(``data.path``; its own validation rows come out of it) and is scored on the second
(``data.test_path``). Every model of a run is read from ``result.candidates``: the network alone,
HistGradientBoosting and logistic / ridge regression (dlstudio's own, fitted on the same training
rows), the greedy ensemble (``best`` only) and the model ``best`` registered.

Prints, per dataset, mean +- sample std over the seeds of macro-F1 and accuracy (RMSE, MAE and R2
for regression) per preset, then the issue's checks: the registered ``best`` model at least the
best classical model (mean macro-F1; mean RMSE against HGB for regression), and the network alone
within 0.01 macro-F1 of HistGradientBoosting. Each finished run is also appended as one JSON line
to ``--records`` so that a long benchmark can be reported (``--report-only``) if it is cut short.
MLflow runs go to a throw-away DLSTUDIO_HOME (SQLite), never to ~/.dlstudio.

    .venv/bin/python bench/quality.py [--presets best,balanced] [--seeds 0,1,2] \
        [--datasets telco-churn,penguins,winequality-red,auto-mpg,bike-sharing] \
        [--records runs.jsonl] [--report-only runs.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"


@dataclass(frozen=True)
class Table:
    path: Path
    target: str
    task: str = "tabular_classification"
    exclude: tuple[str, ...] = ()

    @property
    def regression(self) -> bool:
        return self.task == "tabular_regression"


DATASETS = {
    "telco-churn": Table(SHARED / "tabular" / "telco-churn.csv", "Churn"),
    "penguins": Table(SHARED / "tabular" / "penguins.csv", "species"),
    "winequality-red": Table(SHARED / "tabular" / "winequality-red.csv", "quality"),
    "auto-mpg": Table(SHARED / "tabular" / "auto-mpg.csv", "mpg", "tabular_regression", ("name",)),
    "bike-sharing": Table(
        SHARED / "timeseries" / "bike-sharing-day.csv",
        "cnt",
        "tabular_regression",
        ("instant", "dteday", "casual", "registered"),
    ),
}
MODELS = {
    "network": "network alone",
    "hgb": "HistGradientBoosting",
    "logreg": "logistic regression",
    "ridge": "ridge regression",
    "ensemble": "ensemble (best only)",
    "registered": "registered model",
}
CLASSIFICATION_METRICS = ("f1_macro", "accuracy")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LABELS = {"f1_macro": "macro-F1", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def split_files(table: Table, name: str, seed: int, folder: Path) -> tuple[Path, Path]:
    """80/20 split of the file's rows (stratified for classification), written back as text."""
    raw = pd.read_csv(table.path, dtype=str, keep_default_na=False)
    stratify = None if table.regression else raw[table.target]
    train, test = train_test_split(raw, test_size=0.2, stratify=stratify, random_state=seed)
    paths = folder / f"{name}-s{seed}-train.csv", folder / f"{name}-s{seed}-test.csv"
    for part, path in zip((train, test), paths, strict=True):
        part.to_csv(path, index=False)
    return paths


def one_run(table: Table, name: str, paths: tuple[Path, Path], seed: int, preset: str) -> dict:
    """Train once; the test scores of every candidate and of the registered model."""
    from dlstudio.spec import parse_spec
    from dlstudio.training import run

    spec = parse_spec(
        {
            "task": table.task,
            "data": {"path": str(paths[0]), "target": table.target, "test_path": str(paths[1])},
            "training": {"preset": preset, "seed": seed},
            "options": {"exclude": list(table.exclude)},
            "tracking": {"experiment": f"bench-quality-{name}"},
        }
    )
    started = time.perf_counter()
    result = run(spec)
    seconds = time.perf_counter() - started
    report = result.candidates
    scores = {c["key"]: c["test"] for c in report["candidates"]}
    scores["registered"] = scores[report["chosen"]]
    return {
        "dataset": name,
        "seed": seed,
        "preset": preset,
        "seconds": seconds,
        "chosen": report["chosen"],
        "weights": next(
            (c["weights"] for c in report["candidates"] if c["key"] == "ensemble"), None
        ),
        "scores": scores,
    }


def mean(values: list[float]) -> float:
    return statistics.mean(values)


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean(values):.3f} ± {std:.3f}"


def values(runs: list[dict], model: str, metric: str) -> list[float]:
    return [r["scores"][model][metric] for r in runs if model in r["scores"]]


def report(name: str, records: list[dict]) -> None:
    table = DATASETS[name]
    metrics = REGRESSION_METRICS if table.regression else CLASSIFICATION_METRICS
    presets = [p for p in ("balanced", "best", "fast") if any(r["preset"] == p for r in records)]
    by_preset = {p: [r for r in records if r["preset"] == p] for p in presets}
    seeds = sorted({r["seed"] for r in records})
    print(f"\n### {name} ({table.target}; seeds {', '.join(map(str, seeds))})\n")
    header = [f"{p} {LABELS.get(m, m)}" for p in presets for m in metrics]
    print("| model | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(header))
    keys = [k for k in MODELS if any(k in r["scores"] for r in records)]
    for key in keys:
        cells = [mean_std(values(by_preset[p], key, m)) for p in presets for m in metrics]
        print(f"| {MODELS[key]} | " + " | ".join(cells) + " |")
    print()
    for preset in presets:
        runs = by_preset[preset]
        chosen = ", ".join(f"s{r['seed']} {r['chosen']}" for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        # candidates.json gives the ensemble entry the *registered* model's weights, so they
        # are the ensemble's only where it was registered
        weights = "; ".join(
            f"s{r['seed']} " + " ".join(f"{k} {w:.2f}" for k, w in r["weights"].items() if w)
            for r in runs
            if r["weights"] and r["chosen"] == "ensemble"
        )
        weights = f"; ensemble weights {weights}" if weights else ""
        print(
            f"- {preset}: registered per seed: {chosen}{weights}; median {seconds:.0f} s per run."
        )
    for preset in presets:
        verdicts(table, preset, by_preset[preset])


def verdicts(table: Table, preset: str, runs: list[dict]) -> None:
    """The issue's checks for one preset, on the means over the seeds."""
    if table.regression:
        mine, hgb = mean(values(runs, "registered", "rmse")), mean(values(runs, "hgb", "rmse"))
        ok = "meets" if mine <= hgb else "MISSES"
        wins = sum(r["scores"]["registered"]["rmse"] <= r["scores"]["hgb"]["rmse"] for r in runs)
        print(
            f"- {preset}: registered RMSE {mine:.3f} {ok} the target <= HGB's {hgb:.3f} "
            f"(gap {mine - hgb:+.3f}; at most HGB's on {wins} of {len(runs)} seeds); network "
            f"alone {mean(values(runs, 'network', 'rmse')):.3f}."
        )
        return
    f1 = {k: mean(values(runs, k, "f1_macro")) for k in ("registered", "network", "hgb", "logreg")}
    classical = max(("hgb", "logreg"), key=f1.get)
    ok = "meets" if f1["registered"] >= f1[classical] else "MISSES"
    near = "yes" if f1["network"] >= f1["hgb"] - 0.01 else "NO"
    wins = sum(
        r["scores"]["registered"]["f1_macro"]
        >= max(r["scores"][k]["f1_macro"] for k in ("hgb", "logreg"))
        for r in runs
    )
    print(
        f"- {preset}: registered macro-F1 {f1['registered']:.3f} {ok} >= best classical "
        f"({MODELS[classical]} {f1[classical]:.3f}, gap {f1['registered'] - f1[classical]:+.3f}; "
        f"at least both classical models on {wins} of {len(runs)} seeds); "
        f"network alone >= HGB - 0.01: {near} ({f1['network']:.3f} vs {f1['hgb']:.3f}, "
        f"gap {f1['network'] - f1['hgb']:+.3f})."
    )


def read_records(paths: list[str]) -> list[dict]:
    records = []
    for path in paths:
        with open(path) as lines:
            records += [json.loads(line) for line in lines if line.strip()]
    return records


def report_all(records: list[dict]) -> None:
    for name in DATASETS:
        mine = [r for r in records if r["dataset"] == name]
        if mine:
            report(name, mine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="best,balanced")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--records", help="append one JSON line per finished run to this file")
    parser.add_argument("--report-only", nargs="+", metavar="JSONL", help="report saved runs")
    parser.add_argument("--keep", action="store_true", help="keep the split files and MLflow home")
    args = parser.parse_args()
    if args.report_only:
        report_all(read_records(args.report_only))
        return 0
    presets, seeds = args.presets.split(","), [int(s) for s in args.seeds.split(",")]
    home = tempfile.mkdtemp(prefix="dlstudio-bench-quality-")
    os.environ["DLSTUDIO_HOME"] = home
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # a benchmark never writes to a shared server
    load_before, started = os.getloadavg(), time.perf_counter()
    records: list[dict] = []
    for preset in presets:  # one preset over every table first: a cut-short run still reports it
        for name in args.datasets.split(","):
            table = DATASETS[name]
            if not table.path.is_file():
                print(f"skipped {name}: {table.path} is missing", file=sys.stderr)
                continue
            for seed in seeds:
                paths = split_files(table, name, seed, Path(home))
                record = one_run(table, name, paths, seed, preset)
                records.append(record)
                if args.records:
                    with open(args.records, "a") as out:
                        out.write(json.dumps(record) + "\n")
                print(
                    f"{name} seed {seed} {preset}: {record['seconds']:.1f}s, registered "
                    f"{record['chosen']}", file=sys.stderr, flush=True,
                )  # fmt: skip
    report_all(records)
    print(
        f"\ntotal wall time: {time.perf_counter() - started:.0f} s; 1-minute load average before / "
        f"after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (machine shared with other work)"
    )
    if args.keep:
        print(f"kept DLSTUDIO_HOME={home}", file=sys.stderr)
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
