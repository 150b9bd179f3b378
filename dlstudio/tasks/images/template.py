"""Image classification: a CNN trained on a ZIP (or folder) of class folders, checked against a
logistic regression on downscaled pixels on the same split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from dlstudio.data.checks import Finding
from dlstudio.data.image_source import image_table
from dlstudio.data.images import ImageFolder
from dlstudio.errors import DataError
from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.nn.cnn import ImageModelConfig, build_image_model
from dlstudio.nn.persist import save_network
from dlstudio.tasks.base import BaselineResult, Sample, TaskOutcome, TaskTemplate, TrainingData
from dlstudio.tasks.classification import (
    Splits,
    class_weights,
    classification_reports,
    encode_splits,
    full_proba,
    predict_proba,
    validation_scores,
)
from dlstudio.tasks.classification_checks import errors_first
from dlstudio.tasks.images.model import PREDICT_BATCH, ImagePredictor, input_example
from dlstudio.tasks.images.options import ImageClassificationSpec
from dlstudio.tasks.images.report import contact_sheet, mistakes
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit


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
MIN_SIDE = 32  # three 2x2 poolings leave a 4x4 map; 8x8 digits are enlarged to this
BATCH_SIZE = 64
BASELINE_SIDE, BASELINE_ROWS = 16, 20_000


class ImageClassification(TaskTemplate):
    name = "image_classification"
    title = "Image classification"
    description = "Sort photos or scans into classes (defect / ok, product types, documents)."
    data_needs = (
        "A ZIP of images with one folder per class (cats/1.jpg, dogs/2.jpg), optionally "
        "inside train/, val/ and test/ folders."
    )
    reads = "images"

    def sample(self) -> Sample:
        from dlstudio.data.images import list_images
        from dlstudio.tasks.images.sample import shapes_zip

        archive = shapes_zip()
        listing = pd.DataFrame(list_images(archive), columns=["image", "label", "split"])
        return Sample(
            name="sample-shapes",
            description="120 small colour pictures of circles, squares and triangles.",
            frame=listing,
            roles={},
            archive=archive,
        )

    def estimate_seconds(self, rows: int, preset: str, *, gpu: bool) -> float:
        """Start-up, decoding, baseline and logging (~30 s) plus the preset's maximum epochs
        at rough rates for 32x32 images: 90 training images/s were measured for fast on 2
        loaded CPU cores, 7,000-11,000 on an H100 (bench/RESULTS.md); larger photos are slower."""
        rate = {"fast": 200, "balanced": 70, "best": 35}[preset] * (40 if gpu else 1)
        return 30 + PRESETS[preset].epochs * rows / rate

    def check(self, data: TrainingData, spec: ImageClassificationSpec) -> list[Finding]:
        if data.images is None:
            return [Finding("error", "Image classification needs images, not a table.",
                            "Give a ZIP (or a folder) with one folder of images per class, e.g. "
                            "ok/1.jpg, defect/2.jpg.")]  # fmt: skip
        try:
            folder = read_images(data, spec)
            test = read_test_images(data, spec, folder.channels)
        except DataError as exc:
            return [Finding("error", exc.message, exc.fix)]
        found = _skipped(folder.skipped, "") + (_skipped(test.skipped, " test") if test else [])
        found += _check_classes(image_table(folder), test, spec.options.test_fraction)
        return errors_first(found)

    def train(
        self,
        data: TrainingData,
        spec: ImageClassificationSpec,
        *,
        device: DeviceChoice,
        callbacks: Sequence[Callback],
        work_dir: Path,
    ) -> TaskOutcome:
        generator = seed_everything(spec.training.seed)
        options, preset = spec.options, PRESETS[spec.training.preset]
        folder = read_images(data, spec)
        test_folder = read_test_images(data, spec, folder.channels)
        images, splits = split_images(folder, test_folder, spec)
        size = folder.images.shape[1]
        train_x = images[splits.train.index.to_numpy()]
        config = ImageModelConfig(
            kind=preset.model if options.model == "auto" else options.model,
            channels=folder.channels,
            n_classes=len(splits.classes),
            width=options.width or preset.width,
            dropout=preset.dropout if options.dropout is None else options.dropout,
            stem_stride=2 if size >= 64 else 1,
            augment=_augmentation(options.augment, folder.channels),
            **channel_stats(train_x),
        )
        model = build_image_model(config).to(device.device)
        if device.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        val_set = _tensors(images, splits.val, splits.y_val)
        loss_fn = nn.CrossEntropyLoss(
            weight=class_weights(splits, spec).to(device.device),
            label_smoothing=options.label_smoothing,
        )
        n_classes = len(splits.classes)
        state = fit(
            model,
            TensorData((torch.from_numpy(train_x),), torch.from_numpy(splits.y_train)).to(
                device.device
            ),
            loss_fn=loss_fn,
            validate=lambda m: validation_scores(
                m, val_set, loss_fn, n_classes, device, batch_size=PREDICT_BATCH
            ),
            config=FitConfig(
                epochs=spec.training.epochs or preset.epochs,
                batch_size=spec.training.batch_size or BATCH_SIZE,
                learning_rate=spec.training.learning_rate or preset.learning_rate,
            ),
            device=device,
            generator=generator,
            callbacks=[
                EarlyStopping(
                    "val_f1_macro",
                    patience=spec.training.early_stopping_patience or preset.patience,
                ),
                *callbacks,
            ],
        )
        test_set = _tensors(images, splits.test, splits.y_test)
        proba = predict_proba(model, test_set, device, batch_size=PREDICT_BATCH)
        save_network(work_dir, model, {
            "task": ImageClassification.name, "network": config.to_dict(), "size": size,
            "channels": folder.channels, "classes": [str(c) for c in splits.classes],
        })  # fmt: skip
        reports = classification_reports(splits, proba)
        worst = mistakes(splits, proba)
        reports["mistakes.json"] = worst
        test_images = images[splits.test.index.to_numpy()]
        notes = [
            f"Model: {config.kind}, {size}x{size} pixels, "
            f"{'grayscale' if folder.channels == 1 else 'colour'}, augmentation {config.augment}."
        ]
        if folder.skipped:
            notes.append(f"{len(folder.skipped):,} files were skipped (see the data checks).")
        return TaskOutcome(
            metrics=classification_metrics(splits.y_test, proba, n_classes=n_classes),
            baselines=[pixel_baseline(images, splits, seed=spec.training.seed)],
            primary_metric="f1_macro",
            higher_is_better=True,
            model_dir=work_dir,
            input_example=input_example(test_images[:2]),
            history=state.history,
            json_artifacts=reports,
            figures={"mistakes.png": contact_sheet(test_images, worst)},
            stop_reason=state.stop_reason,
            notes=notes,
            holdout=input_example(test_images).assign(label=splits.test["label"].to_numpy()),
            holdout_target="label",
        )

    def load_predictor(self, model_dir: Path) -> ImagePredictor:
        return ImagePredictor.load(model_dir)


def read_images(data: TrainingData, spec: ImageClassificationSpec) -> ImageFolder:
    """The training images at the run's size and channels (decoded once, then cached)."""
    assert data.images is not None
    size = spec.options.image_size or choose_size(
        data.images.native_side(), PRESETS[spec.training.preset].max_side
    )
    return data.images.read(size=size, channels=spec.options.channels)


