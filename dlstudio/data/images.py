"""Read a ZIP of image class folders into arrays, safely, or say plainly why not.

The ZIP is never extracted: its directory is checked against size limits first, members are
read in memory one at a time with bounded reads, images are measured before they are decoded,
and unsafe, oversized or unreadable entries are skipped and listed.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dlstudio.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")
PIL_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")  # the only decoders PIL may pick
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
LAYOUT_FIX = (
    "put each class's images in a folder named after the class, e.g. cats/1.jpg, dogs/2.jpg"
)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Below this many bytes a file is not checked for its compression ratio: it cannot hurt, whatever
# it unpacks to (a tiny flat BMP easily compresses 50:1).
SMALL_BYTES = 1024**2
MAX_PIXELS = 40_000_000  # larger images are downscaled while decoding
# PNG, BMP, WebP and GIF decode at full size before they can be shrunk, and PIL keeps 4 bytes a
# pixel: 50 megapixels (the largest camera photos) is 200 MB. A 13000 x 13000 PNG of 493 kB
# took 1.3 GiB. PIL's own check (Image.MAX_IMAGE_PIXELS) only refuses from 179 megapixels.
MAX_DECODE_PIXELS = 50_000_000
# what PIL raises for files that are not (whole, safe) images
DECODE_ERRORS = (
    Image.DecompressionBombError,
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
)


@dataclass(frozen=True)
class ImageLimits:
    """How much a ZIP of images may hold before it is refused (or an image is shrunk)."""

    max_total_bytes: int = 2 * 1024**3  # sum of uncompressed sizes, from the ZIP's directory
    max_files: int = 200_000
    # per file, and every read stops there: a 40-megapixel BMP (uncompressed) is 120 MB
    max_member_bytes: int = 128 * 1024**2
    # uncompressed / compressed size, per file and for the whole ZIP: images barely compress
    # (they are compressed already), a ZIP bomb unpacks about 1000:1
    max_ratio: int = 100
    max_pixels: int = MAX_PIXELS  # per image; larger images are downscaled while decoding
    max_decode_pixels: int = MAX_DECODE_PIXELS  # per image as decoded; larger ones are skipped


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
    limits: ImageLimits = ImageLimits(),
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
    with _open_zip(source) as archive:
        infos = _file_infos(archive)
        _check_limits(infos, limits, _archive_size(source))
        entries, has_splits = _layout(_safe_entries(infos, skipped), skipped)
        decoded = [_read_entry(archive, e, size, limits, skipped) for e in entries]
    kept = [(entry, image) for entry, image in zip(entries, decoded, strict=True) if image]
    labels = [entry.parts[1 if has_splits else 0] for entry, _ in kept]
    _check_classes(labels, skipped)
    chosen = _choose_channels(channels, [gray for _, (_, gray) in kept])
    arrays = [_to_array(rgb, chosen) for _, (rgb, _) in kept]
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
    source: Path | bytes, *, limits: ImageLimits = ImageLimits()
) -> Iterator[tuple[str, bytes | None, str]]:
    """Every file in a ZIP or folder, in any layout, one at a time so that a caller can predict
    in batches without holding the whole archive: (entry name, bytes, "") for an image file,
    (entry name, None, why) for one skipped. Nothing is decoded; the limits of training apply.

    Raises:
        DataError: not a ZIP, or too large (before the first file is yielded).
    """
    with _open_zip(source) as archive:
        infos = _file_infos(archive)
        _check_limits(infos, limits, _archive_size(source))
        skipped: list[tuple[str, str]] = []
        entries = _safe_entries(infos, skipped)
        yield from ((name, None, why) for name, why in skipped)
        for entry in entries:
            data = _read_member(archive, entry.info, limits, skipped)
            if data is None:
                yield entry.info.filename, None, skipped[-1][1]
            else:
                yield entry.info.filename, data, ""


def image_files(
    source: Path | bytes, *, limits: ImageLimits = ImageLimits()
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
    source: Path | bytes, *, limits: ImageLimits = ImageLimits()
) -> list[tuple[str, str, str | None]]:
    """(entry name, class, split or None) of every image file in class folders, from the
    archive's directory alone: nothing is decoded.

    Raises:
        DataError: not a ZIP, too large, or the images are not in class folders.
    """
    with _open_zip(source) as archive:
        infos = _file_infos(archive)
    _check_limits(infos, limits, _archive_size(source))
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
    source: Path | bytes, *, sample: int = 200, limits: ImageLimits = ImageLimits()
) -> int:
    """The median longest side, in pixels, of the first ``sample`` images (headers only)."""
    sides = []
    with _open_zip(source) as archive:
        entries = _safe_entries(_file_infos(archive), [])
        for entry in entries[:sample]:
            data = _read_member(archive, entry.info, limits, [])
            try:
                with Image.open(io.BytesIO(data or b""), formats=PIL_FORMATS) as image:
                    sides.append(max(image.size))
            except (UnidentifiedImageError, OSError):
                continue  # unreadable images are reported by read_image_zip
    return int(np.median(sides)) if sides else 0


class FolderArchive:
    """A folder of class folders read through the ``zipfile.ZipFile`` calls used here, so a
    folder on the server and an uploaded ZIP go through the same checks. Symbolic links are
    not followed: nothing outside the folder is read."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def infolist(self) -> list[zipfile.ZipInfo]:
        infos = []
        for folder, _, files in os.walk(self.root, followlinks=False):
            for name in files:
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                info = zipfile.ZipInfo(path.relative_to(self.root).as_posix())
                info.file_size = path.stat().st_size
                infos.append(info)
        return sorted(infos, key=lambda i: i.filename)

    def open(self, info: zipfile.ZipInfo) -> io.BufferedReader:
        return (self.root / info.filename).open("rb")

    def __enter__(self) -> FolderArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _open_zip(source: Path | bytes) -> zipfile.ZipFile | FolderArchive:
    where = "The uploaded data" if isinstance(source, bytes) else Path(source).name
    if not isinstance(source, bytes) and Path(source).is_dir():
        return FolderArchive(Path(source))
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise DataError(
            f"File not found: {str(source)!r}.", fix="Check the path and the file name."
        )
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DataError(
            f"{where} is not a readable ZIP archive ({exc}).",
            fix="Zip the folder of class folders again (e.g. 'Compress' in your file manager) "
            "and upload the .zip file.",
        ) from exc


