"""Scale: ``dlstudio train`` on a synthetic 1,000,000-row x 20-column mixed-type CSV, on the CPU.

Generates the table into a temporary folder (never committed): 9 numeric columns (normal,
heavy-tailed, integer counts), 7 categoricals of 3 to 20,000 levels, two yes/no columns, a date,
missing values in 4 columns (blank cells) and a binary ``target`` that depends on 7 of them.
Then runs

    dlstudio train --data big.csv --target target --preset fast --json

as a subprocess (fresh DLSTUDIO_HOME) and reports the peak RSS of its process tree (psutil,
sampled every 0.1 s, summed over the tree; plus the kernel's maximum RSS of the biggest single
process from ``/usr/bin/time -v`` when that is installed), the time until the first epoch has
finished (the first stderr line with ``train_loss=``) and the total time.

    .venv/bin/python bench/scale.py [--rows 1000000] [--epochs N] [--keep]

``--epochs N`` adds ``--set training.epochs=N`` (for when the full fast preset takes too long).
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, help="adds --set training.epochs=N")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (CSV, home)")
    args = parser.parse_args()
    try:
        poller = PeakRss()
    except ImportError:
        poller = None
    if poller is None and not TIME_BINARY.exists():
        print("neither psutil nor /usr/bin/time is available: pip install psutil")
        return 1
    folder = Path(tempfile.mkdtemp(prefix="dlstudio-bench-scale-"))
    try:
        load_before = os.getloadavg()
        started = time.perf_counter()
        table = make_table(args.rows)
        data = folder / "big.csv"
        table.to_csv(data, index=False)
        size_mb = data.stat().st_size / 2**20
        print(
            f"generated {data} ({args.rows} x {table.shape[1]}, {size_mb:.0f} MiB, target "
            f"share {table['target'].mean():.3f}) in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        del table
        env = bench_env(str(folder / "home"))
        env["DLSTUDIO_MAX_UPLOAD_MB"] = str(max(200, int(size_mb) + 1))
        command = [str(CLI), "train", "--data", str(data), "--target", "target"]
        command += ["--preset", "fast", "--json"]
        if args.epochs:
            command += ["--set", f"training.epochs={args.epochs}"]
        wrapped = [str(TIME_BINARY), "-v", *command] if TIME_BINARY.exists() else command

        def echo(seconds: float, text: str) -> None:
            if "train_loss=" in text or text.startswith("error"):
                print(f"  [{seconds:6.1f}s] {text}", file=sys.stderr)

        code, seconds, stdout, lines = run_streaming(wrapped, env, on_line=echo, poll=poller)
        epochs = [(t, text) for t, text in lines if "train_loss=" in text]
        kernel_peak = next(
            (
                int(m.group(1)) / 2**20  # kB -> GiB
                for _, text in lines
                if (m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", text))
            ),
            None,
        )
        print(f"\n`{' '.join(['dlstudio', *command[1:]]).replace(str(folder), '$TMP')}`\n")
        print(
            f"data: {args.rows:,} rows x 20 columns, {size_mb:.0f} MiB CSV; "
            f"{os.cpu_count()} CPUs visible, CPU only; exit code {code}\n"
        )
        print("| measure | value | target |")
        print("|---|---|---|")
        if poller is not None:
            gb = poller.peak / 2**30
            ok = "met" if gb <= RSS_TARGET_GB else "NOT met"
            print(
                f"| peak RSS, process tree (psutil, 0.1 s polls) | {gb:.2f} GiB | <= 4 GB: {ok} |"
            )
        if kernel_peak is not None:
            gb = kernel_peak
            ok = "met" if gb <= RSS_TARGET_GB else "NOT met"
            print(f"| max RSS of the dlstudio process (`time -v`) | {gb:.2f} GiB | <= 4 GB: {ok} |")
        first = f"{epochs[0][0]:.0f} s" if epochs else "no epoch finished"
        print(f"| time to the first finished epoch | {first} | |")
        print(f"| epochs run | {len(epochs)} | |")
        if epochs:
            per_epoch = [re.search(r"\] ([\d.]+)s", text) for _, text in epochs]
            shown = [float(m.group(1)) for m in per_epoch if m]
            if shown:
                print(
                    f"| seconds per epoch (as printed) | {min(shown):.0f} to {max(shown):.0f} | |"
                )
            print(f"| training finished (last epoch line) | {epochs[-1][0]:.0f} s | |")
        print(f"| total wall time of the command | {seconds:.0f} s | |")
        print(
            "\n1-minute load average before / after: "
            f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (machine shared with other work)"
        )
        if code == 0:
            result = json.loads(stdout)
            ours, base = result["metrics"], result["baseline"]["metrics"]
            print(
                f"\ntest accuracy / macro-F1: ours {ours['test_accuracy']:.3f} / "
                f"{ours['test_f1_macro']:.3f}, {result['baseline']['name']} "
                f"{base['test_accuracy']:.3f} / {base['test_f1_macro']:.3f}; notes: "
                f"{result['notes']}"
            )
        else:
            tail = "\n".join(text for _, text in lines[-20:])
            print(f"\nthe command failed:\n```\n{tail}\n```")
        return 0 if code == 0 else 1
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