def read_test_images(
    data: TrainingData, spec: ImageClassificationSpec, channels: int
) -> ImageFolder | None:
    """The separate test images, at the training images' size and channels; None without."""
    if data.test_images is None:
        return None
    folder = read_images(data, spec)
    return data.test_images.read(size=folder.images.shape[1], channels=channels)


def choose_size(native: int, max_side: int) -> int:
    """The images' own side rounded up to a multiple of 8, at least 32, at most ``max_side``."""
    return min(max(MIN_SIDE, -(-native // 8) * 8), max_side)


def split_images(
    folder: ImageFolder, test_folder: ImageFolder | None, spec: ImageClassificationSpec
) -> tuple[np.ndarray, Splits]:
    """All images in one array, and the train/val/test parts as rows of ``image_table`` (their
    index is the row in that array). Split folders in the ZIP and a test ZIP are used as given;
    a missing part is cut from the training images, stratified by class."""
    options, seed = spec.options, spec.training.seed
    table, images = image_table(folder), np.asarray(folder.images)
    if test_folder is not None:
        test = image_table(test_folder)
        test.index += len(table)
        images = np.concatenate([images, np.asarray(test_folder.images)])
        table = table[table["split"] != "test"]
    elif (table["split"] == "test").any():
        test, table = table[table["split"] == "test"], table[table["split"] != "test"]
    else:
        table, test = _cut(table, options.test_fraction, seed)
    if (table["split"] == "val").any():
        train, val = table[table["split"] != "val"], table[table["split"] == "val"]
    else:
        train, val = _cut(table, options.val_fraction, seed)
    return images, encode_splits(train, val, test, "label")


def _cut(table: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return train_test_split(table, test_size=share, stratify=table["label"], random_state=seed)


def channel_stats(images: np.ndarray) -> dict[str, tuple[float, ...]]:
    """Per-channel mean and std of uint8 images as pixels in [0, 1] (in chunks: the array may
    be memory-mapped)."""
    total = np.zeros(images.shape[-1])
    squares = np.zeros(images.shape[-1])
    count = 0
    for start in range(0, len(images), 4096):
        chunk = np.asarray(images[start : start + 4096], dtype=np.float64) / 255
        total += chunk.sum(axis=(0, 1, 2))
        squares += (chunk**2).sum(axis=(0, 1, 2))
        count += chunk[..., 0].size
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-6))
    return {"mean": tuple(mean.round(6).tolist()), "std": tuple(std.round(6).tolist())}


def pixel_baseline(images: np.ndarray, splits: Splits, *, seed: int) -> BaselineResult:
    """Logistic regression on pixels downscaled to at most 16x16, fitted on train + val (at most
    20,000 images), scored on test."""
    rows = np.concatenate([splits.train.index.to_numpy(), splits.val.index.to_numpy()])
    y = np.concatenate([splits.y_train, splits.y_val])
    if len(rows) > BASELINE_ROWS:
        keep = np.random.default_rng(seed).choice(len(rows), BASELINE_ROWS, replace=False)
        rows, y = rows[keep], y[keep]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    model.fit(_small_pixels(images, rows), y)
    test = _small_pixels(images, splits.test.index.to_numpy())
    proba = full_proba(model.predict_proba(test), model.classes_, len(splits.classes))
    metrics = classification_metrics(splits.y_test, proba, n_classes=len(splits.classes))
    return BaselineResult("Logistic regression on pixels", "pixels", metrics)


def _small_pixels(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each image averaged down to at most 16x16, flattened."""
    x = torch.from_numpy(np.asarray(images[rows])).permute(0, 3, 1, 2).float() / 255
    if x.shape[-1] > BASELINE_SIDE:
        x = nn.functional.adaptive_avg_pool2d(x, BASELINE_SIDE)
    return x.flatten(1).numpy()


def _tensors(images: np.ndarray, part: pd.DataFrame, y: np.ndarray) -> TensorData:
    return TensorData((torch.from_numpy(images[part.index.to_numpy()]),), torch.from_numpy(y))


def _augmentation(choice: str, channels: int) -> str:
    if choice != "auto":
        return choice
    return "photo" if channels == 3 else "shift"


def _skipped(skipped: list[tuple[str, str]], which: str) -> list[Finding]:
    if not skipped:
        return []
    listed = "; ".join(f"{name}: {why}" for name, why in skipped[:5])
    more = f" and {len(skipped) - 5:,} more" if len(skipped) > 5 else ""
    return [Finding("warning", f"{len(skipped):,}{which} files were skipped ({listed}{more}).",
                    "Training goes on without them; fix or remove those files to use them.")]  # fmt: skip


def _check_classes(
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


TEMPLATE = ImageClassification  # registered in dlstudio/tasks/registry.py
