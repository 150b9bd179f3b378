"""Read a ZIP of image class folders into arrays, safely, or say plainly why not.

The ZIP is never extracted: its directory is checked against size limits first, members are
read in memory one at a time with bounded reads (``image_archive``), images are measured before
they are decoded (``image_decode``), and unsafe, oversized or unreadable entries are skipped and
listed. This module finds the class (and split) folders and reads them into arrays.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from dlstudio.data.image_archive import (
    DEFAULT_LIMITS,
    ImageLimits,
    archive_size,
    check_limits,
    file_infos,
    open_archive,
    read_member,
)
from dlstudio.data.image_decode import (
    DECODE_ERRORS,
    PIL_FORMATS,
    decode_problem,
    decode_rgb,
    to_array,
)
from dlstudio.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
LAYOUT_FIX = (
    "put each class's images in a folder named after the class, e.g. cats/1.jpg, dogs/2.jpg"
)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ImageFolder:
    """Images read from class folders, resized to one square size."""

    images: np.ndarray  # (N, size, size, channels) uint8
    labels: list[str]  # class name per image
    classes: list[str]  # sorted
    splits: list[str] | None  # "train"/"val"/"test" per image, or None without split folders
    names: list[str]  # the entry name of each image inside the ZIP
    skipped: list[tuple[str, str]]  # (entry name, reason)
    channels: int


@dataclass(frozen=True)
class _Entry:
    """A ZIP member that may be an image of a class."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # path parts below any wrapping folder


def read_image_zip(
    source: Path | bytes,
    *,
    size: int,
    channels: int | str = "auto",
    limits: ImageLimits = DEFAULT_LIMITS,
) -> ImageFolder:
    """Read a ZIP of `class_name/image.ext` folders into (N, size, size, channels) uint8 arrays.

    Args:
        source: the ZIP file, or its bytes.
        size: side of the square every image is resized to.
        channels: 1 (grayscale), 3 (RGB) or "auto" (1 when every image is grayscale, else 3).
        limits: refuse archives larger than these; shrink larger images while decoding.

    Raises:
        DataError: not a ZIP, too large, wrong layout, too few classes or images per class.
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, not {size!r}.")
    if channels not in ("auto", 1, 3):
        raise ValueError(f"channels must be 1, 3 or 'auto', not {channels!r}.")
    skipped: list[tuple[str, str]] = []
    with open_archive(source) as archive:
        infos = file_infos(archive)
        check_limits(infos, limits, archive_size(source))
        entries, has_splits = _layout(_safe_entries(infos, skipped), skipped)
        decoded = [_read_entry(archive, e, size, limits, skipped) for e in entries]
    kept = [(entry, image) for entry, image in zip(entries, decoded, strict=True) if image]
    labels = [entry.parts[1 if has_splits else 0] for entry, _ in kept]
    _check_classes(labels, skipped)
    chosen = _choose_channels(channels, [gray for _, (_, gray) in kept])
    arrays = [to_array(rgb, chosen) for _, (rgb, _) in kept]
    return ImageFolder(
        images=np.stack(arrays),
        labels=labels,
        classes=sorted(set(labels)),
        splits=[SPLIT_NAMES[e.parts[0].lower()] for e, _ in kept] if has_splits else None,
        names=[entry.info.filename for entry, _ in kept],
        skipped=skipped,
        channels=chosen,
    )


def is_image_source(path: Path) -> bool:
    """A ZIP archive or a folder: images in class folders (tables are single files)."""
    return path.suffix.lower() == ".zip" or path.is_dir()


def iter_image_files(
    source: Path | bytes, *, limits: ImageLimits = DEFAULT_LIMITS
) -> Iterator[tuple[str, bytes | None, str]]:
    """Every file in a ZIP or folder, in any layout, one at a time so that a caller can predict
    in batches without holding the whole archive: (entry name, bytes, "") for an image file,
    (entry name, None, why) for one skipped. Nothing is decoded; the limits of training apply.

    Raises:
        DataError: not a ZIP, or too large (before the first file is yielded).
    """
    with open_archive(source) as archive:
        infos = file_infos(archive)
        check_limits(infos, limits, archive_size(source))
        skipped: list[tuple[str, str]] = []
        entries = _safe_entries(infos, skipped)
        yield from ((name, None, why) for name, why in skipped)
        for entry in entries:
            data = read_member(archive, entry.info, limits, skipped)
            if data is None:
                yield entry.info.filename, None, skipped[-1][1]
            else:
                yield entry.info.filename, data, ""


def image_files(
    source: Path | bytes, *, limits: ImageLimits = DEFAULT_LIMITS
) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Every image file in a ZIP or folder, in any layout, as (entry name, bytes) to predict on,
    and the entries skipped with why. Holds every file at once (up to ``max_total_bytes``):
    ``iter_image_files`` reads them one at a time.

    Raises:
        DataError: not a ZIP, too large, or no image file in it.
    """
    files, skipped = [], []
    for name, data, why in iter_image_files(source, limits=limits):
        if data is None:
            skipped.append((name, why))
        else:
            files.append((name, data))
    if not files:
        raise DataError(
            "No image file was found in the ZIP.",
            fix="Add JPEG, PNG, BMP, WebP or GIF images (in any folders) and zip them again.",
        )
    return files, skipped


