"""Explanations of text and image models (issue 20): word weights and Grad-CAM heat maps.

Text: trains text_sentiment on uci-sentences with ``--text-preset`` (fast: a network from
scratch; balanced: MiniLM) and times, on the CPU, the word weights of one typed sentence (the
Results page's try box) and of 10 mistakes. Faithfulness: deleting a sentence's 2 heaviest
words must lower the chance of its label more than deleting 2 words at random.

Images: EfficientNet-Lite0 with its ImageNet weights at 224 px (the pretrained backbone every
photo run starts from): Grad-CAM seconds per image alone (the try box) and for the 24 images of a
mistakes sheet (target: <= 1 s per 224 px image on CPU).

    .venv/bin/python bench/explain_media.py [--text-preset fast] [--sentences 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dlstudio.explain.heatmaps import heat_maps
from dlstudio.explain.words import word_weights
from dlstudio.nn.cnn import ImageModelConfig, build_image_model
from dlstudio.nn.efficientnet import MEAN, SIDE, STD
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.training.device import choose_device, configure_threads

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "text" / "uci-sentences.csv"
TARGET_SECONDS_PER_IMAGE = 1.0


def text_bench(preset: str, sentences: int) -> None:
    frame = pd.read_csv(DATA)[["text", "label"]]
    spec = parse_spec({"task": "text_sentiment", "data": {"path": str(DATA), "target": "label"},
                       "training": {"preset": preset, "seed": 0}})  # fmt: skip
    template = get_template("text_sentiment")
    with tempfile.TemporaryDirectory() as folder:
        outcome = template.train(TrainingData(frame), spec, device=choose_device("cpu"),
                                 callbacks=[], work_dir=Path(folder) / "model")  # fmt: skip
        predictor = template.load_predictor(outcome.model_dir)
    texts = outcome.holdout["text"].astype(str).head(sentences).tolist()
    words = [len(t.split()) for t in texts]
    seconds = []
    for text in texts:
        started = time.perf_counter()
        word_weights(predictor.predict, "text", [text])
        seconds.append(time.perf_counter() - started)
    print(f"text_sentiment, preset {preset}, f1_macro {outcome.metrics['f1_macro']:.3f}: word "
          f"weights of one sentence ({statistics.median(words)} words median, {max(words)} max) "
          f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s")  # fmt: skip
    started = time.perf_counter()
    weighed = word_weights(predictor.predict, "text", texts)
    print(f"  {len(texts)} sentences at once: {time.perf_counter() - started:.1f} s")
    rng = np.random.default_rng(0)
    top_drop, random_drop = [], []
    for text, weights in zip(texts, weighed, strict=True):
        if len(weights.words) < 4:
            continue
        order = np.argsort(-np.asarray(weights.weights), kind="stable")
        chance = _chances(predictor, weights.label, [
            text, _without(weights.words, order[:2]),
            _without(weights.words, rng.choice(len(weights.words), 2, replace=False)),
        ])  # fmt: skip
        top_drop.append(chance[0] - chance[1])
        random_drop.append(chance[0] - chance[2])
    print(f"  deleting the 2 heaviest words lowers the chance of the label by "
          f"{np.mean(top_drop):.3f} on average, 2 random words by {np.mean(random_drop):.3f} "
          f"({len(top_drop)} sentences of 4 words or more)")  # fmt: skip


def _without(words: tuple[str, ...], dropped) -> str:
    gone = {int(i) for i in dropped}
    return " ".join(w for i, w in enumerate(words) if i not in gone)


def _chances(predictor, label: str, texts: list[str]) -> list[float]:
    return predictor.predict(pd.DataFrame({"text": texts}))[f"probability_{label}"].tolist()


def image_bench() -> None:
    config = ImageModelConfig(kind="efficientnet_lite0", channels=3, n_classes=10,
                              mean=MEAN, std=STD)  # fmt: skip
    network = build_image_model(config)
    network.backbone.load_imagenet()
    images = np.random.default_rng(0).integers(0, 256, (24, SIDE, SIDE, 3), dtype=np.uint8)
    heat_maps(network, images[:1], [0])  # warm up
    alone = []
    for i in range(10):
        started = time.perf_counter()
        heat_maps(network, images[i : i + 1], [i % 10])
        alone.append(time.perf_counter() - started)
    started = time.perf_counter()
    heat_maps(network, images, [i % 10 for i in range(len(images))])
    sheet = time.perf_counter() - started
    print(f"Grad-CAM, EfficientNet-Lite0 at {SIDE} px: one image median "
          f"{statistics.median(alone):.3f} s (target {TARGET_SECONDS_PER_IMAGE:.0f} s); "
          f"a sheet of {len(images)} in {sheet:.2f} s ({sheet / len(images):.3f} s per image)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-preset", default="fast")
    parser.add_argument("--sentences", type=int, default=40)
    args = parser.parse_args()
    configure_threads(None)
    image_bench()
    text_bench(args.text_preset, args.sentences)


if __name__ == "__main__":
    main()
