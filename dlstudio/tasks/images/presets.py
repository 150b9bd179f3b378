"""The image template's presets: a CNN from scratch, or phase 2 of fine-tuning a pretrained
backbone (``finetune.py``; phase 1, the head, is the same for all presets)."""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.tasks.images.finetune import FineTune


@dataclass(frozen=True)
class Preset:
    model: str
    max_side: int  # images are resized to their own size (at least 32), at most this
    width: int
    epochs: int
    learning_rate: float
    patience: int
    dropout: float


PRESETS = {
    "fast": Preset("small_cnn", 32, 16, 15, 3e-3, 4, 0.1),
    "balanced": Preset("small_cnn", 64, 32, 40, 2e-3, 8, 0.2),
    # a compact ResNet scored no higher than small_cnn on digits and MNIST (0.990 +- 0.011 and
    # 0.993 vs 0.995 and 0.994; bench/RESULTS.md) at 2x the time: best widens small_cnn instead
    "best": Preset("small_cnn", 96, 48, 80, 2e-3, 12, 0.2),
}
# Phase 2 of fine-tuning a pretrained backbone (phase 1, the head, is the same for all)
FINE_TUNE = {
    "fast": FineTune(epochs=3, learning_rate=3e-4, train_from=15, patience=1),
    "balanced": FineTune(epochs=6, learning_rate=3e-4, train_from=11, patience=2),
    "best": FineTune(epochs=10, learning_rate=3e-4, train_from=8, patience=3),
}
SMALL_GREY_SIDE = 64  # grey images smaller than this (digits, symbols) train small_cnn from scratch
MIN_SIDE = 32  # three 2x2 poolings leave a 4x4 map; 8x8 digits are enlarged to this
BATCH_SIZE = 64
