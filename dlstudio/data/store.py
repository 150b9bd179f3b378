"""Uploaded datasets on disk, by name and content-hash version: ``root/<name>/<version>/<file>``.

Beside the file, ``meta.json`` describes the upload and ``shape.json`` holds its rows and
columns (counted when it was read at save time, so listings never re-read the data).

A version is the first 12 hex digits of the file's sha256, so the same content saved twice is
one version. Writes go to a hidden staging folder first and appear with one ``os.replace``:
a crash leaves at most a stray ``.incoming-*`` folder, never half a version.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dlstudio.data.images import list_images
from dlstudio.data.readers import read_table
from dlstudio.data.table_checks import check_size
from dlstudio.errors import DataError
from dlstudio.settings import get_settings

META_FILE = "meta.json"
SHAPE_FILE = "shape.json"  # rows and columns, counted when the file was read at save time
VERSION_LENGTH = 12
STAGING_PREFIX = ".incoming-"
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_CHUNK = 1024 * 1024
# Stored file names are cut to this many UTF-8 bytes, extension kept: a browser sends whatever
# the user's file is called, and most file systems refuse names over 255 bytes (eCryptfs home
# folders over 143), which crashed the save with "File name too long".
MAX_FILENAME_BYTES = 120
_MAX_SUFFIX_BYTES = 16  # longer than any extension a reader takes (".parquet" is 8)


@dataclass(frozen=True)
class DatasetVersion:
    """One stored version of a dataset; ``path`` is its data file."""

    name: str
    version: str
    filename: str
    path: Path
    size_bytes: int
    created_at: datetime
    n_rows: int | None = None  # None for versions stored before shapes were recorded
    n_columns: int | None = None
    uploaded_by: str | None = None  # None for versions stored before owners were recorded

    @property
    def ref(self) -> str:
        """The reference that resolves to exactly this version: ``name@version``."""
        return f"{self.name}@{self.version}"


class DatasetStore:
    """Datasets saved by name, each with its versions, under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> DatasetStore:
        """The store in the dlstudio home folder (DLSTUDIO_HOME)."""
        return cls(get_settings().datasets_dir)

    def save(
        self,
        name: str,
        source: Path | bytes,
        *,
        filename: str,
        now: datetime | None = None,
        by: str | None = None,
    ) -> DatasetVersion:
        """Store ``source`` as a version of dataset ``name``; identical content is stored once.

        The file is read first, so a file that cannot be used is refused with the reader's
        message and nothing is stored.

        Raises:
            DataError: a bad name or filename, a file too large, or a file that cannot be read.
        """
        validate_name(name)
        _validate_filename(filename)
        filename = fit_filename(filename)
        if not isinstance(source, bytes):
            source = Path(source)
        if isinstance(source, Path) and not source.is_file():
            raise DataError(f"File not found: {str(source)!r}.", fix="Check the path.")
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        check_size(filename, size)
        digest = _sha256(source)
        version = digest[:VERSION_LENGTH]
        if (self.root / name / version / META_FILE).is_file():
            return self._load(name, version)
        meta = {
            "name": name,
            "version": version,
            "filename": filename,
            "size_bytes": size,
            "created_at": (now or datetime.now(UTC)).isoformat(),
            "sha256": digest,
            **({"uploaded_by": by} if by else {}),
        }
        self._commit(name, version, source, meta)
        return self._load(name, version)

    def list_names(self) -> list[str]:
        """Names of the stored datasets, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if _NAME.fullmatch(entry.name)
            and not entry.name.startswith(".")
            and any(entry.glob(f"*/{META_FILE}"))
        )

    def versions(self, name: str) -> list[DatasetVersion]:
        """The versions of dataset ``name``, newest first."""
        self._require(name)
        found = [
            self._load(name, entry.name)
            for entry in (self.root / name).iterdir()
            if (entry / META_FILE).is_file()
        ]
        return sorted(found, key=lambda v: (v.created_at, v.version), reverse=True)

    def resolve(self, ref: str) -> DatasetVersion:
        """The version that ``"name"`` (the latest) or ``"name@version"`` refers to."""
        name, _at, version = ref.partition("@")
        versions = self.versions(name)
        if not version:
            return versions[0]
        for stored in versions:
            if stored.version == version:
                return stored
        listed = ", ".join(v.version for v in versions)
        raise DataError(
            f"Dataset {name!r} has no version {version!r}.",
            fix=f"Use one of its versions ({listed}), or just {name!r} for the latest.",
        )

    def owner(self, name: str) -> str:
        """Who uploaded the first version of ``name`` ("unknown" before owners were recorded):
        analysts rename and delete only their own datasets."""
        versions = self.versions(name)
        return (versions[-1].uploaded_by if versions else None) or "unknown"

    def rename(self, old: str, new: str) -> None:
        """Give dataset ``old`` the name ``new``, with all its versions."""
        self._require(old)
        validate_name(new)
        if (self.root / new).exists():
            raise DataError(
                f"A dataset named {new!r} already exists.",
                fix="Choose another name, or delete that dataset first.",
            )
        os.replace(self.root / old, self.root / new)
        for version_dir in (self.root / new).iterdir():
            meta_path = version_dir / META_FILE
            if meta_path.is_file():
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                _write_json(meta_path, {**meta, "name": new})

    def delete(self, name: str) -> None:
        """Remove dataset ``name`` and all its versions."""
        self._require(name)
        # Move it out of sight first, so a crash mid-delete never shows half a dataset.
        doomed = Path(tempfile.mkdtemp(prefix=".deleting-", dir=self.root))
        os.replace(self.root / name, doomed / name)
        shutil.rmtree(doomed)

    def _commit(
        self, name: str, version: str, source: Path | bytes, meta: dict[str, object]
    ) -> None:
        """Stage the file and its meta, check it reads, then move it in with one rename."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        try:
            staged = staging / version
            staged.mkdir()
            _copy(source, staged / str(meta["filename"]))
            _write_json(staged / SHAPE_FILE, _shape(staged / str(meta["filename"])))
            _write_json(staged / META_FILE, meta)
            dataset_dir = self.root / name
            if dataset_dir.exists():
                os.replace(staged, dataset_dir / version)
            else:
                os.replace(staging, dataset_dir)  # a new name appears with its first version
        finally:
            if staging.exists():
                shutil.rmtree(staging)

    def _load(self, name: str, version: str) -> DatasetVersion:
        folder = self.root / name / version
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        shape_path = folder / SHAPE_FILE
        shape = json.loads(shape_path.read_text(encoding="utf-8")) if shape_path.is_file() else {}
        return DatasetVersion(
            name=name,  # the folder is the truth; meta["name"] may predate a rename
            version=version,
            filename=meta["filename"],
            path=folder / meta["filename"],
            size_bytes=int(meta["size_bytes"]),
            created_at=datetime.fromisoformat(meta["created_at"]),
            n_rows=shape.get("rows"),
            n_columns=shape.get("columns"),
            uploaded_by=meta.get("uploaded_by"),
        )

    def _require(self, name: str) -> None:
        """Refuse a name that is not stored, suggesting the closest stored one."""
        validate_name(name)
        names = self.list_names()
        if name in names:
            return
        if not names:
            raise DataError(
                f"No dataset named {name!r}: no datasets are stored yet.", fix="Upload one first."
            )
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise DataError(
            f"No dataset named {name!r}.",
            fix=f"{hint}Stored datasets: {', '.join(repr(n) for n in names)}.",
        )


