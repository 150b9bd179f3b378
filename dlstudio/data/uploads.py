"""Files that arrive as bytes from a browser upload: which kinds are accepted, and reading one."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from dlstudio.data.images import IMAGE_SUFFIXES
from dlstudio.data.readers import LoadedTable, read_table
from dlstudio.data.store import fit_filename
from dlstudio.data.table_checks import check_size
from dlstudio.errors import DataError

# What the upload widgets offer. Every table type is a format read_table reads; a ZIP holds
# images in class folders (a dataset) or in any layout (images to classify); single image
# files are what an image model classifies.
TABLE_TYPES = ("csv", "tsv", "txt", "xlsx", "xlsm", "parquet", "pq")
ARCHIVE_TYPES = ("zip",)
IMAGE_TYPES = tuple(suffix.removeprefix(".") for suffix in IMAGE_SUFFIXES)
DATASET_TYPES = TABLE_TYPES + ARCHIVE_TYPES  # what the Data page stores


def name_from_filename(filename: str) -> str:
    """A valid dataset name made from an uploaded file's name, to pre-fill the name field:
    ``"Sales 2024 (v2).xlsx"`` -> ``"Sales_2024_v2"``; ``"dataset"`` when nothing is left."""
    stem = Path(Path(filename).name).stem
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem).strip("_.-")[:64].rstrip("_.-")
    return name or "dataset"


def read_upload(data: bytes, *, filename: str) -> LoadedTable:
    """Read an uploaded table from its bytes; the file name picks the format.

    Raises:
        DataError: the name is no plain file name, or the reader refuses the file (too large,
            empty, binary, a mismatched extension, ...), with its message.
    """
    name = Path(filename).name
    if name != filename or not name:
        raise DataError(
            f"File name {filename!r} cannot be read.", fix="Upload a file such as 'sales.csv'."
        )
    check_size(name, len(data))  # before writing a copy to disk
    with tempfile.TemporaryDirectory(prefix="dlstudio-upload-") as folder:
        path = Path(folder) / fit_filename(name)  # a name over 255 bytes is no path
        path.write_bytes(data)
        return read_table(path)