def list_images(
    source: Path | bytes, *, limits: ImageLimits = DEFAULT_LIMITS
) -> list[tuple[str, str, str | None]]:
    """(entry name, class, split or None) of every image file in class folders, from the
    archive's directory alone: nothing is decoded.

    Raises:
        DataError: not a ZIP, too large, or the images are not in class folders.
    """
    with open_archive(source) as archive:
        infos = file_infos(archive)
    check_limits(infos, limits, archive_size(source))
    entries, has_splits = _layout(_safe_entries(infos, []), [])
    return [
        (
            e.info.filename,
            e.parts[1 if has_splits else 0],
            SPLIT_NAMES[e.parts[0].lower()] if has_splits else None,
        )
        for e in entries
    ]


def native_side(
    source: Path | bytes, *, sample: int = 200, limits: ImageLimits = DEFAULT_LIMITS
) -> int:
    """The median longest side, in pixels, of the first ``sample`` images (headers only)."""
    sides = [max(size) for size, _ in _headers(source, sample, limits)]
    return int(np.median(sides)) if sides else 0


def native_grey(
    source: Path | bytes, *, sample: int = 200, limits: ImageLimits = DEFAULT_LIMITS
) -> bool:
    """Whether the first ``sample`` images are all stored grey (headers only)."""
    modes = [mode for _, mode in _headers(source, sample, limits)]
    return bool(modes) and all(mode in GREY_MODES for mode in modes)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _headers(
    source: Path | bytes, sample: int, limits: ImageLimits
) -> Iterator[tuple[tuple[int, int], str]]:
    """(size, PIL mode) of the first ``sample`` readable images, from their headers."""
    with open_archive(source) as archive:
        for entry in _safe_entries(file_infos(archive), [])[:sample]:
            data = read_member(archive, entry.info, limits, [])
            try:
                with Image.open(io.BytesIO(data or b""), formats=PIL_FORMATS) as image:
                    yield image.size, image.mode
            except (UnidentifiedImageError, OSError):
                continue  # unreadable images are reported by read_image_zip


def _safe_entries(infos: list[zipfile.ZipInfo], skipped: list[tuple[str, str]]) -> list[_Entry]:
    """Drop macOS junk silently; skip and list unsafe paths and files that are not images."""
    entries = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
            skipped.append((info.filename, "unsafe path (absolute or leaving the folder)"))
        elif "__MACOSX" in parts or parts[-1] == ".DS_Store" or parts[-1].startswith("._"):
            continue
        elif PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((info.filename, "not an image file (JPEG, PNG, BMP, WebP or GIF)"))
        else:
            entries.append(_Entry(info, parts))
    return entries


def _layout(entries: list[_Entry], skipped: list[tuple[str, str]]) -> tuple[list[_Entry], bool]:
    """Strip wrapping folders; find split folders; keep images that sit in a class folder."""
    while _one_wrapping_folder(entries):
        entries = [_Entry(e.info, e.parts[1:]) for e in entries]
    has_splits = bool(entries) and all(
        len(e.parts) > 2 and e.parts[0].lower() in SPLIT_NAMES for e in entries
    )
    depth = 3 if has_splits else 2
    in_class = [e for e in entries if len(e.parts) >= depth]
    if entries and not in_class:
        raise DataError(
            "The images in the ZIP are not in class folders, so their classes are unknown.",
            fix=LAYOUT_FIX[0].upper() + LAYOUT_FIX[1:] + ".",
        )
    for entry in entries:
        if len(entry.parts) < depth:
            skipped.append((entry.info.filename, "not inside a class folder"))
    return in_class, has_splits


def _one_wrapping_folder(entries: list[_Entry]) -> bool:
    if not entries or any(len(e.parts) < 3 for e in entries):
        return False
    tops = {e.parts[0] for e in entries}
    return len(tops) == 1 and next(iter(tops)).lower() not in SPLIT_NAMES


def _read_entry(
    archive: zipfile.ZipFile, entry: _Entry, size: int, limits: ImageLimits, skipped: list
) -> tuple[Image.Image, bool] | None:
    """Decode one member to an RGB image of size x size and whether it was grayscale."""
    data = read_member(archive, entry.info, limits, skipped)
    if data is None:
        return None
    try:
        return decode_rgb(data, size, limits.max_pixels, limits.max_decode_pixels)
    except DECODE_ERRORS as exc:
        skipped.append((entry.info.filename, decode_problem(exc)))
    return None


def _check_classes(labels: list[str], skipped: list[tuple[str, str]]) -> None:
    if not labels:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:3]) or "the ZIP is empty"
        raise DataError(
            f"No readable image was found in the ZIP ({reasons}).",
            fix=f"Add JPEG, PNG, BMP, WebP or GIF images and {LAYOUT_FIX}.",
        )
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(
            f"Only one class was found ({labels[0]!r}); classification needs at least two.",
            fix=f"Add a folder of images for each other class: {LAYOUT_FIX}.",
        )
    single = sorted(name for name, count in counts.items() if count == 1)
    if single:
        raise DataError(
            f"These classes have a single image: {', '.join(map(repr, single))}; each class "
            "needs at least two (one to train on, one to check).",
            fix="Add more images to those class folders, or remove the folders.",
        )


def _choose_channels(channels: int | str, grays: list[bool]) -> int:
    if channels == "auto":
        return 1 if all(grays) else 3
    return int(channels)
