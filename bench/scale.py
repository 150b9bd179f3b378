"""Scale: ``dlstudio train`` as a user runs it (a subprocess, CPU), for speed and for memory.

Speed: a generated 50,000-row x 15-column table (8 numeric and 6 categorical columns of the table
below, binary ``target``); whole-command wall time of

    dlstudio train --data speed.csv --target target --preset {fast,best} --json

against the issue's targets (fast <= 20 s, best <= 3 min), with the 1-minute load average before
and after each command (the machine is shared).

Memory: a generated 1,000,000-row x 20-column mixed-type CSV: 9 numeric columns (normal,
heavy-tailed, integer counts), 7 categoricals of 3 to 20,000 levels, two yes/no columns, a date,
missing values in 4 columns (blank cells) and a binary ``target`` that depends on 7 of them; then

    dlstudio train --data big.csv --target target --preset fast --json

reporting the peak RSS of its process tree (psutil, sampled every 0.1 s, summed over the tree;
plus the kernel's maximum RSS of the biggest single process from ``/usr/bin/time -v`` when that
is installed), the time until the first epoch has finished (the first stderr line with
``train_loss=``) and the total time. Tables go to a temporary folder (never committed), each
command gets a fresh DLSTUDIO_HOME.

    .venv/bin/python bench/scale.py [--only speed|memory] [--speed-rows 50000] \
        [--speed-presets fast,best] [--rows 1000000] [--epochs N] [--keep]

``--epochs N`` adds ``--set training.epochs=N`` to the memory run (for when the full fast preset
takes too long).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from first_model import CLI, bench_env, run_streaming

RSS_TARGET_GB = 4.0
TIME_BINARY = Path("/usr/bin/time")


def make_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """19 mixed-type feature columns and a binary target that depends on 7 of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": np.round(rng.lognormal(10.5, 0.8, rows), 2),
            "balance": np.round(rng.normal(1000, 400, rows), 2),
            "score_a": np.round(rng.normal(0, 1, rows), 4),
            "score_b": np.round(rng.normal(0, 1, rows), 4),
            "score_c": np.round(rng.uniform(0, 1, rows), 4),
            "visits": rng.poisson(3, rows),
            "tenure_months": rng.integers(0, 120, rows),
            "plan": rng.choice(
                ["basic", "plus", "pro", "enterprise"], rows, p=[0.4, 0.3, 0.2, 0.1]
            ),
            "region": rng.choice([f"region_{i:02d}" for i in range(12)], rows),
            "channel": rng.choice([f"channel_{i}" for i in range(50)], rows),
            "city": np.char.add("city_", rng.integers(0, 1000, rows).astype(str)),
            "product_code": np.char.add("P", rng.integers(0, 20000, rows).astype(str)),
            "newsletter": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
            "has_card": rng.choice(["Yes", "No"], rows),
            "signup_date": (
                np.datetime64("2015-01-01") + rng.integers(0, 3650, rows).astype("timedelta64[D]")
            ).astype(str),
            "device": rng.choice(["mobile", "desktop", "tablet"], rows),
            "referrer": rng.choice(["search", "ad", "friend", "direct", "partner"], rows),
            "discount": np.round(
                rng.choice([0, 5, 10, 15, 20], rows) + rng.normal(0, 0.1, rows), 2
            ),
        }
    )
    month = pd.to_datetime(frame["signup_date"]).dt.month.to_numpy()
    channel_effect = rng.normal(0, 0.6, 50)[frame["channel"].str[8:].astype(int).to_numpy()]
    logit = (
        1.2 * frame["score_a"]
        - 0.8 * frame["score_b"] * (frame["plan"] == "pro")
        + 0.9 * (frame["newsletter"] == "yes")
        + 0.02 * (frame["age"] - 50)
        + 0.6 * np.sin(month / 12 * 2 * np.pi)
        + channel_effect
        - 0.5
    ).to_numpy()
    frame["target"] = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-logit))).astype(int)
    for column, share in {"income": 0.05, "score_b": 0.02, "city": 0.03, "has_card": 0.1}.items():
        frame.loc[rng.uniform(0, 1, rows) < share, column] = None
    return frame


