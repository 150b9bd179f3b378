"""Read a user's table (delimited text, Excel or Parquet) into a DataFrame, or say plainly why not."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from openpyxl.utils.exceptions import InvalidFileException

from dlstudio.errors import DataError
from dlstudio.settings import get_settings

MB = 1024 * 1024
SUPPORTED_FORMATS = (
    "delimited text (.csv, .tsv, .txt), Excel (.xlsx, .xlsm) or Parquet (.parquet, .pq)"
)
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024  # enough for ~50 lines of all but the widest tables
SNIFF_LINES = 50
CHUNK_BYTES = MB  # encoding checks stream the file in chunks of this size
# A table is refused before it is read fully when it is larger than these: a 1.7 MB CSV of
# 100,000 columns took 41 s and 1.5 GiB, a 1.65 MB Parquet file unpacked to 200M rows (3.9 GiB).
MAX_COLUMNS = 10_000  # pandas reads 10,000 columns in about a second; the time grows faster
MAX_CELLS = 50_000_000  # rows x columns: 400 MB as float64 numbers, and more as text
MAX_HEADER_BYTES = 4 * MB  # a header line of MAX_COLUMNS names of up to ~400 characters
# Bytes a Parquet file or an Excel workbook unpacks to, from their own directories: an xlsx
# holds about 40 bytes of XML a cell, and openpyxl keeps every shared string in memory.
MAX_UNPACKED_BYTES = 2 * 1024**3
UTF8 = ("utf-8", "utf-8-sig")
# What a file really is, told by its first bytes: (magic, description, suffix to rename to).
MAGIC = (
    (b"PK\x03\x04", "a zip archive, most likely an Excel workbook", ".xlsx"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", None),
)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?\d+\.\d+")
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_QUOTE_ERROR = re.compile(r"EOF inside string starting at row (\d+)")


@dataclass(frozen=True)
class LoadedTable:
    """A table read from a file, with plain-language notes on how it was read."""

    frame: pd.DataFrame
    source: Path
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Read:
    """What one format reader produced: the frame, the header as written, and notes."""

    frame: pd.DataFrame
    header: list[str | None]
    notes: tuple[str, ...]
    where: str  # "sales.csv" or "sales.xlsx (sheet 'Q1')", for messages


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
        raise _empty(source)
    if sheet is not None and reader is not _read_excel:
        raise DataError(
            f"A sheet ({sheet!r}) was chosen, but {source.name} is not an Excel workbook.",
            fix="Remove data.sheet, or upload the Excel file.",
        )
    read = reader(source, sheet)
    _check_duplicates(read.header, read.where)
    frame = read.frame
    frame.columns = [str(name).strip() for name in frame.columns]
    _check_has_rows(frame, read.where)
    return LoadedTable(frame=frame, source=source.resolve(), notes=read.notes)


def check_size(name: str, size_bytes: int, max_bytes: int | None = None) -> None:
    """Refuse a file larger than the upload limit, saying how to raise the limit."""
    limit = get_settings().max_upload_mb * MB if max_bytes is None else max_bytes
    if size_bytes > limit:
        raise DataError(
            f"{name} is {_megabytes(size_bytes)} MB, larger than the limit of "
            f"{_megabytes(limit)} MB.",
            fix="Upload a smaller file (fewer rows or columns), or raise the limit with the "
            "environment variable DLSTUDIO_MAX_UPLOAD_MB.",
        )


def _megabytes(n_bytes: int) -> str:
    size = n_bytes / MB
    return f"{size:.2f}".rstrip("0").rstrip(".") if size >= 0.01 else f"{size:.2g}"


# --- delimited text ---------------------------------------------------------------------------


def _read_text(source: Path, sheet: str | None) -> _Read:
    with source.open("rb") as stream:
        head = stream.read(SAMPLE_BYTES)
    _refuse_binary(head, source)
    encoding, quotes = _detect_encoding(source, head)
    head = _whole_header_line(source, head, encoding)
    whole = len(head) == source.stat().st_size
    records = _sample_records(_decode_sample(head, encoding, final=whole), whole)
    if not records:  # nothing but whitespace
        raise _empty(source)
    delimiter = _sniff_delimiter(records)
    rows = _parse(records, delimiter)
    _check_header(rows, records[0], delimiter, source)
    # every line but the header may be a row (a quoted value spanning lines makes fewer)
    _check_shape(_count_lines(source, encoding) - 1, len(rows[0]), source.name, rows_are="up to ")
    decimal = "," if delimiter == ";" and _uses_decimal_comma(rows[1:]) else "."
    # pyarrow reads an unclosed quote silently to the end of the file; the C engine says where.
    lean = encoding in UTF8 and quotes % 2 == 0
    frame = _read_csv(source, delimiter, decimal, encoding, lean=lean)
    return _Read(frame, list(rows[0]), _text_notes(encoding, delimiter, decimal), source.name)


def _refuse_binary(head: bytes, source: Path) -> None:
    """Say what a binary file renamed to .csv really is, or that it is no text table at all."""
    for magic, what, suffix in MAGIC:
        if head.startswith(magic):
            rename = f"Rename it to {source.stem}{suffix}" if suffix else "Save it as .xlsx"
            raise DataError(
                f"{source.name} is not a text table: it is {what}.",
                fix=f"{rename} and upload it again.",
            )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    controls = sum(byte < 9 or 13 < byte < 32 for byte in head)
    if b"\x00" in head or controls > 1 + len(head) // 100:
        raise DataError(
            f"{source.name} does not look like a text table (it contains binary data).",
            fix="Export the data as CSV (comma-separated text) or Excel .xlsx and upload that.",
        )


def _detect_encoding(source: Path, head: bytes) -> tuple[str, int]:
    """The encoding (strict utf-8, else cp1252, else latin-1) and the number of '"' bytes."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig", "cp1252"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        quotes = _count_quotes_if_decodes(source, encoding)
        if quotes is not None:
            return encoding, quotes
    return "latin-1", -1


