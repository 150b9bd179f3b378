"""Text quality and speed: each network vs. TF-IDF + logistic regression on exactly the same rows.

On ../shared/datasets/text/uci-sentences.csv (3,000 sentences, negative/positive), for each seed a
stratified 80/20 split (``train_test_split(random_state=seed)``) is written to two CSVs; dlstudio
trains on the first (``data.path``, its own 15% validation split inside) and is scored on the
second (``data.test_path``), as is its TF-IDF word 1-2 gram + logistic regression baseline
(fitted on the same training file). Prints mean +- sample std over seeds of accuracy and macro-F1,
the training time (fit loop, early stopping included), training and prediction throughput.

    .venv/bin/python bench/text.py [--seeds 0,1,2] [--configs fast,balanced,best,bigru,transformer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "text" / "uci-sentences.csv"
CONFIGS = {  # name -> (preset, model option)
    "fast": ("fast", "auto"),
    "balanced": ("balanced", "auto"),
    "best": ("best", "auto"),
    "bigru": ("balanced", "bigru"),
    "transformer": ("balanced", "transformer"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dlstudio-bench-text-"))
    os.environ["DLSTUDIO_HOME"] = str(folder / "home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    from dlstudio.predict import load_model
    from dlstudio.spec import parse_spec
    from dlstudio.training import run
    from dlstudio.training.loop import Callback

    class Timer(Callback):
        def on_train_begin(self, state) -> None:
            self.started, self.rows = time.perf_counter(), 0

        def on_epoch_end(self, state) -> None:
            self.epochs = state.epoch

        def on_train_end(self, state) -> None:
            self.seconds = time.perf_counter() - self.started

    raw = pd.read_csv(DATA)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{len(raw)} sentences, seeds {seeds}, load average {os.getloadavg()[0]:.1f}\n")
    print("| config | model | accuracy | macro-F1 | TF-IDF accuracy | TF-IDF macro-F1 "
          "| epochs | train s | train texts/s | predict texts/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.configs.split(","):
        preset, model = CONFIGS[name]
        rows = []
        for seed in seeds:
            train, test = train_test_split(raw, test_size=0.2, stratify=raw["label"],
                                           random_state=seed)  # fmt: skip
            train_path, test_path = folder / f"train{seed}.csv", folder / f"test{seed}.csv"
            train.to_csv(train_path, index=False)
            test.to_csv(test_path, index=False)
            spec = parse_spec({
                "task": "text_sentiment",
                "data": {"path": str(train_path), "test_path": str(test_path), "target": "label"},
                "training": {"preset": preset, "seed": seed},
                "options": {"text_column": "text", "model": model},
            })  # fmt: skip
            timer = Timer()
            result = run(spec, callbacks=[timer])
            pyfunc = load_model(result.model_uri)
            started = time.perf_counter()
            pyfunc.predict(test[["text"]])
            predict_rate = len(test) / (time.perf_counter() - started)
            fitted = 0.85 * len(train) * timer.epochs  # rows seen by the loop
            kind = next(n for n in result.notes if n.startswith("Model: "))
            rows.append((result, timer, fitted / timer.seconds, predict_rate, kind))
        print(_row(name, rows))


def _row(name: str, rows: list) -> str:
    def spread(values: list[float], digits: int = 3) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"

    ours = [r.metrics for r, *_ in rows]
    base = [r.baseline["metrics"] for r, *_ in rows]
    model = rows[0][4].removeprefix("Model: ").split(";")[0]
    return (
        f"| {name} | {model} | {spread([m['test_accuracy'] for m in ours])} "
        f"| {spread([m['test_f1_macro'] for m in ours])} "
        f"| {spread([m['test_accuracy'] for m in base])} "
        f"| {spread([m['test_f1_macro'] for m in base])} "
        f"| {spread([t.epochs for _, t, *_ in rows], 0)} "
        f"| {spread([t.seconds for _, t, *_ in rows], 1)} "
        f"| {spread([r for *_, r, _, _ in rows], 0)} | {spread([p for *_, p, _ in rows], 0)} |"
    )


if __name__ == "__main__":
    main()