def validate_name(name: str) -> None:
    """Refuse a dataset name that is not 1-64 letters, digits, '_', '.' or '-'."""
    if not _NAME.fullmatch(name) or name.startswith("."):
        raise DataError(
            f"Dataset name {name!r} is not allowed.",
            fix="Use 1-64 letters, digits, '_', '.' or '-', not starting with '.' "
            "(for example 'sales_2024').",
        )


def fit_filename(filename: str) -> str:
    """``filename`` cut to at most MAX_FILENAME_BYTES UTF-8 bytes, its extension kept (the
    extension picks the reader); a short name is returned as it is."""
    if len(filename.encode()) <= MAX_FILENAME_BYTES:
        return filename
    suffix = Path(filename).suffix
    if len(suffix.encode()) > _MAX_SUFFIX_BYTES:  # no reader's: the reader says so
        suffix = ""
    stem = filename.removesuffix(suffix).encode()[: MAX_FILENAME_BYTES - len(suffix.encode())]
    return stem.decode("utf-8", errors="ignore") + suffix  # "ignore": a character cut in two


def _validate_filename(filename: str) -> None:
    if (
        Path(filename).name != filename
        or filename in ("", ".", "..", META_FILE)
        or not _storable(filename)
    ):
        raise DataError(
            f"File name {filename!r} cannot be stored.",
            fix=f"Use a plain file name such as 'sales.csv' (no folders, not {META_FILE!r}).",
        )


def _storable(filename: str) -> bool:
    """False for a NUL byte or a lone surrogate, which no file system takes (open() raises)."""
    return "\x00" not in filename and filename.encode(errors="replace").decode() == filename


def _sha256(source: Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path | bytes, target: Path) -> None:
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)


def _write_json(path: Path, data: dict[str, object]) -> None:
    """Write JSON atomically: a temp file beside it, then one rename."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temp, path)


def _shape(path: Path) -> dict[str, int]:
    """Rows and columns of a table; for a ZIP of image folders, images and classes."""
    if path.suffix.lower() == ".zip":
        listing = list_images(path)
        classes = sorted({str(label) for _, label, _ in listing})
        if not listing:
            raise DataError(
                "The ZIP holds no images, so no model can learn from it; it was not stored.",
                fix="Put the images in one folder per class (cats/1.jpg, dogs/2.jpg; JPEG, PNG, "
                "BMP, WebP or GIF) and ZIP those folders.",
            )
        return {"rows": len(listing), "columns": len(classes)}
    frame = read_table(path).frame
    if frame.empty or frame.shape[1] < 2:
        raise DataError(
            f"The table has {len(frame):,} rows and {frame.shape[1]} column(s): a model needs rows, "
            "a column to predict and at least one to learn from (a series: its dates and "
            "values). It was not stored.",
            fix="Check that the file is the table you meant, with its header row; for a CSV, that "
            "its separator is a comma, semicolon, tab or bar.",
        )
    return {"rows": len(frame), "columns": frame.shape[1]}