def _count_quotes_if_decodes(source: Path, encoding: str) -> int | None:
    """Quote count when the whole file decodes, else None; streamed, so memory stays small."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    quotes = 0
    try:
        with source.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                decoder.decode(chunk)
                quotes += chunk.count(b'"')
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return quotes


def _whole_header_line(source: Path, head: bytes, encoding: str) -> bytes:
    """The sample, extended when the header line is longer than it: to the end of that line and
    as many bytes again (a row of such a wide table). A cut header would end in a cut name,
    which may repeat another one."""
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    if _has_line_end(decoder.decode(head)):
        return head
    sample = bytearray(head)
    with source.open("rb") as stream:
        stream.seek(len(sample))
        while chunk := stream.read(SAMPLE_BYTES):
            sample += chunk
            if _has_line_end(decoder.decode(chunk)):
                return bytes(sample + stream.read(len(sample)))
            if len(sample) > MAX_HEADER_BYTES:
                raise DataError(
                    f"The first line of {source.name} is longer than "
                    f"{_megabytes(MAX_HEADER_BYTES)} MB: too long for a header of at most "
                    f"{MAX_COLUMNS:,} columns.",
                    fix=f"Keep at most {MAX_COLUMNS:,} columns, put every row on its own line, "
                    "and upload the file again.",
                )
    return bytes(sample)


def _has_line_end(text: str) -> bool:
    return "\n" in text or "\r" in text


def _count_lines(source: Path, encoding: str) -> int:
    """Lines in the file (ended by LF, CR LF or a lone CR), streamed so memory stays small."""
    decoder = codecs.getincrementaldecoder(encoding)("replace") if encoding == "utf-16" else None
    ends, text = 0, ""
    with source.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            # in UTF-16 a newline byte may be half of another character: count decoded text
            text = decoder.decode(chunk) if decoder else chunk.decode("latin-1")
            ends += text.count("\n") + text.count("\r") - text.count("\r\n")
    return ends + (not _has_line_end(text[-1:]))  # the last line may have no line end


def _decode_sample(head: bytes, encoding: str, *, final: bool) -> str:
    return codecs.getincrementaldecoder(encoding)("replace").decode(head, final=final)


def _sample_records(sample: str, whole: bool) -> list[str]:
    """The first lines of the sample, without a line the sample cut in half."""
    lines = sample.splitlines()
    if not whole and len(lines) > 1:
        lines = lines[:-1]
    return [line for line in lines if line.strip()][:SNIFF_LINES]


def _parse(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error:
        return [[line] for line in lines]


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits most lines into the same number (>1) of fields; ',' if none."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = Counter(len(fields) for fields in _parse(lines, delimiter))
        n_fields, n_lines = counts.most_common(1)[0]
        score = (n_lines / sum(counts.values()), n_fields)
        if n_fields > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _check_header(rows: list[list[str]], line: str, delimiter: str, source: Path) -> None:
    """Refuse a header that does not split like the rows (pandas would guess silently)."""
    header = rows[0]
    others = [d for d in DELIMITERS if d != delimiter and d in line]
    if len(header) == 1 and others:
        raise DataError(
            f"Only one column was found in {source.name} using {_show(delimiter)} as the "
            f"separator, but the first row contains {_show(others[0])}: the file seems to "
            f"use {_show(others[0])}.",
            fix=f"Make every row use {_show(others[0])} between values (export the file again "
            "as CSV), then upload it again.",
        )
    if len(rows) > 1 and len(rows[1]) > len(header):
        raise DataError(
            f"The first row of {source.name} has {len(header)} column names, but the row below "
            f"it has {len(rows[1])} values (separated by {_show(delimiter)}).",
            fix="Add the missing column names to the first row, or remove the extra values.",
        )


def _uses_decimal_comma(rows: list[list[str]]) -> bool:
    values = [value.strip() for row in rows for value in row]
    commas = sum(bool(_DECIMAL_COMMA.fullmatch(v)) for v in values)
    points = sum(bool(_DECIMAL_POINT.fullmatch(v)) for v in values)
    return commas > 0 and commas >= points


def _read_csv(
    source: Path, delimiter: str, decimal: str, encoding: str, *, lean: bool
) -> pd.DataFrame:
    """pyarrow when ``lean`` (fast, small); else, or when it fails, the C engine, which names
    the line that is wrong."""
    options = {"sep": delimiter, "decimal": decimal, "encoding": encoding}
    if lean:
        try:
            return _dates_to_datetime64(pd.read_csv(source, engine="pyarrow", **options))
        except ValueError:
            pass  # the C engine reads what pyarrow refuses, or names the line that is wrong
    try:
        return pd.read_csv(source, engine="c", **options)
    except pd.errors.EmptyDataError as exc:
        raise _empty(source) from exc
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, source, delimiter) from exc


def _dates_to_datetime64(frame: pd.DataFrame) -> pd.DataFrame:
    """pyarrow reads plain dates as Python date objects; store them as datetime64 instead."""
    for name in frame.select_dtypes(include="object").columns:
        present = frame[name].dropna()
        if len(present) and isinstance(present.iloc[0], dt.date):
            frame[name] = pd.to_datetime(frame[name])
    return frame


def _parser_error(exc: Exception, source: Path, delimiter: str) -> DataError:
    if fields := _FIELDS_ERROR.search(str(exc)):
        expected, line, seen = fields.groups()
        return DataError(
            f"Line {line} of {source.name} has {seen} values, but the header has {expected} "
            "columns.",
            fix=f"Look for an extra {_show(delimiter)} or a value that needs quotes on that "
            "line, fix it and upload again.",
        )
    if quote := _QUOTE_ERROR.search(str(exc)):
        return DataError(
            f'A quote (") opened on line {int(quote.group(1)) + 1} of {source.name} is never '
            "closed.",
            fix="Close or remove that quote and upload again.",
        )
    return DataError(f"{source.name} could not be read as a table: {exc}")


def _text_notes(encoding: str, delimiter: str, decimal: str) -> tuple[str, ...]:
    notes = [] if encoding in UTF8 else [f"Read as {encoding} text."]
    if decimal == ",":
        notes.append(f"Columns separated by {_show(delimiter)} with ',' as decimal mark.")
    elif delimiter != ",":
        notes.append(f"Columns separated by {_show(delimiter)}.")
    return tuple(notes)


def _show(delimiter: str) -> str:
    return "tabs" if delimiter == "\t" else repr(delimiter)


# --- Excel and Parquet ------------------------------------------------------------------------


def _read_excel(source: Path, sheet: str | None) -> _Read:
    _require_magic(source, b"PK\x03\x04", "an Excel workbook")
    try:
        _check_unpacked(source.name, _workbook_unpacked_bytes(source))
        with pd.ExcelFile(source, engine="openpyxl") as book:
            names = [str(name) for name in book.sheet_names]
            chosen = _choose_sheet(names, sheet, source)
            where = f"{source.name} (sheet {chosen!r})"
            declared = book.book[chosen]  # its size as the sheet declares it, read cheaply
            _check_shape((declared.max_row or 1) - 1, declared.max_column or 0, where)
            first_row = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1)
            # the declared size may be missing or lie: read no more rows than the limit allows
            limit = MAX_CELLS // max(first_row.shape[1], 1)
            frame = pd.read_excel(book, sheet_name=chosen, nrows=limit + 1)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _cannot_open(source, "an Excel workbook", exc) from exc
    cut = len(frame) > limit  # rows past the limit were not read
    _check_shape(len(frame), frame.shape[1], where, rows_are="at least " if cut else "")
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
    return _Read(frame, header, (note,), where)


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


def _read_parquet(source: Path, sheet: str | None) -> _Read:
    _require_magic(source, b"PAR1", "a Parquet file")
    try:
        _check_parquet_metadata(source)
        frame = pd.read_parquet(source)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise _cannot_open(source, "a Parquet file", exc) from exc
    return _Read(frame, [str(name) for name in frame.columns], (), source.name)


def _check_parquet_metadata(source: Path) -> None:
    """Refuse a Parquet file from its footer alone: rows, columns and unpacked bytes."""
    metadata = pq.read_metadata(source)
    _check_shape(metadata.num_rows, metadata.num_columns, source.name)
    groups = (metadata.row_group(i) for i in range(metadata.num_row_groups))
    _check_unpacked(source.name, sum(group.total_byte_size for group in groups))


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


# --- checks shared by all formats -------------------------------------------------------------


def _check_duplicates(header: list[str | None], where: str) -> None:
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


def _check_shape(rows: int, columns: int, where: str, *, rows_are: str = "") -> None:
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


def _check_unpacked(name: str, unpacked_bytes: int) -> None:
    if unpacked_bytes > MAX_UNPACKED_BYTES:
        raise DataError(
            f"{name} unpacks to {_megabytes(unpacked_bytes)} MB of data, more than the limit "
            f"of {_megabytes(MAX_UNPACKED_BYTES)} MB.",
            fix="Upload a sample of the rows (or fewer columns), or split the table.",
        )


def _check_has_rows(frame: pd.DataFrame, where: str) -> None:
    if len(frame) == 0:
        shown = ", ".join(repr(name) for name in list(frame.columns)[:5])
        raise DataError(
            f"{where} has column names ({shown}) but no rows of data.",
            fix="Add at least one row below the header, or upload the file that has the data.",
        )


def _empty(source: Path) -> DataError:
    return DataError(
        f"{source.name} is empty.", fix="Upload a file with a header row and rows of data."
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


_READERS: dict[str, Callable[[Path, str | None], _Read]] = {
    ".csv": _read_text,
    ".tsv": _read_text,
    ".txt": _read_text,
    ".xlsx": _read_excel,
    ".xlsm": _read_excel,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
}