def _file_infos(archive: zipfile.ZipFile | FolderArchive) -> list[zipfile.ZipInfo]:
    return sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)


def _archive_size(source: Path | bytes) -> int | None:
    """Bytes of a ZIP, to compare with what it unpacks to; None for a folder (nothing packed)."""
    if isinstance(source, bytes):
        return len(source)
    return None if Path(source).is_dir() else Path(source).stat().st_size


def _check_limits(
    infos: list[zipfile.ZipInfo], limits: ImageLimits, archive_size: int | None
) -> None:
    """Refuse a ZIP from its directory alone, before a single member is decompressed."""
    if len(infos) > limits.max_files:
        raise DataError(
            f"The ZIP holds {len(infos):,} files, more than the limit of {limits.max_files:,}.",
            fix="Split the archive into smaller ZIPs, or raise the max_files limit.",
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        raise DataError(
            f"The ZIP unpacks to {_megabytes(total)} MB, more than the limit of "
            f"{_megabytes(limits.max_total_bytes)} MB.",
            fix="Split the archive into smaller ZIPs (or use smaller images), or raise the "
            "max_total_bytes limit.",
        )
    if archive_size is not None and total > max(limits.max_ratio * archive_size, SMALL_BYTES):
        raise DataError(
            f"The ZIP unpacks to {_megabytes(total)} MB, {total / max(archive_size, 1):,.0f} "
            f"times its size of {_megabytes(archive_size)} MB (the limit is "
            f"{limits.max_ratio}): images barely compress, so this looks like a ZIP bomb.",
            fix="Zip the image files themselves (JPEG, PNG, WebP) in class folders and upload "
            "that ZIP.",
        )


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
    data = _read_member(archive, entry.info, limits, skipped)
    if data is None:
        return None
    try:
        return _decode(data, size, limits.max_pixels, limits.max_decode_pixels)
    except DECODE_ERRORS as exc:
        skipped.append((entry.info.filename, _decode_problem(exc)))
    return None


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ImageLimits, skipped: list
) -> bytes | None:
    """A member's bytes, read no further than its declared size (+1 to catch a lie); None, with
    why in ``skipped``, when that size or its compression ratio is over the limits."""
    if problem := _member_problem(info, limits):
        skipped.append((info.filename, problem))
        return None
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)  # bounded: a lying header cannot blow memory
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError) as exc:
        skipped.append((info.filename, f"could not be read from the ZIP ({exc})"))
        return None
    if len(data) > info.file_size:
        skipped.append((info.filename, "holds more data than the ZIP declares (possible ZIP bomb)"))
        return None
    return data


