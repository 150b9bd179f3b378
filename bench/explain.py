"""Explanations of a table model (issue 20): reason codes for 1,000 rows of a 20-column table
(target: <= 30 s on 2 CPU cores) and the permutation importance every tabular run logs.

Trains the chosen preset on telco-churn (19 input columns; the id is left out), then times on
the CPU, in this one process:
- ``permutation_importance`` on the test rows (what training adds to each run);
- ``explain_rows`` (captum's Shapley value sampling, all rows at once) for 1,000 rows;
- the fidelity of those reasons: on ``--fidelity-rows`` rows, how often the first reason and
  the top three match an estimate with 4x the column orders and 4x the typical rows;
- with ``--shap`` (needs ``pip install shap``): SHAP's own permutation explainer on the same
  rows, model and typical rows, one permutation each way, as the ratio to ours.

    .venv/bin/python bench/explain.py [--preset balanced] [--rows 1000] [--shap]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dlstudio.explain.columns import ColumnCodec
from dlstudio.explain.importance import IMPORTANCE_FILE, permutation_importance
from dlstudio.explain.reasons import BACKGROUND_ROWS, PERMUTATIONS, explain_rows
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.training.device import choose_device, configure_threads

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "tabular" / "telco-churn.csv"
TARGET_SECONDS = 30.0


def shap_seconds(predictor, rows: pd.DataFrame, background: pd.DataFrame) -> float:
    """SHAP's permutation explainer over the same predict, codes and typical rows."""
    import shap

    sample = background.sample(min(len(background), BACKGROUND_ROWS), random_state=0)
    codec = ColumnCodec.fit(sample, rows, columns=list(background.columns))
    names = [c for c in predictor.predict(rows.head(1)).columns if c.startswith("probability_")]

    def model(encoded: np.ndarray) -> np.ndarray:
        return predictor.predict(codec.decode(encoded))[names].to_numpy()

    masker = shap.maskers.Independent(codec.encode(sample), max_samples=len(sample))
    explainer = shap.explainers.Permutation(model, masker, seed=0)
    calls = 2 * len(codec.columns) + 1
    started = time.perf_counter()
    explainer(codec.encode(rows), max_evals=PERMUTATIONS // 2 * calls, batch_size=calls,
              silent=True)  # fmt: skip
    return time.perf_counter() - started


def top_columns(values: np.ndarray) -> np.ndarray:
    return np.argsort(-np.abs(values), axis=1, kind="stable")[:, :3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--shap", action="store_true")
    parser.add_argument("--fidelity-rows", type=int, default=200)
    args = parser.parse_args()
    configure_threads(None)
    frame = pd.read_csv(DATA)
    spec = parse_spec({"task": "tabular_classification",
                       "data": {"path": str(DATA), "target": "Churn"},
                       "training": {"preset": args.preset, "seed": 0}})  # fmt: skip
    template = get_template("tabular_classification")
    with tempfile.TemporaryDirectory() as folder:
        outcome = template.train(TrainingData(frame), spec, device=choose_device("cpu"),
                                 callbacks=[], work_dir=Path(folder) / "model")  # fmt: skip
        predictor = template.load_predictor(outcome.model_dir)
    test = outcome.holdout.drop(columns=["Churn"])
    print(f"telco-churn, preset {args.preset}: {test.shape[1]} input columns, "
          f"{len(test)} test rows, model weights {predictor.weights}")  # fmt: skip
    started = time.perf_counter()
    importance = permutation_importance(predictor.predict, test, outcome.holdout["Churn"],
                                        metric="f1_macro")  # fmt: skip
    print(f"permutation importance ({importance['repeats']} shuffles x {test.shape[1]} columns "
          f"on {importance['rows']} rows): {time.perf_counter() - started:.1f} s")  # fmt: skip
    top = [(c["column"], round(c["worsens_by"], 4)) for c in importance["columns"][:5]]
    print(f"  most important: {top}")
    assert outcome.json_artifacts[IMPORTANCE_FILE]["columns"][0]["column"] == top[0][0]
    rows = pd.concat([test] * (args.rows // len(test) + 1)).head(args.rows)
    started = time.perf_counter()
    reasons = explain_rows(predictor.predict, rows, predictor.background)
    ours = time.perf_counter() - started
    print(f"reason codes for {len(rows)} rows: {ours:.1f} s (target {TARGET_SECONDS:.0f} s; "
          f"{PERMUTATIONS} permutations x {BACKGROUND_ROWS} typical rows)")  # fmt: skip
    print(f"  first row: {reasons.text.iloc[0].tolist()}")
    sample = rows.head(args.fidelity_rows)
    careful = explain_rows(predictor.predict, sample, predictor.background,
                           permutations=4 * PERMUTATIONS, background_rows=4 * BACKGROUND_ROWS)
    ours_top, their_top = top_columns(reasons.values[: len(sample)]), top_columns(careful.values)
    same_first = np.mean(ours_top[:, 0] == their_top[:, 0])
    overlap = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(ours_top, their_top, strict=True)])
    print(f"fidelity on {len(sample)} rows against a 16x costlier estimate (4x the orders, 4x the "
          f"typical rows): same first reason {same_first:.0%}, top-3 overlap {overlap:.0%}")
    if args.shap:
        theirs = shap_seconds(predictor, rows, predictor.background)
        print(f"SHAP's permutation explainer, same rows and work: {theirs:.1f} s "
              f"({theirs / ours:.1f}x ours)")  # fmt: skip


if __name__ == "__main__":
    main()
