"""What the image template checks before training: skipped files, classes with too few
images, and what the pretrained backbone makes of grey or tiny images."""

from __future__ import annotations

import math

import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.images import ImageFolder
from dlstudio.nn.cnn import PRETRAINED
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.images.data import choose_backbone
from dlstudio.tasks.images.options import ImageClassificationSpec
from dlstudio.tasks.images.presets import MIN_SIDE


def backbone_findings(data: TrainingData, spec: ImageClassificationSpec) -> list[Finding]:
    """What the user should know about the images and the pretrained backbone."""
    if data.images is None or choose_backbone(data, spec) not in PRETRAINED:
        return []
    found = []
    if data.images.native_grey():
        found.append(Finding("info", "The images are grey; the pretrained backbone reads colour, "
                             "so each image is given to it as 3 equal channels.",
                             "Nothing to do. For small grey images such as digits, the "
                             "small_cnn backbone is faster."))  # fmt: skip
    side = data.images.native_side()
    if side < MIN_SIDE:
        found.append(Finding("warning", f"The images are only about {side} pixels wide; the "
                             "pretrained backbone was trained on 224-pixel photos and sees "
                             "little in images this small.",
                             "Choose the small_cnn backbone (or leave it on auto), or use larger "
                             "images."))  # fmt: skip
    return found


def skipped_findings(skipped: list[tuple[str, str]], which: str) -> list[Finding]:
    if not skipped:
        return []
    listed = "; ".join(f"{name}: {why}" for name, why in skipped[:5])
    more = f" and {len(skipped) - 5:,} more" if len(skipped) > 5 else ""
    return [Finding("warning", f"{len(skipped):,}{which} files were skipped ({listed}{more}).",
                    "Training goes on without them; fix or remove those files to use them.")]  # fmt: skip


def check_classes(
    table: pd.DataFrame, test: ImageFolder | None, test_fraction: float
) -> list[Finding]:
    """Each class needs images to train on and (unless a test set is given) 2 to test on."""
    has_test = test is not None or (table["split"] == "test").any()
    counts = table[table["split"] != "test"]["label"].value_counts()
    needed = 3 if has_test else max(3, math.ceil(round(2 / test_fraction, 6)))
    rare = counts[counts < needed]
    found = []
    if not rare.empty:
        listed = ", ".join(f"{label!r} ({count} images)" for label, count in rare.items())
        found.append(Finding("error", f"Some classes have too few images: {listed}; each class "
                             f"needs at least {needed} to train, check and test on.",
                             "Add images to those class folders, or remove the folders."))  # fmt: skip
    test_labels = set(test.labels) if test else set(table[table["split"] == "test"]["label"])
    unknown = sorted(test_labels - set(counts.index))
    if unknown:
        found.append(Finding("error", f"The test images hold classes with no training images: "
                             f"{', '.join(map(repr, unknown))}.",
                             "Use the same class folder names for training and test images."))  # fmt: skip
    return found
