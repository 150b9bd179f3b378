"""Quality on real tables: dlstudio's MLP vs. classical baselines on exactly the same rows.

For each of ../shared/datasets/tabular/{telco-churn,penguins,winequality-red}.csv and each seed,
a stratified 80/20 split (sklearn ``train_test_split(random_state=seed)``) is written to two CSVs;
dlstudio trains on the first (``data.path``) and is scored on the second (``data.test_path``), and
the classical baselines are fitted on the same training file and scored on the same test file:

- logistic regression (median-imputed + scaled numerics, most-frequent-imputed + one-hot
  categoricals, max_iter=2000), with and without ``class_weight="balanced"``;
- HistGradientBoosting as dlstudio itself fits it (the ``HistGradientBoosting`` entry of
  ``result.baselines``: same columns as ours; dlstudio judges a run against the stronger of it
  and its logistic regression);
- HistGradientBoosting with ``class_weight="balanced"`` (our own ordinal-encoded pipeline).

Prints one markdown table per dataset: mean +- sample std over the seeds of accuracy and macro-F1,
and whether ours reaches the best classical baseline on macro-F1 (the goal of the issue).
MLflow runs go to a throw-away DLSTUDIO_HOME (SQLite), never to ~/.dlstudio.

    .venv/bin/python bench/quality.py [--presets balanced,best] [--seeds 0,1,2] \
        [--datasets telco-churn,penguins,winequality-red]

On 2 quiet CPU cores the default run takes ~3 min; on a loaded machine runs were 14-19x slower.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
TABULAR = ROOT.parent / "shared" / "datasets" / "tabular"
DATASETS = {"telco-churn": "Churn", "penguins": "species", "winequality-red": "quality"}
METRICS = ("accuracy", "f1_macro")


def split_files(source: Path, target: str, seed: int, folder: Path) -> tuple[Path, Path]:
    """Stratified 80/20 split of the file's rows, written back as text exactly as they were."""
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    train, test = train_test_split(raw, test_size=0.2, stratify=raw[target], random_state=seed)
    paths = folder / f"{source.stem}-s{seed}-train.csv", folder / f"{source.stem}-s{seed}-test.csv"
    for part, path in zip((train, test), paths, strict=True):
        part.to_csv(path, index=False)
    return paths


def classical_inputs(train: pd.DataFrame, test: pd.DataFrame, target: str):
    """Numeric and categorical column lists, ID-like text columns dropped (as dlstudio does)."""
    numeric, categorical = [], []
    for column in train.columns:
        if column == target:
            continue
        values = train[column]
        if pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
            continue
        as_number = pd.to_numeric(values.str.strip().replace("", np.nan), errors="coerce")
        if as_number.notna().sum() >= 0.95 * values.notna().sum():  # e.g. TotalCharges, 11 blanks
            for frame in (train, test):
                frame[column] = pd.to_numeric(
                    frame[column].str.strip().replace("", np.nan), errors="coerce"
                )
            numeric.append(column)
        elif values.nunique() < 0.5 * len(values):  # customerID etc. are left out
            categorical.append(column)
    return numeric, categorical


def logistic(numeric: list[str], categorical: list[str], class_weight: str | None):
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000, class_weight=class_weight))


def boosting_balanced(numeric: list[str], categorical: list[str], seed: int):
    columns = ColumnTransformer(
        [
            ("num", "passthrough", numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ),
                categorical,
            ),
        ]
    )
    mask = [False] * len(numeric) + [True] * len(categorical)
    return make_pipeline(
        columns,
        HistGradientBoostingClassifier(
            categorical_features=mask if categorical else None,
            class_weight="balanced",
            random_state=seed,
        ),
    )


def classical_scores(train_path: Path, test_path: Path, target: str, seed: int) -> dict:
    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    numeric, categorical = classical_inputs(train, test, target)
    x_train, x_test = train[numeric + categorical], test[numeric + categorical]
    y_train, y_test = train[target].astype(str), test[target].astype(str)
    models = {
        "logistic regression": logistic(numeric, categorical, None),
        "logistic regression, balanced": logistic(numeric, categorical, "balanced"),
        "HistGradientBoosting, balanced": boosting_balanced(numeric, categorical, seed),
    }
    scores = {}
    for name, model in models.items():
        predicted = model.fit(x_train, y_train).predict(x_test)
        scores[name] = {
            "accuracy": accuracy_score(y_test, predicted),
            "f1_macro": f1_score(y_test, predicted, average="macro"),
        }
    return scores


