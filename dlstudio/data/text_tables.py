"""Read delimited text (CSV, TSV, TXT) into a DataFrame: the encoding, the separator and the
decimal mark are found from the file, and a malformed file is refused with the line to fix."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from dlstudio.data.table_checks import (
    MAGIC,
    MB,
    TableRead,
    check_header_bytes,
    check_shape,
    empty_file,
)
from dlstudio.errors import DataError

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024  # enough for ~50 lines of all but the widest tables
SNIFF_LINES = 50
CHUNK_BYTES = MB  # encoding checks stream the file in chunks of this size
UTF8 = ("utf-8", "utf-8-sig")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?\d+\.\d+")
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_QUOTE_ERROR = re.compile(r"EOF inside string starting at row (\d+)")


def read_text(source: Path, sheet: str | None) -> TableRead:
    with source.open("rb") as stream:
        head = stream.read(SAMPLE_BYTES)
    _refuse_binary(head, source)
    encoding, quotes = _detect_encoding(source, head)
    head = _whole_header_line(source, head, encoding)
    whole = len(head) == source.stat().st_size
    records = _sample_records(_decode_sample(head, encoding, final=whole), whole)
    if not records:  # nothing but whitespace
        raise empty_file(source)
    delimiter = _sniff_delimiter(records)
    rows = _parse(records, delimiter)
    _check_header(rows, records[0], delimiter, source)
    # every line but the header may be a row (a quoted value spanning lines makes fewer)
    check_shape(_count_lines(source, encoding) - 1, len(rows[0]), source.name, rows_are="up to ")
    decimal = "," if delimiter == ";" and _uses_decimal_comma(rows[1:]) else "."
    # pyarrow reads an unclosed quote silently to the end of the file; the C engine says where.
    lean = encoding in UTF8 and quotes % 2 == 0
    frame = _read_csv(source, delimiter, decimal, encoding, lean=lean)
    return TableRead(frame, list(rows[0]), _text_notes(encoding, delimiter, decimal), source.name)


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
            check_header_bytes(source.name, len(sample))
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
        raise empty_file(source) from exc
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