class PeakRss:
    """Largest summed RSS of a process and its descendants seen by polling (psutil)."""

    def __init__(self) -> None:
        import psutil

        self.psutil, self.peak = psutil, 0

    def __call__(self, pid: int) -> None:
        try:
            parent = self.psutil.Process(pid)
            tree = [parent, *parent.children(recursive=True)]
        except self.psutil.NoSuchProcess:
            return
        total = 0
        for process in tree:
            with contextlib.suppress(self.psutil.NoSuchProcess):
                total += process.memory_info().rss
        self.peak = max(self.peak, total)


SPEED_COLUMNS = [  # 14 features (8 numeric, 6 categorical) and the target
    "age", "income", "balance", "score_a", "score_b", "score_c", "visits", "tenure_months",
    "plan", "region", "channel", "city", "newsletter", "has_card", "target",
]  # fmt: skip
SPEED_TARGETS = {"fast": 20.0, "best": 180.0}  # whole-command seconds (issue 16)


@dataclass
class Measured:
    """One ``dlstudio train`` command: exit code, wall seconds, stdout, stamped stderr lines,
    peak RSS of the tree (psutil) and the kernel's max RSS of one process (``time -v``), GiB."""

    command: list[str]
    code: int
    seconds: float
    stdout: str
    lines: list[tuple[float, str]]
    tree_peak_gb: float | None
    kernel_peak_gb: float | None

    @property
    def epochs(self) -> list[tuple[float, str]]:
        return [(t, text) for t, text in self.lines if "train_loss=" in text]

    def result(self) -> dict | None:
        return json.loads(self.stdout) if self.code == 0 else None

    def failure(self) -> str:
        return "\n".join(text for _, text in self.lines[-20:])


