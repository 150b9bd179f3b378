"""The images a run trains on: which backbone reads them, at what size and channels, and how
they split into train, validation and test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from dlstudio.data.image_source import image_table
from dlstudio.data.images import ImageFolder
from dlstudio.nn import efficientnet
from dlstudio.nn.cnn import PRETRAINED
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.classification import Splits, encode_splits
from dlstudio.tasks.images.options import ImageClassificationSpec
from dlstudio.tasks.images.presets import MIN_SIDE, PRESETS, SMALL_GREY_SIDE
from dlstudio.training.loop import TensorData


def read_images(data: TrainingData, spec: ImageClassificationSpec) -> ImageFolder:
    """The training images at the run's size and channels (decoded once, then cached): a
    pretrained backbone reads colour at the side it was trained at."""
    assert data.images is not None
    if choose_backbone(data, spec) in PRETRAINED:
        return data.images.read(size=spec.options.image_size or efficientnet.SIDE, channels=3)
    size = spec.options.image_size or choose_size(
        data.images.native_side(), PRESETS[spec.training.preset].max_side
    )
    return data.images.read(size=size, channels=spec.options.channels)


def choose_backbone(data: TrainingData, spec: ImageClassificationSpec) -> str:
    """The backbone option (or the older ``model``) when it names one; else small_cnn for ``fast`` and for small grey images
    (digits, symbols: a pretrained photo network gains nothing there), the pretrained
    EfficientNet-Lite0 for everything else."""
    options = spec.options
    chosen = options.backbone if options.backbone != "auto" else options.model
    if chosen != "auto":
        return chosen
    assert data.images is not None
    side = data.images.native_side()
    small = side < MIN_SIDE or (data.images.native_grey() and side < SMALL_GREY_SIDE)
    return "small_cnn" if spec.training.preset == "fast" or small else "efficientnet_lite0"


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


def image_tensors(images: np.ndarray, part: pd.DataFrame, y: np.ndarray) -> TensorData:
    return TensorData((torch.from_numpy(images[part.index.to_numpy()]),), torch.from_numpy(y))


def augmentation(choice: str, channels: int) -> str:
    if choice != "auto":
        return choice
    return "photo" if channels == 3 else "shift"