def _member_problem(info: zipfile.ZipInfo, limits: ImageLimits) -> str | None:
    """Why a member is too large to read, from the ZIP's directory (the read stops there too)."""
    if info.file_size > limits.max_member_bytes:
        return (
            f"unpacks to {_megabytes(info.file_size)} MB, more than the limit of "
            f"{_megabytes(limits.max_member_bytes)} MB per file"
        )
    packed = info.compress_size
    stored = info.compress_type == zipfile.ZIP_STORED  # (a folder's files are "stored")
    if not stored and info.file_size > max(limits.max_ratio * packed, SMALL_BYTES):
        return (
            f"compressed {info.file_size / max(packed, 1):,.0f} to 1, more than the limit of "
            f"{limits.max_ratio} (images barely compress: possible ZIP bomb)"
        )
    return None


def _decode(
    data: bytes, size: int, max_pixels: int, max_decode_pixels: int
) -> tuple[Image.Image, bool]:
    with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as image:  # reads the header only
        factor = math.ceil(math.sqrt(image.width * image.height / max_pixels))
        if factor > 1:  # JPEG decodes straight at a smaller scale (1/2, 1/4, 1/8); others don't
            scale = 2 ** math.ceil(math.log2(factor))
            image.draft(image.mode, (image.width // scale, image.height // scale))
        _check_decode_pixels(image, max_decode_pixels)
        image = ImageOps.exif_transpose(image)  # also loads the (first) frame
    factor = math.ceil(math.sqrt(image.width * image.height / max_pixels))
    if factor > 1:
        image = image.reduce(factor)
    gray = _is_gray(image)
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    return rgb, gray


def _check_decode_pixels(image: Image.Image, max_decode_pixels: int) -> None:
    """Refuse an image that would decode to more pixels than the limit, before it is decoded."""
    if image.width * image.height > max_decode_pixels:
        raise Image.DecompressionBombError(
            f"{image.width} x {image.height} pixels, more than the limit of "
            f"{max_decode_pixels:,}"
        )


def _is_gray(image: Image.Image) -> bool:
    if image.mode in GRAY_MODES:
        return True
    if image.mode in ("P", "PA"):
        rgb = np.asarray(image.convert("RGB"))
        return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return False


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


def _to_array(rgb: Image.Image, channels: int) -> np.ndarray:
    if channels == 1:
        return np.asarray(rgb.convert("L"))[..., np.newaxis]
    return np.asarray(rgb)


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / (1024 * 1024):,.1f}"


def decode_image(
    data: bytes,
    *,
    size: int,
    channels: int,
    max_pixels: int = MAX_PIXELS,
    max_decode_pixels: int = MAX_DECODE_PIXELS,
) -> np.ndarray:
    """One image file's bytes as a (size, size, channels) uint8 array, decoded as in training.

    Raises:
        ValueError: the bytes are no readable JPEG, PNG, BMP, WebP or GIF image (the message
            says why).
    """
    try:
        rgb, _ = _decode(data, size, max_pixels, max_decode_pixels)
    except DECODE_ERRORS as exc:
        raise ValueError(_decode_problem(exc)) from None
    return _to_array(rgb, channels)


def _decode_problem(exc: Exception) -> str:
    """Why an image could not be decoded, in words (PIL's own text names a BytesIO object)."""
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large to decode safely ({exc})"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image: corrupt, or not a JPEG, PNG, BMP, WebP or GIF file"
    return f"corrupt or truncated image ({exc})"