def train(data: Path, home: Path, preset: str, *, epochs: int | None = None) -> Measured:
    """Run ``dlstudio train`` on ``data`` as a user would, measuring time and memory."""
    try:
        poller = PeakRss()
    except ImportError:
        poller = None
    env = bench_env(str(home))
    size_mb = data.stat().st_size / 2**20
    env["DLSTUDIO_MAX_UPLOAD_MB"] = str(max(200, int(size_mb) + 1))
    command = [str(CLI), "train", "--data", str(data), "--target", "target"]
    command += ["--preset", preset, "--json"]
    if epochs:
        command += ["--set", f"training.epochs={epochs}"]
    wrapped = [str(TIME_BINARY), "-v", *command] if TIME_BINARY.exists() else command

    def echo(seconds: float, text: str) -> None:
        if "train_loss=" in text or text.startswith("error"):
            print(f"  [{seconds:6.1f}s] {text}", file=sys.stderr)

    code, seconds, stdout, lines = run_streaming(wrapped, env, on_line=echo, poll=poller)
    kernel_peak = next(
        (
            int(m.group(1)) / 2**20  # kB -> GiB
            for _, text in lines
            if (m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", text))
        ),
        None,
    )
    tree_peak = poller.peak / 2**30 if poller is not None else None
    return Measured(command, code, seconds, stdout, lines, tree_peak, kernel_peak)


def write_table(frame: pd.DataFrame, path: Path) -> float:
    """Write the CSV; its size in MiB."""
    started = time.perf_counter()
    frame.to_csv(path, index=False)
    size_mb = path.stat().st_size / 2**20
    print(
        f"generated {path} ({len(frame)} x {frame.shape[1]}, {size_mb:.0f} MiB, target share "
        f"{frame['target'].mean():.3f}) in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return size_mb


def shown(command: list[str], folder: Path) -> str:
    return " ".join(["dlstudio", *command[1:]]).replace(str(folder), "$TMP")


def speed(folder: Path, rows: int, presets: list[str]) -> bool:
    """Whole-command wall time of ``dlstudio train`` per preset on a rows x 15 table."""
    data = folder / "speed.csv"
    size_mb = write_table(make_table(rows, seed=1)[SPEED_COLUMNS], data)
    print(f"\n#### Speed: {rows:,} rows x 15 columns ({size_mb:.1f} MiB CSV), CPU only\n")
    print("| preset | wall s (whole command) | target | load before / after | registered | "
          "test macro-F1 (registered / HGB) | epochs |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    ok = True
    for preset in presets:
        before = os.getloadavg()[0]
        measured = train(data, folder / f"home-{preset}", preset)
        after = os.getloadavg()[0]
        target = SPEED_TARGETS.get(preset)
        verdict = "" if target is None else (
            f"<= {target:.0f} s: {'met' if measured.seconds <= target else 'NOT met'}"
        )  # fmt: skip
        result = measured.result()
        if result is None:
            print(f"| {preset} | failed ({measured.code}) | {verdict} | | | | |")
            print(f"\n```\n{measured.failure()}\n```", file=sys.stderr)
            ok = False
            continue
        chosen = (result.get("candidates") or {}).get("chosen", "network")
        hgb = result["metrics"].get("hgb_test_f1_macro", float("nan"))
        print(
            f"| {preset} | {measured.seconds:.1f} | {verdict} | {before:.1f} / {after:.1f} | "
            f"{chosen} | {result['metrics']['test_f1_macro']:.3f} / {hgb:.3f} | "
            f"{len(measured.epochs)} |"
        )
    print(f"\ncommand: `{shown(measured.command, folder)}` (each preset)")
    return ok


def memory(folder: Path, rows: int, epochs: int | None) -> bool:
    """Peak RSS, time to the first epoch and total time of ``--preset fast`` on rows x 20."""
    data = folder / "big.csv"
    size_mb = write_table(make_table(rows), data)
    load_before = os.getloadavg()
    measured = train(data, folder / "home-memory", "fast", epochs=epochs)
    print(f"\n#### Memory: `{shown(measured.command, folder)}`\n")
    print(
        f"data: {rows:,} rows x 20 columns, {size_mb:.0f} MiB CSV; "
        f"{os.cpu_count()} CPUs visible, CPU only; exit code {measured.code}\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    for label, gb in (
        ("peak RSS, process tree (psutil, 0.1 s polls)", measured.tree_peak_gb),
        ("max RSS of the dlstudio process (`time -v`)", measured.kernel_peak_gb),
    ):
        if gb is not None:
            ok = "met" if gb <= RSS_TARGET_GB else "NOT met"
            print(f"| {label} | {gb:.2f} GiB | <= 4 GB: {ok} |")
    epochs_seen = measured.epochs
    first = f"{epochs_seen[0][0]:.0f} s" if epochs_seen else "no epoch finished"
    print(f"| time to the first finished epoch | {first} | |")
    print(f"| epochs run | {len(epochs_seen)} | |")
    if epochs_seen:
        print(f"| training finished (last epoch line) | {epochs_seen[-1][0]:.0f} s | |")
    print(f"| total wall time of the command | {measured.seconds:.0f} s | |")
    print(
        "\n1-minute load average before / after: "
        f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (machine shared with other work)"
    )
    result = measured.result()
    if result is None:
        print(f"\nthe command failed:\n```\n{measured.failure()}\n```")
        return False
    ours, base = result["metrics"], result["baseline"]["metrics"]
    print(
        f"\ntest accuracy / macro-F1: ours {ours['test_accuracy']:.3f} / "
        f"{ours['test_f1_macro']:.3f}, {result['baseline']['name']} "
        f"{base['test_accuracy']:.3f} / {base['test_f1_macro']:.3f}; notes: {result['notes']}"
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the memory table")
    parser.add_argument("--epochs", type=int, help="memory run: adds --set training.epochs=N")
    parser.add_argument("--speed-rows", type=int, default=50_000)
    parser.add_argument("--speed-presets", default="fast,best")
    parser.add_argument("--only", choices=["speed", "memory"], help="run one of the two parts")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (CSV, home)")
    args = parser.parse_args()
    try:
        PeakRss()
    except ImportError:
        if not TIME_BINARY.exists():
            print("neither psutil nor /usr/bin/time is available: pip install psutil")
            return 1
    folder = Path(tempfile.mkdtemp(prefix="dlstudio-bench-scale-"))
    try:
        ok = True
        if args.only in (None, "speed"):
            ok &= speed(folder, args.speed_rows, args.speed_presets.split(","))
        if args.only in (None, "memory"):
            ok &= memory(folder, args.rows, args.epochs)
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