def ours(train_path: Path, test_path: Path, target: str, seed: int, preset: str, name: str):
    from dlstudio.spec import parse_spec
    from dlstudio.training import run

    spec = parse_spec(
        {
            "task": "tabular_classification",
            "data": {"path": str(train_path), "target": target, "test_path": str(test_path)},
            "training": {"preset": preset, "seed": seed},
            "tracking": {"experiment": f"bench-quality-{name}"},
        }
    )
    started = time.perf_counter()
    result = run(spec)
    seconds = time.perf_counter() - started
    pick = lambda m: {k: m[f"test_{k}"] for k in METRICS}  # noqa: E731
    hgb = next(b for b in result.baselines if b["name"] == "HistGradientBoosting")
    return pick(result.metrics), pick(hgb["metrics"]), seconds


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {std:.3f}"


def report(name: str, table: dict[str, list[dict]], presets: list[str], seeds: list[int]) -> None:
    print(f"\n### {name} ({len(seeds)} seeds: {', '.join(map(str, seeds))})\n")
    print("| model | accuracy | macro-F1 | macro-F1 per seed |")
    print("|---|---|---|---|")
    for model, rows in table.items():
        cells = [mean_std([r[m] for r in rows]) for m in METRICS]
        per_seed = " / ".join(f"{r['f1_macro']:.3f}" for r in rows)
        print(f"| {model} | {cells[0]} | {cells[1]} | {per_seed} |")
    classical = {k: v for k, v in table.items() if not k.startswith("dlstudio")}
    best_name = max(classical, key=lambda k: statistics.mean(r["f1_macro"] for r in classical[k]))
    best = statistics.mean(r["f1_macro"] for r in classical[best_name])
    print()
    for preset in presets:
        rows = table[f"dlstudio MLP ({preset})"]
        mine = statistics.mean(r["f1_macro"] for r in rows)
        wins = sum(
            r["f1_macro"] >= max(classical[k][i]["f1_macro"] for k in classical)
            for i, r in enumerate(rows)
        )
        verdict = "reaches" if mine >= best else "does NOT reach"
        print(
            f"- {preset}: mean macro-F1 {mine:.3f} {verdict} the best classical baseline "
            f"({best_name}, {best:.3f}; gap {mine - best:+.3f}); at least as good as every "
            f"baseline on {wins} of {len(rows)} seeds."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="balanced,best")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--keep", action="store_true", help="keep the split files and MLflow home")
    args = parser.parse_args()
    presets = args.presets.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not TABULAR.is_dir():
        print(f"skipped: {TABULAR} is not here (the shared datasets are not on this machine)")
        return 0
    home = tempfile.mkdtemp(prefix="dlstudio-bench-quality-")
    os.environ["DLSTUDIO_HOME"] = home
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # a benchmark never writes to a shared server
    load_before = os.getloadavg()
    started = time.perf_counter()
    timings: dict[str, list[float]] = {}
    for name in args.datasets.split(","):
        target = DATASETS[name]
        source = TABULAR / f"{name}.csv"
        if not source.is_file():
            print(f"skipped {name}: {source} is missing")
            continue
        table: dict[str, list[dict]] = {}
        for seed in seeds:
            train_path, test_path = split_files(source, target, seed, Path(home))
            for preset in presets:
                mine, hgb, seconds = ours(train_path, test_path, target, seed, preset, name)
                table.setdefault(f"dlstudio MLP ({preset})", []).append(mine)
                timings.setdefault(f"{name} {preset}", []).append(seconds)
                print(
                    f"{name} seed {seed} {preset}: {seconds:.1f}s "
                    f"macro-F1 {mine['f1_macro']:.3f} (HGB {hgb['f1_macro']:.3f})",
                    file=sys.stderr,
                )
            table.setdefault("HistGradientBoosting (dlstudio's)", []).append(hgb)
            for model, scores in classical_scores(train_path, test_path, target, seed).items():
                table.setdefault(model, []).append(scores)
        order = [f"dlstudio MLP ({p})" for p in presets]
        table = {k: table[k] for k in order + [k for k in table if k not in order]}
        report(name, table, presets, seeds)
    print("\n| dlstudio run (train + baseline + MLflow logging) | median seconds per run |")
    print("|---|---|")
    for key, values in timings.items():
        print(f"| {key} | {statistics.median(values):.1f} |")
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
