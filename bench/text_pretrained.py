"""Pretrained text presets: accuracy vs. TF-IDF + logistic regression, time on 12,000 texts,
MiniLM's embedding rate, and the latency of one sentence.

    .venv/bin/python bench/text_pretrained.py quality [--presets fast,balanced,best] [--seeds 0,1,2]
    .venv/bin/python bench/text_pretrained.py speed [--rows 12000] [--presets fast,balanced,best]
    .venv/bin/python bench/text_pretrained.py embed [--texts 1000]
    .venv/bin/python bench/text_pretrained.py latency [--repeats 50]

quality: ../shared/datasets/text/uci-sentences.csv (3,000 sentences, negative/positive); per seed
a stratified 80/20 split (``train_test_split(random_state=seed)``), the template trains on the
80% (15% of it for early stopping) and is scored on the 20%, as is its TF-IDF word 1-2 gram +
logistic regression baseline (fitted on the same 80%). "train s" is the template's whole
``train`` (MiniLM's pass over every text, the fit loop, the test, the baseline, saving the
folder); MLflow is left out (it measures the model, not the logging). Mean ± sample std.
speed: the same ``train`` on ``--rows`` texts made from uci-sentences (each sentence repeated with
small edits: case, punctuation, a filler word), one seed, for timing only.
embed: MiniLM's texts/s over uci-sentences: padded to 128 tokens as they come, against sorted by
length and padded per batch (what the template does), at several batch sizes.
latency: ``TextPredictor.predict`` on one sentence, after loading, median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "text" / "uci-sentences.csv"
FILLERS = ["", " really", " honestly", " overall", " to be fair"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["quality", "speed", "embed", "latency"])
    parser.add_argument("--presets", default="fast,balanced,best")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", type=int, default=12_000)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    os.environ["DLSTUDIO_HOME"] = tempfile.mkdtemp(prefix="dlstudio-bench-text-")
    print(f"`{' '.join(['.venv/bin/python', 'bench/text_pretrained.py', *sys.argv[1:]])}`, "
          f"load average {os.getloadavg()[0]:.1f}\n", flush=True)  # fmt: skip
    raw = pd.read_csv(DATA)
    if args.part == "quality":
        quality(raw, args.presets.split(","), [int(s) for s in args.seeds.split(",")])
    elif args.part == "speed":
        speed(enlarge(raw, args.rows), args.presets.split(","))
    elif args.part == "embed":
        embed(raw["text"].tolist()[: args.texts])
    else:
        latency(raw, args.repeats)


def train(frame: pd.DataFrame, preset: str, seed: int, test: pd.DataFrame | None = None, **extra):
    """The template's ``train`` on ``frame`` (and ``test``): its outcome, seconds, model folder."""
    from dlstudio.spec import parse_spec
    from dlstudio.tasks import get_template
    from dlstudio.tasks.base import TrainingData
    from dlstudio.training.device import choose_device, configure_threads

    configure_threads()
    spec = parse_spec({"task": "text_sentiment", "data": {"path": "bench.csv", "target": "label"},
                       "training": {"preset": preset, "seed": seed, **extra},
                       "options": {"text_column": "text"}})  # fmt: skip
    work_dir = Path(tempfile.mkdtemp(prefix="text-model-")) / "model"
    started = time.perf_counter()
    outcome = get_template("text_sentiment").train(
        TrainingData(frame, test), spec, device=choose_device("cpu"), callbacks=[],
        work_dir=work_dir,
    )  # fmt: skip
    return outcome, time.perf_counter() - started, work_dir


