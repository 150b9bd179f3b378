"""Forecasting quality, intervals and speed: the registered blend vs. its members and the
classical baselines, under one rolling-origin backtest.

    .venv/bin/python bench/forecasting.py quality [--preset best] [--seeds 0,1,2]
    .venv/bin/python bench/forecasting.py short [--preset best] [--seeds 0,1,2]
    .venv/bin/python bench/forecasting.py speed
    .venv/bin/python bench/forecasting.py scale [--series 1000] [--points 1000]

quality: the issue's series (../shared/datasets/timeseries): airline-passengers (monthly, 12-month
horizon) and bike-sharing-day ``cnt`` with its weather covariates (daily, 14-day horizon).
short: 16 public or generated short series none of us tuned on by hand (statsmodels' co2, elnino,
macrodata; airline's last 100 months; the forecasting sample's three stores; four generated
monthly sales series), the shape of the held-out monthly sales series (~100 points, yearly
season, 12-month horizon). For each and each seed, ``dlstudio.training.run`` trains on the first
80% and forecasts from every origin of the last 20%; every model is scored on the same origins.
speed: ``dlstudio train`` as a user runs it (a new process, whole command) on one 150-point
monthly series with ``best``, and on 200 series x 500 daily points with ``best``.
scale: 1,000 series x 1,000 daily points, ``fast``, 2 epochs: seconds per epoch (the loop's own
timing) and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT.parent / "shared" / "datasets" / "timeseries"
WEATHER = ["season", "holiday", "workingday", "weathersit", "temp", "atemp", "hum", "windspeed"]
CASES = {
    "airline-passengers (h=12)": (SERIES / "airline-passengers.csv", "Passengers", {"horizon": 12}),
    "bike-sharing cnt + weather (h=14)": (
        SERIES / "bike-sharing-day.csv",
        "cnt",
        {"time_column": "dteday", "horizon": 14, "covariates": WEATHER},
    ),
}
MEMBERS = (("test_network_mase", "network"), ("ets_test_mase", "HW"),
           ("theta_test_mase", "Theta"), ("snaive_test_mase", "snaive"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["quality", "short", "speed", "scale"])
    parser.add_argument("--preset", default="best")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    os.environ["DLSTUDIO_HOME"] = tempfile.mkdtemp(prefix="dlstudio-bench-forecast-")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.part == "quality":
        quality(CASES, args.preset, seeds)
    elif args.part == "short":
        folder = Path(tempfile.mkdtemp(prefix="short-series-"))
        cases = {}
        for name, values, season, horizon in short_series():
            path = folder / f"{name}.csv"
            start = {12: "MS", 4: "QS"}[season]
            times = pd.date_range("2000-01-01", periods=len(values), freq=start)
            pd.DataFrame({"date": times, "y": values}).to_csv(path, index=False)
            cases[name] = (path, "y", {"horizon": horizon})
        quality(cases, args.preset, seeds)
    elif args.part == "speed":
        speed()
    else:
        scale(args.series, args.points)


def quality(cases: dict, preset: str, seeds: list[int]) -> None:
    from dlstudio.spec import parse_spec
    from dlstudio.training import run

    print(f"preset {preset}, seeds {seeds}; MASE mean ± sample std over seeds (members' in [])\n")
    print("| series | best (blend) | network | HW | Theta | seasonal naive | blend <= HW "
          "| blend < snaive | coverage80 | pinball | weights (seed 0) | run s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for case, (path, target, options) in cases.items():
        rows = []
        for seed in seeds:
            spec = parse_spec({
                "task": "forecasting",
                "data": {"path": str(path), "target": target},
                "training": {"preset": preset, "seed": seed},
                "options": options,
            })  # fmt: skip
            started = time.perf_counter()
            result = run(spec)
            rows.append((result, time.perf_counter() - started))
        print(_row(case, rows), flush=True)
        blend = statistics.mean(r.metrics["test_mase"] for r, _ in rows)
        ratios.append([blend / rows[0][0].metrics[key] for key, _ in MEMBERS[1:]])
    geo = np.exp(np.log(np.array(ratios)).mean(axis=0))
    print(f"\ngeometric mean of blend MASE / member MASE over {len(cases)} series: "
          + ", ".join(f"{name} {g:.3f}" for (_, name), g in zip(MEMBERS[1:], geo, strict=True)))  # fmt: skip


def _row(case: str, rows: list) -> str:
    def spread(values: list[float], digits: int = 3) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"

    metrics = [r.metrics for r, _ in rows]
    blend = [m["test_mase"] for m in metrics]
    first = metrics[0]
    weights = next(c for c in rows[0][0].candidates["candidates"] if c["key"] == "combination")
    shares = ", ".join(f"{k} {v:.0%}" for k, v in weights["weights"].items() if v >= 0.005)
    beats_hw = sum(m["test_mase"] <= m["ets_test_mase"] for m in metrics)
    beats_naive = sum(m["test_mase"] < m["snaive_test_mase"] for m in metrics)
    return (
        f"| {case} | {spread(blend)} | {spread([m['test_network_mase'] for m in metrics])} "
        f"| {first['ets_test_mase']:.3f} | {first['theta_test_mase']:.3f} "
        f"| {first['snaive_test_mase']:.3f} | {beats_hw}/{len(rows)} | {beats_naive}/{len(rows)} "
        f"| {spread([m['test_coverage80'] for m in metrics], 2)} "
        f"| {spread([m['test_pinball'] for m in metrics])} | {shares} "
        f"| {spread([s for _, s in rows], 0)} |"
    )


def short_series() -> list[tuple[str, np.ndarray, int, int]]:
    """(name, values, season length, horizon): short public and generated series."""
    import statsmodels.api as sm

    from dlstudio.tasks.forecasting.sample import store_sales

    airline = pd.read_csv(SERIES / "airline-passengers.csv")["Passengers"].to_numpy(float)
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    elnino = sm.datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy().ravel()
    macro = sm.datasets.macrodata.load_pandas().data
    out = [
        ("airline-last100", airline[-100:], 12, 12),
        ("co2-1958", co2.to_numpy()[:100], 12, 12),
        ("co2-1983", co2.to_numpy()[300:400], 12, 12),
        ("elnino-1950", elnino[:100], 12, 12),
        ("elnino-1983", elnino[400:500], 12, 12),
        ("realcons-quarterly", macro["realcons"].to_numpy()[-100:], 4, 8),
        ("unemp-quarterly", macro["unemp"].to_numpy()[-100:], 4, 8),
    ]
    for store, part in store_sales().groupby("store"):
        out.append((f"sample-{store.replace(' ', '-')}", part["sales"].to_numpy(float), 12, 12))
    rng = np.random.default_rng(7)
    for i in range(4):  # trend, a yearly season with a second harmonic, noise, a level shift
        t = np.arange(100)
        season = 1 + 0.3 * np.sin(2 * np.pi * (t + i) / 12) + 0.1 * np.cos(4 * np.pi * t / 12)
        trend = 100 + (0.5 + 0.4 * i) * t + (20 * (t > 60) if i % 2 else 0)
        noise = np.exp(rng.normal(0, 0.05 + 0.03 * i, 100))
        out.append((f"generated-{i}", trend * season * noise, 12, 12))
    return out


def speed() -> None:
    """Whole ``dlstudio train`` commands, timed from outside."""
    folder = Path(tempfile.mkdtemp(prefix="forecast-speed-"))
    one = folder / "one-150.csv"
    _, values, *_ = short_series()[-1]
    rng = np.random.default_rng(3)
    t = np.arange(150)
    values = (300 + 2 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, 0.05, 150))
    months = pd.date_range("2010-01-01", periods=150, freq="MS")
    pd.DataFrame({"month": months, "sales": values.round(1)}).to_csv(one, index=False)
    many = folder / "many-200x500.csv"
    _synthetic(200, 500).to_csv(many, index=False)
    print("| command | rows | seconds |\n|---|---|---|")
    for path, extra in ((one, []), (many, ["--set", "options.series_column=store"])):
        command = [sys.executable, "-m", "dlstudio", "train", "--task", "forecasting", "--data",
                   str(path), "--target", "sales", "--preset", "best", *extra]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        rows = sum(1 for _ in path.open()) - 1
        print(f"| `dlstudio train ... {path.name} --preset best` | {rows:,} "
              f"| {time.perf_counter() - started:.0f} |", flush=True)  # fmt: skip


def scale(n_series: int, n_points: int) -> None:
    from dlstudio.spec import parse_spec
    from dlstudio.training import run
    from dlstudio.training.loop import Callback

    class EpochTimer(Callback):
        def on_epoch_begin(self, state) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, state) -> None:
            self.seconds = [*getattr(self, "seconds", []), time.perf_counter() - self.started]

    path = Path(tempfile.mkdtemp()) / "scale.csv"
    _synthetic(n_series, n_points).to_csv(path, index=False)
    timer = EpochTimer()
    started = time.perf_counter()
    run(parse_spec({
        "task": "forecasting",
        "data": {"path": str(path), "target": "sales"},
        "training": {"preset": "fast", "epochs": 2, "seed": 0},
        "options": {"series_column": "store"},
    }), callbacks=[timer])  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(f"| {n_series:,} series x {n_points:,} points | epochs {len(timer.seconds)} "
          f"| s/epoch {statistics.mean(timer.seconds):.1f} | run s {time.perf_counter() - started:.0f} "
          f"| peak RSS {peak:.2f} GiB |")  # fmt: skip


def _synthetic(n_series: int, n_points: int) -> pd.DataFrame:
    """Daily sales of ``n_series`` stores: a level, a trend, a weekly pattern, noise."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=n_points, freq="D")
    t = np.arange(n_points)
    frames = []
    for k in range(n_series):
        level = rng.uniform(50, 500)
        week = 1 + rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (t + k) / 7)
        sales = level * (1 + rng.uniform(-0.2, 0.5) * t / n_points) * week
        sales *= np.exp(rng.normal(0, 0.08, n_points))
        frames.append(pd.DataFrame({"day": days, "store": f"s{k:04d}", "sales": sales.round(2)}))
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    main()
