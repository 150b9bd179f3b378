"""Forecasting quality: our RNN vs. seasonal naive and Holt-Winters under one rolling-origin backtest.

Series (../shared/datasets/timeseries): airline-passengers (monthly, m=12) and bike-sharing-day
``cnt`` (daily, m=7), the latter with and without the weather/calendar covariates. For each and
each seed, ``dlstudio.training.run`` trains once on the first 80% and forecasts one season from
every origin of the last 20% (stride 1); the baselines are refitted at every origin by the same
code (``dlstudio.evaluation.forecast``). MASE is scaled by the seasonal-naive error of the first
80%. Training time is the fit loop alone (first to last epoch, early stopping included); the run
time adds data checks, the baselines' refits, logging and the model.

Prints a markdown table: mean +- sample std over seeds of our MASE, MAE, the baselines (the same
in every seed: they are deterministic), wins against Holt-Winters, and the times. First, a check
that our baseline code reproduces ../shared/datasets/README.md, whose bike figures use 20
non-overlapping origins (stride 7, training part round(0.8 n) = 585) where dlstudio's protocol
takes every origin (stride 1 below 1,000 points, training part int(0.8 n) = 584: 141 origins).

    .venv/bin/python bench/forecasting.py [--preset balanced] [--seeds 0,1,2] [--cell lstm] \
        [--ensemble N] [--cases airline-passengers,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT.parent / "shared" / "datasets" / "timeseries"
WEATHER = ["season", "holiday", "workingday", "weathersit", "temp", "atemp", "hum", "windspeed"]
CASES = {
    "airline-passengers": ("airline-passengers.csv", "Passengers", {}),
    "bike-sharing cnt": ("bike-sharing-day.csv", "cnt", {"time_column": "dteday"}),
    "bike-sharing cnt + weather": (
        "bike-sharing-day.csv",
        "cnt",
        {"time_column": "dteday", "covariates": WEATHER},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--ensemble", type=int, default=None, help="members (default: the preset's)"
    )
    args = parser.parse_args()
    os.environ["DLSTUDIO_HOME"] = tempfile.mkdtemp(prefix="dlstudio-bench-forecast-")
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    from dlstudio.spec import parse_spec
    from dlstudio.training import run
    from dlstudio.training.loop import Callback

    class TrainTimer(Callback):
        def on_train_begin(self, state) -> None:
            self.started = time.perf_counter()

        def on_train_end(self, state) -> None:
            self.seconds, self.epochs = time.perf_counter() - self.started, state.epoch

    print(_reproduction())
    seeds = [int(s) for s in args.seeds.split(",")]
    members = args.ensemble or "the preset's"
    print(f"preset {args.preset}, cell {args.cell}, members {members}, seeds {seeds}\n")
    print("| series | ours MASE | ours MAE | seasonal naive MASE / MAE | Holt-Winters MASE / MAE "
          "| beats HW (seeds) | epochs | train s | run s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        file, target, options = CASES[case]
        rows = []
        for seed in seeds:
            spec = parse_spec({
                "task": "forecasting",
                "data": {"path": str(SERIES / file), "target": target},
                "training": {"preset": args.preset, "seed": seed},
                "options": {**options, "cell": args.cell, "ensemble": args.ensemble},
            })  # fmt: skip
            timer = TrainTimer()
            started = time.perf_counter()
            result = run(spec, callbacks=[timer])
            rows.append((result.metrics, timer, time.perf_counter() - started))
        print(_row(case, rows))


def _reproduction() -> str:
    import numpy as np
    import pandas as pd

    from dlstudio.evaluation import forecast as fc

    lines = ["| series | protocol | origins | seasonal naive MAE / RMSE / MASE "
             "| Holt-Winters MAE / RMSE / MASE |", "|---|---|---|---|---|"]  # fmt: skip
    for file, target, m, stride, n_train in (
        ("airline-passengers.csv", "Passengers", 12, 1, None),
        ("bike-sharing-day.csv", "cnt", 7, 7, "round"),
        ("bike-sharing-day.csv", "cnt", 7, 1, None),
    ):
        y = pd.read_csv(SERIES / file)[target].to_numpy(float)
        train = round(0.8 * len(y)) if n_train == "round" else int(0.8 * len(y))
        origins = range(train, len(y) - m + 1, stride)  # from the first origin on, as the README
        actual = np.concatenate([y[o : o + m] for o in origins])
        scale = np.full(len(actual), fc.seasonal_scale(y[:train], m))
        cells = []
        for forecaster in (fc.seasonal_naive, fc.holt_winters):
            forecast = np.concatenate([forecaster(y[:o], m, m) for o in origins])
            scores = fc.forecast_metrics(actual, forecast, scale)
            cells.append(f"{scores['mae']:.1f} / {scores['rmse']:.1f} / {scores['mase']:.2f}")
        protocol = "datasets README" if stride > 1 else "dlstudio"
        lines.append(f"| {target} | {protocol} (stride {stride}, train {train}) | {len(origins)} "
                     f"| {cells[0]} | {cells[1]} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _row(case: str, rows: list) -> str:
    def spread(values: list[float], digits: int) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"

    metrics = [m for m, _, _ in rows]
    ours_mase = [m["test_mase"] for m in metrics]
    first = metrics[0]
    wins = sum(m["test_mase"] < m["ets_test_mase"] for m in metrics)
    return (
        f"| {case} | {spread(ours_mase, 3)} | {spread([m['test_mae'] for m in metrics], 1)} "
        f"| {first['snaive_test_mase']:.3f} / {first['snaive_test_mae']:.1f} "
        f"| {first['ets_test_mase']:.3f} / {first['ets_test_mae']:.1f} | {wins}/{len(rows)} "
        f"| {spread([t.epochs for _, t, _ in rows], 0)} "
        f"| {spread([t.seconds for _, t, _ in rows], 1)} | {spread([s for _, _, s in rows], 0)} |"
    )


if __name__ == "__main__":
    main()
