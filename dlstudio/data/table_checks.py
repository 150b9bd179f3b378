"""What every table reader shares: the size limits and their checks (file, shape, unpacked
bytes, header line), what a format reader hands back, and the messages for empty or duplicated
columns. Each limit is read here only, so a test (or a deployment) changes it in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dlstudio.errors import DataError
from dlstudio.settings import get_settings

MB = 1024 * 1024
# A table is refused before it is read fully when it is larger than these: a 1.7 MB CSV of
# 100,000 columns took 41 s and 1.5 GiB, a 1.65 MB Parquet file unpacked to 200M rows (3.9 GiB).
MAX_COLUMNS = 10_000  # pandas reads 10,000 columns in about a second; the time grows faster
MAX_CELLS = 50_000_000  # rows x columns: 400 MB as float64 numbers, and more as text
MAX_HEADER_BYTES = 4 * MB  # a header line of MAX_COLUMNS names of up to ~400 characters
# Bytes a Parquet file or an Excel workbook unpacks to, from their own directories: an xlsx
# holds about 40 bytes of XML a cell, and openpyxl keeps every shared string in memory.
MAX_UNPACKED_BYTES = 2 * 1024**3
# What a file really is, told by its first bytes: (magic, description, suffix to rename to).
MAGIC = (
    (b"PK\x03\x04", "a zip archive, most likely an Excel workbook", ".xlsx"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", None),
)


@dataclass(frozen=True)
class TableRead:
    """What one format reader produced: the frame, the header as written, and notes."""

    frame: pd.DataFrame
    header: list[str | None]
    notes: tuple[str, ...]
    where: str  # "sales.csv" or "sales.xlsx (sheet 'Q1')", for messages


def check_size(name: str, size_bytes: int, max_bytes: int | None = None) -> None:
    """Refuse a file larger than the upload limit, saying how to raise the limit."""
    limit = get_settings().max_upload_mb * MB if max_bytes is None else max_bytes
    if size_bytes > limit:
        raise DataError(
            f"{name} is {megabytes(size_bytes)} MB, larger than the limit of "
            f"{megabytes(limit)} MB.",
            fix="Upload a smaller file (fewer rows or columns), or raise the limit with the "
            "environment variable DLSTUDIO_MAX_UPLOAD_MB.",
        )


def megabytes(n_bytes: int) -> str:
    """A size in MB as short text: 2, 0.5, 0.0012."""
    size = n_bytes / MB
    return f"{size:.2f}".rstrip("0").rstrip(".") if size >= 0.01 else f"{size:.2g}"


def check_duplicates(header: list[str | None], where: str) -> None:
    """Refuse a header that names a column twice, saying where."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        if name is not None and name.strip():
            positions.setdefault(name.strip(), []).append(position)
    for name, found in positions.items():
        if len(found) > 1:
            listed = " and ".join(str(p) for p in found)
            raise DataError(
                f"Column name {name!r} appears {len(found)} times in {where} (columns {listed}).",
                fix="Rename one of them in the first row so every column has its own name.",
            )


def check_shape(rows: int, columns: int, where: str, *, rows_are: str = "") -> None:
    """Refuse a table wider than MAX_COLUMNS, or of more than MAX_CELLS values.

    ``rows_are`` says how exact ``rows`` is ("up to ", "at least "), for the message.
    """
    if columns > MAX_COLUMNS:
        raise DataError(
            f"{where} has {columns:,} columns, more than the limit of {MAX_COLUMNS:,}.",
            fix="Keep only the columns the model needs and upload the file again.",
        )
    if rows * columns > MAX_CELLS:
        raise DataError(
            f"{where} has {rows_are}{rows:,} rows x {columns:,} columns, more than the limit "
            f"of {MAX_CELLS:,} values.",
            fix="Upload a sample of the rows (or fewer columns), or split the table.",
        )


def check_unpacked(name: str, unpacked_bytes: int) -> None:
    """Refuse a file that unpacks (Parquet, xlsx) to more than MAX_UNPACKED_BYTES."""
    if unpacked_bytes > MAX_UNPACKED_BYTES:
        raise DataError(
            f"{name} unpacks to {megabytes(unpacked_bytes)} MB of data, more than the limit "
            f"of {megabytes(MAX_UNPACKED_BYTES)} MB.",
            fix="Upload a sample of the rows (or fewer columns), or split the table.",
        )


def check_has_rows(frame: pd.DataFrame, where: str) -> None:
    """Refuse a table with a header but no rows."""
    if len(frame) == 0:
        shown = ", ".join(repr(name) for name in list(frame.columns)[:5])
        raise DataError(
            f"{where} has column names ({shown}) but no rows of data.",
            fix="Add at least one row below the header, or upload the file that has the data.",
        )


def max_rows(columns: int) -> int:
    """The most rows a table of ``columns`` columns may have (MAX_CELLS values in all)."""
    return MAX_CELLS // max(columns, 1)


def check_header_bytes(name: str, n_bytes: int) -> None:
    """Refuse a first line longer than any header of at most MAX_COLUMNS names."""
    if n_bytes > MAX_HEADER_BYTES:
        raise DataError(
            f"The first line of {name} is longer than "
            f"{megabytes(MAX_HEADER_BYTES)} MB: too long for a header of at most "
            f"{MAX_COLUMNS:,} columns.",
            fix=f"Keep at most {MAX_COLUMNS:,} columns, put every row on its own line, "
            "and upload the file again.",
        )


def empty_file(source: Path) -> DataError:
    """The error for a file with nothing in it."""
    return DataError(
        f"{source.name} is empty.", fix="Upload a file with a header row and rows of data."
    )
