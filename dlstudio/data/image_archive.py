"""Open a ZIP or a folder of images and read its files within limits: the archive is never
extracted, its directory is checked against size limits first, and every file is read in memory
with a bounded read."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from dlstudio.data.image_decode import MAX_DECODE_PIXELS, MAX_PIXELS
from dlstudio.errors import DataError

# Below this many bytes a file is not checked for its compression ratio: it cannot hurt, whatever
# it unpacks to (a tiny flat BMP easily compresses 50:1).
SMALL_BYTES = 1024**2


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


DEFAULT_LIMITS = ImageLimits()


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


def open_archive(source: Path | bytes) -> zipfile.ZipFile | FolderArchive:
    """A ZIP (a path or its bytes) or a folder, opened for reading.

    Raises:
        DataError: the file is missing or not a readable ZIP.
    """
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


def file_infos(archive: zipfile.ZipFile | FolderArchive) -> list[zipfile.ZipInfo]:
    """The files of an archive (no folders), by name."""
    return sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)


def archive_size(source: Path | bytes) -> int | None:
    """Bytes of a ZIP, to compare with what it unpacks to; None for a folder (nothing packed)."""
    if isinstance(source, bytes):
        return len(source)
    return None if Path(source).is_dir() else Path(source).stat().st_size


def check_limits(
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


def read_member(
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


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / (1024 * 1024):,.1f}"