def quality(raw: pd.DataFrame, presets: list[str], seeds: list[int]) -> None:
    print("| preset | model | accuracy | macro-F1 | TF-IDF accuracy | ours - TF-IDF | epochs "
          "| train s | per seed (accuracy / TF-IDF) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for preset in presets:
        rows = []
        for seed in seeds:
            part, test = train_test_split(raw, test_size=0.2, stratify=raw["label"],
                                          random_state=seed)  # fmt: skip
            outcome, seconds, _ = train(part, preset, seed, test)
            rows.append((outcome, seconds))
        ours = [o.metrics["accuracy"] for o, _ in rows]
        base = [o.baseline.metrics["accuracy"] for o, _ in rows]
        model = rows[0][0].notes[0].removeprefix("Model: ").split(";")[0].rstrip(".")
        each = ", ".join(f"{a:.3f} / {b:.3f}" for a, b in zip(ours, base, strict=True))
        print(f"| {preset} | {model} | {spread(ours)} "
              f"| {spread([o.metrics['f1_macro'] for o, _ in rows])} | {spread(base)} "
              f"| {spread([a - b for a, b in zip(ours, base, strict=True)])} "
              f"| {spread([len(o.history) for o, _ in rows], 0)} "
              f"| {spread([s for _, s in rows], 0)} | {each} |", flush=True)  # fmt: skip


def speed(frame: pd.DataFrame, presets: list[str]) -> None:
    from dlstudio.tasks import get_template

    template = get_template("text_sentiment")
    print(f"{len(frame):,} texts, {frame['text'].str.split().str.len().mean():.1f} words on "
          "average\n")  # fmt: skip
    print("| preset | model | epochs | train s | estimate s | load average after |")
    print("|---|---|---|---|---|---|", flush=True)
    for preset in presets:
        outcome, seconds, _ = train(frame, preset, 0)
        model = outcome.notes[0].removeprefix("Model: ").split(";")[0].rstrip(".")
        estimate = template.estimate_seconds(len(frame), preset, gpu=False) - 20  # no start-up
        print(f"| {preset} | {model} | {len(outcome.history)} | {seconds:.0f} | {estimate:.0f} "
              f"| {os.getloadavg()[0]:.1f} |", flush=True)  # fmt: skip


def embed(texts: list[str]) -> None:
    import torch

    from dlstudio.nn import minilm
    from dlstudio.training.device import configure_threads

    configure_threads()
    encoder = minilm.load_minilm(minilm.bundled_minilm_folder())
    encoder.embed(texts[:64], max_tokens=256)  # warm-up
    print(f"{len(texts):,} sentences, {torch.get_num_threads()} threads\n")
    print("| batching | texts/s |\n|---|---|")
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(texts), 32):
            batch = encoder.tokenizer(texts[start : start + 32], padding="max_length",
                                      truncation=True, max_length=128, return_tensors="pt")  # fmt: skip
            encoder.model(**batch)
    print(f"| padded to 128 tokens, 32 per batch, as they come "
          f"| {len(texts) / (time.perf_counter() - started):.0f} |", flush=True)  # fmt: skip
    for size in (32, 64, 128):
        minilm.BATCH_TEXTS = size
        started = time.perf_counter()
        encoder.embed(texts, max_tokens=256)
        rate = len(texts) / (time.perf_counter() - started)
        print(f"| sorted by length, padded per batch, {size} per batch | {rate:.0f} |", flush=True)


def latency(raw: pd.DataFrame, repeats: int) -> None:
    from dlstudio.tasks.text.predictor import TextPredictor

    print("| preset | model | load s | one sentence ms (median) | p90 ms |\n|---|---|---|---|---|")
    part = raw.sample(600, random_state=0)
    for preset in ("fast", "balanced", "best"):
        outcome, _, work_dir = train(part, preset, 0, epochs=1)
        started = time.perf_counter()
        predictor = TextPredictor.load(work_dir)
        loaded = time.perf_counter() - started
        one = pd.DataFrame({"text": ["The battery died after two days, very disappointed."]})
        predictor.predict(one)  # warm-up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predictor.predict(one)
            times.append(1000 * (time.perf_counter() - started))
        model = outcome.notes[0].removeprefix("Model: ").split(";")[0].rstrip(".")
        print(f"| {preset} | {model} | {loaded:.1f} | {statistics.median(times):.1f} "
              f"| {np.percentile(times, 90):.1f} |", flush=True)  # fmt: skip


def enlarge(raw: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` texts: uci-sentences repeated, each copy edited a little (case, a filler word,
    punctuation) so that the copies are not identical strings."""
    rng = np.random.default_rng(0)
    picked = raw.iloc[np.arange(rows) % len(raw)].reset_index(drop=True)
    copy = np.arange(rows) // len(raw)

    def edit(text: str, k: int) -> str:
        text = text.rstrip(".!") + FILLERS[k % len(FILLERS)] + rng.choice([".", "!", ""])
        return text.lower() if k % 2 else text

    return picked.assign(text=[edit(t, k) for t, k in zip(picked["text"], copy, strict=True)])


def spread(values: list[float], digits: int = 3) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


if __name__ == "__main__":
    main()
