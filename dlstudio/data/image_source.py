"""A ZIP (or folder) of image class folders as a run's data: decoded once per dataset version,
size and channel choice, and kept as a uint8 array file so later runs (and the check before a
queued run) do not decode again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dlstudio.data.images import ImageFolder, native_grey, native_side, read_image_zip

MEMORY_MAP_BYTES = 512 * 1024**2  # larger decoded sets are memory-mapped, not read into RAM


@dataclass(frozen=True)
class ImageSource:
    """Where the images are, the version that names them, and where decoded copies are kept."""

    path: Path
    version: str
    cache_dir: Path | None = None

    def read(self, *, size: int, channels: int | str = "auto") -> ImageFolder:
        """The images at ``size`` x ``size``; decoded on the first call, then from the cache."""
        if self.cache_dir is None:
            return read_image_zip(self.path, size=size, channels=channels)
        folder = self.cache_dir / f"{self.version}-{size}-{channels}"
        if (folder / "meta.json").is_file():
            return _load(folder)
        images = read_image_zip(self.path, size=size, channels=channels)
        _store(images, folder)
        return images

    def native_side(self) -> int:
        """The typical longest side of the images as stored (median of a sample)."""
        return native_side(self.path)

    def native_grey(self) -> bool:
        """Whether the images are stored grey (a sample's headers)."""
        return native_grey(self.path)


def image_table(folder: ImageFolder) -> pd.DataFrame:
    """One row per image: its name in the archive, its class, and its split folder (or None)."""
    splits = folder.splits or [None] * len(folder.names)
    return pd.DataFrame({"image": folder.names, "label": folder.labels, "split": splits})


def folder_version(path: Path) -> str:
    """A version for a folder on the server: names, sizes and modification times of its files
    (reading every image to hash it would cost as much as decoding)."""
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(path, followlinks=False)):
        for name in sorted(files):
            stat = (Path(root) / name).stat()
            relative = (Path(root) / name).relative_to(path).as_posix()
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _store(images: ImageFolder, folder: Path) -> None:
    """Write the arrays and names under a temporary name, then rename: a crash or a second
    process never leaves a half-written cache behind."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
    try:
        np.save(staging / "images.npy", images.images)
        meta = {
            "labels": images.labels, "classes": images.classes, "splits": images.splits,
            "names": images.names, "skipped": images.skipped, "channels": images.channels,
        }  # fmt: skip
        (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        with contextlib.suppress(OSError):  # another process stored the same version first
            os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(folder: Path) -> ImageFolder:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    path = folder / "images.npy"
    large = path.stat().st_size > MEMORY_MAP_BYTES
    return ImageFolder(
        images=np.load(path, mmap_mode="r" if large else None),
        labels=meta["labels"],
        classes=meta["classes"],
        splits=meta["splits"],
        names=meta["names"],
        skipped=[tuple(item) for item in meta["skipped"]],
        channels=meta["channels"],
    )
