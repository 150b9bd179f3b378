"""Read a user's table (delimited text, Excel or Parquet) into a DataFrame, or say plainly why not."""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dlstudio.data.table_checks import (
    MAGIC,
    TableRead,
    check_duplicates,
    check_has_rows,
    check_shape,
    check_size,
    check_unpacked,
    empty_file,
    max_rows,
)
from dlstudio.data.text_tables import read_text
from dlstudio.errors import DataError

SUPPORTED_FORMATS = (
    "delimited text (.csv, .tsv, .txt), Excel (.xlsx, .xlsm) or Parquet (.parquet, .pq)"
)


@dataclass(frozen=True)
class LoadedTable:
    """A table read from a file, with plain-language notes on how it was read."""

    frame: pd.DataFrame
    source: Path
    notes: tuple[str, ...]


def read_table(
    path: str | Path, *, sheet: str | None = None, max_bytes: int | None = None
) -> LoadedTable:
    """Read a CSV/TSV/TXT, Excel or Parquet file into a DataFrame.

    Args:
        path: the file; its extension (any case) picks the format.
        sheet: the Excel sheet to read (default: the first one).
        max_bytes: largest file accepted (default: DLSTUDIO_MAX_UPLOAD_MB).

    Raises:
        DataError: the file is missing, too large, of an unsupported kind, or not a usable table.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise DataError(
            f"File not found: {str(source)!r}.", fix="Check the path and the file name."
        )
    reader = _READERS.get(source.suffix.lower())
    if reader is None:
        raise _unsupported(source)
    size = source.stat().st_size
    check_size(source.name, size, max_bytes)
    if size == 0:
        raise empty_file(source)
    if sheet is not None and reader is not _read_excel:
        raise DataError(
            f"A sheet ({sheet!r}) was chosen, but {source.name} is not an Excel workbook.",
            fix="Remove data.sheet, or upload the Excel file.",
        )
    read = reader(source, sheet)
    check_duplicates(read.header, read.where)
    frame = read.frame
    frame.columns = [str(name).strip() for name in frame.columns]
    check_has_rows(frame, read.where)
    return LoadedTable(frame=frame, source=source.resolve(), notes=read.notes)


# --- Excel and Parquet ------------------------------------------------------------------------


def _read_excel(source: Path, sheet: str | None) -> TableRead:
    from openpyxl.utils.exceptions import InvalidFileException  # here: a CSV never pays for it

    _require_magic(source, b"PK\x03\x04", "an Excel workbook")
    try:
        check_unpacked(source.name, _workbook_unpacked_bytes(source))
        with pd.ExcelFile(source, engine="openpyxl") as book:
            names = [str(name) for name in book.sheet_names]
            chosen = _choose_sheet(names, sheet, source)
            where = f"{source.name} (sheet {chosen!r})"
            declared = book.book[chosen]  # its size as the sheet declares it, read cheaply
            check_shape((declared.max_row or 1) - 1, declared.max_column or 0, where)
            first_row = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1)
            # the declared size may be missing or lie: read no more rows than the limit allows
            limit = max_rows(first_row.shape[1])
            frame = pd.read_excel(book, sheet_name=chosen, nrows=limit + 1)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _cannot_open(source, "an Excel workbook", exc) from exc
    cut = len(frame) > limit  # rows past the limit were not read
    check_shape(len(frame), frame.shape[1], where, rows_are="at least " if cut else "")
    if frame.shape[1] == 0:
        raise DataError(
            f"Sheet {chosen!r} in {source.name} is empty.",
            fix="Choose a sheet with data (set data.sheet), or add rows to this one.",
        )
    cells = first_row.iloc[0] if len(first_row) else []
    header = [None if pd.isna(cell) else str(cell) for cell in cells]
    others = [name for name in names if name != chosen]
    if sheet is None and others:
        listed = ", ".join(repr(name) for name in others)
        note = (
            f"Used sheet {chosen!r}; the file also has sheets {listed} "
            "(choose one with data.sheet)."
        )
    else:
        note = f"Used sheet {chosen!r}."
    return TableRead(frame, header, (note,), where)


def _choose_sheet(names: list[str], sheet: str | None, source: Path) -> str:
    if sheet is None:
        return names[0]
    if sheet in names:
        return sheet
    close = difflib.get_close_matches(sheet, names, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    raise DataError(
        f"{source.name} has no sheet named {sheet!r}.",
        fix=f"{hint}Its sheets are: {', '.join(repr(name) for name in names)}.",
    )


def _read_parquet(source: Path, sheet: str | None) -> TableRead:
    _require_magic(source, b"PAR1", "a Parquet file")
    try:
        _check_parquet_metadata(source)
        frame = pd.read_parquet(source)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise _cannot_open(source, "a Parquet file", exc) from exc
    return TableRead(frame, [str(name) for name in frame.columns], (), source.name)


def _check_parquet_metadata(source: Path) -> None:
    """Refuse a Parquet file from its footer alone: rows, columns and unpacked bytes."""
    metadata = pq.read_metadata(source)
    check_shape(metadata.num_rows, metadata.num_columns, source.name)
    groups = (metadata.row_group(i) for i in range(metadata.num_row_groups))
    check_unpacked(source.name, sum(group.total_byte_size for group in groups))


def _workbook_unpacked_bytes(source: Path) -> int:
    """What an xlsx (a ZIP of XML) unpacks to, from its directory; reads stop there too."""
    with zipfile.ZipFile(source) as archive:
        return sum(info.file_size for info in archive.infolist())


def _require_magic(source: Path, magic: bytes, what: str) -> None:
    """Refuse a file whose first bytes show it is not the format its extension claims."""
    with source.open("rb") as stream:
        head = stream.read(8)
    if head.startswith(magic):
        return
    for other, description, _suffix in MAGIC:
        if head.startswith(other):
            raise DataError(
                f"{source.name} is not {what}: it is {description}.",
                fix="Give it the extension that matches its content and upload it again.",
            )
    raise DataError(
        f"{source.name} cannot be opened as {what}: it does not start like one "
        "(it may be text, or damaged).",
        fix="If it is a CSV file, rename it to .csv; otherwise export it again and upload that.",
    )


def _cannot_open(source: Path, what: str, exc: Exception) -> DataError:
    reason = str(exc).strip() or type(exc).__name__
    return DataError(
        f"{source.name} cannot be opened as {what} ({reason[:160]}).",
        fix="The file may be damaged: export or save it again and upload the new file.",
    )


def _unsupported(source: Path) -> DataError:
    if source.suffix.lower() == ".xls":
        return DataError(
            f"{source.name} is an old Excel .xls workbook, which dlstudio cannot read; "
            f"it reads {SUPPORTED_FORMATS}.",
            fix="Open it in Excel and save it as .xlsx or CSV.",
        )
    return DataError(
        f"{source.name} has an unsupported file type {source.suffix or '(none)'!r}; "
        f"dlstudio reads {SUPPORTED_FORMATS}.",
        fix="Export the data as CSV or Excel .xlsx and upload that.",
    )


_READERS: dict[str, Callable[[Path, str | None], TableRead]] = {
    ".csv": read_text,
    ".tsv": read_text,
    ".txt": read_text,
    ".xlsx": _read_excel,
    ".xlsm": _read_excel,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
}
