"""The model report (issue 20): time to make ``report.html`` for a trained tabular run (target:
<= 5 s), on the CPU, in this one process.

Trains one tiny run with ``run(spec)`` (telco-churn, 7,043 rows x 21 columns, preset fast, 2
epochs; the run logs its report as every run does), then times, ``--repeats`` times each:
- what a run adds at its end: read the run back from MLflow, profile the data, draw and log
  ``report.html`` (``log_report``);
- the Results page's download of that logged report (``report_for_run``);
- a report for a run logged before reports existed, made from MLflow alone (read + render).
The first repeat pays the imports and MLflow's first queries; the median is reported.

    .venv/bin/python bench/report.py [--repeats 5] [--rows 0] [--keep report.html]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd

from dlstudio.explain.model_report import (
    log_report,
    read_inputs,
    render_report,
    report_for_run,
)
from dlstudio.settings import Settings
from dlstudio.spec import parse_spec
from dlstudio.training import run
from dlstudio.training.device import configure_threads
from dlstudio.training.runner import check_run

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "tabular" / "telco-churn.csv"
TARGET_SECONDS = 5.0


def timed(label: str, repeats: int, action: Callable[[], object]) -> float:
    """Run ``action`` ``repeats`` times; print the first and the median wall seconds."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    verdict = "ok" if median <= TARGET_SECONDS else "OVER TARGET"
    print(f"{label}: median {median:.2f} s, first {seconds[0]:.2f} s "
          f"(target {TARGET_SECONDS:.0f} s: {verdict})")  # fmt: skip
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=0, help="repeat the table to this many rows")
    parser.add_argument("--keep", type=Path, help="write the report here")
    args = parser.parse_args()
    configure_threads(None)
    with tempfile.TemporaryDirectory() as folder:
        home, csv = Path(folder), Path(folder) / "telco.csv"
        frame = pd.read_csv(DATA)
        if args.rows:
            frame = pd.concat([frame] * (args.rows // len(frame) + 1)).head(args.rows)
        frame.to_csv(csv, index=False)
        settings = Settings(home=home)
        spec = parse_spec({"data": {"path": str(csv), "target": "Churn"},
                           "training": {"preset": "fast", "epochs": 2, "seed": 0}})  # fmt: skip
        started = time.perf_counter()
        run_id = run(spec, settings=settings).run_id
        print(f"telco-churn, {len(frame):,} rows x {frame.shape[1]} columns: trained and logged "
              f"in {time.perf_counter() - started:.1f} s (report included)")  # fmt: skip
        source, findings = check_run(spec, settings)  # as the run saw them

        def log_again() -> None:
            with mlflow.start_run(run_id=run_id):
                log_report(run_id, source, findings=findings, settings=settings)

        def older_run() -> str:
            return render_report(read_inputs(settings, run_id, now=datetime.now(UTC)))

        timed("end of a run: read back, profile, draw, log report.html", args.repeats, log_again)
        timed("Results download of the logged report", args.repeats,
              lambda: report_for_run(settings, run_id))  # fmt: skip
        timed("report of an older run, from MLflow alone", args.repeats, older_run)
        document = report_for_run(settings, run_id)
        print(f"report.html: {len(document) / 1024:.0f} KiB, {document.count(b'<svg')} charts")
        if args.keep:
            args.keep.write_bytes(document)


if __name__ == "__main__":
    main()
