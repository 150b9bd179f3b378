"""Resolve a spec's data section (a path, a stored dataset or a read-only SQL query) into frames
to train on."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dlstudio.credentials import mask_url, resolve_url
from dlstudio.data.image_source import ImageSource, folder_version
from dlstudio.data.images import is_image_source, list_images
from dlstudio.data.readers import read_table
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DataError
from dlstudio.settings import Settings
from dlstudio.spec import DataSpec
from dlstudio.tasks.base import TrainingData

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# the statements data.query may start with: the ones that only read
READ_STATEMENTS = ("select", "with", "values", "table")
_WORD = re.compile(r"[A-Za-z_]+|[^\s(]")  # a keyword, or any other sign but an opening bracket
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")  # PostgreSQL's $$...$$, $q$...$q$
# what a SQLite statement of data.query may do: read tables, call functions, recurse (WITH)
_SQLITE_READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                        sqlite3.SQLITE_RECURSIVE}  # fmt: skip


@dataclass(frozen=True)
class DataSource:
    """The data a run used, with the name and version logged as MLflow tags."""

    data: TrainingData
    name: str
    version: str


def load_data(spec: DataSpec, settings: Settings) -> DataSource:
    """Read the training (and optional test) table named by the spec."""
    if spec.query:
        return _query_data(spec)
    if spec.dataset:
        stored = DatasetStore(settings.datasets_dir).resolve(spec.dataset)
        path, name, version = stored.path, stored.name, stored.version
    elif spec.path:
        path = Path(spec.path).expanduser()
        name, version = path.name, _version(path)
    else:
        raise DataError(
            "No data was given.",
            fix="pass --data PATH (a CSV, Excel or Parquet file, or a ZIP of image folders) or "
            "set data.path / data.dataset",
        )
    if is_image_source(path):
        return DataSource(_image_data(path, version, spec, settings), name, version)
    main = read_table(path, sheet=spec.sheet)
    test = None
    if spec.test_path:
        test_path = Path(spec.test_path).expanduser()
        # data.sheet names a sheet of the training workbook; a CSV/Parquet test file has none
        test_sheet = spec.sheet if test_path.suffix.lower() in EXCEL_SUFFIXES else None
        test = read_table(test_path, sheet=test_sheet)
    notes = main.notes + (test.notes if test else ())
    frames = TrainingData(main.frame, test.frame if test else None, notes)
    return DataSource(frames, name, version)


def _image_data(path: Path, version: str, spec: DataSpec, settings: Settings) -> TrainingData:
    cache = settings.home_dir / "cache" / "images"
    images = ImageSource(path, version, cache)
    test = None
    if spec.test_path:
        test_path = Path(spec.test_path).expanduser()
        if not is_image_source(test_path):
            raise DataError(
                f"The test data {test_path.name!r} is not a ZIP or folder of images.",
                fix="give a second ZIP of class folders as the test data, or none",
            )
        test = ImageSource(test_path, _version(test_path), cache)
    frame = pd.DataFrame(list_images(path), columns=["image", "label", "split"])
    test_frame = (
        pd.DataFrame(list_images(test.path), columns=["image", "label", "split"]) if test else None
    )
    return TrainingData(frame, test_frame, images=images, test_images=test)


def _query_data(spec: DataSpec) -> DataSource:
    """The result of ``data.query`` on ``data.database_url``, read afresh; its version is a hash
    of the rows, so two runs on unchanged data share a version. The query runs alone in a
    read-only connection that is rolled back: a query can read the database, never change it."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine, shown = _read_only_engine(str(spec.database_url))
    try:
        statement = read_statement(str(spec.query), dialect=engine.dialect.name)
        with engine.connect() as connection:
            READ_ONLY_SETUP[engine.dialect.name](connection)
            try:
                frame = pd.read_sql(text(statement), connection)
            finally:
                connection.rollback()  # whatever the statement did, none of it stays
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0]
        raise DataError(
            f"The query on {shown} failed: {reason}.",
            fix="check the query (table and column names) and that the database is reachable; "
            "data.query can only read, so it cannot create, change or attach anything",
        ) from None
    finally:
        engine.dispose()
    if frame.empty:
        raise DataError("The query returned no rows.", fix="check its WHERE clause and the table")
    version = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    return DataSource(TrainingData(frame), "sql query", version.hexdigest()[:12])


def read_statement(query: str, *, dialect: str) -> str:
    """The one statement of ``query``, when it only reads (SELECT, WITH, VALUES or TABLE).

    Strings, quoted names and comments are skipped, so a ';' inside them is fine; a ';' may
    also end the statement. Backslashes are read both as escapes and as plain characters, so a
    ';' that either reading sees outside a string is refused.

    Raises:
        DataError: an empty query, several statements, or one that is not a read.
    """
    readings = [_segments(query, backslash_escapes=escapes, dollar_quotes=dialect == "postgresql")
                for escapes in (False, True)]  # fmt: skip
    if any(_several_statements(segments) for segments in readings):
        raise DataError(
            "data.query holds several SQL statements (separated by ';'); dlstudio runs one.",
            fix="keep a single SELECT whose result is the table to train on",
        )
    code = "".join(text if kind == "code" else " " for kind, text in readings[0])
    first = next(iter(_WORD.findall(code)), "")
    if first.lower() not in READ_STATEMENTS:
        raise DataError(
            f"data.query must only read data, but it starts with {first!r}."
            if first
            else "data.query holds no SQL statement.",
            fix="write one SELECT (or WITH ... SELECT) whose result is the table to train on",
        )
    return query


def _segments(query: str, *, backslash_escapes: bool, dollar_quotes: bool) -> list[tuple[str, str]]:
    """``query`` cut into ("code" | "quoted" | "comment", text) pieces, in order; an unclosed
    string or comment runs to the end (the database then reports it)."""
    pieces, start, at = [], 0, 0
    while at < len(query):
        opened = _opening(query, at, dollar_quotes=dollar_quotes)
        if opened is None:
            at += 1
            continue
        kind, opener, closer = opened
        end = _closing(query, at + len(opener), closer, backslash_escapes and closer == "'")
        pieces += [("code", query[start:at]), (kind, query[at:end])]
        start = at = end
    return [*pieces, ("code", query[start:])]


def _opening(query: str, at: int, *, dollar_quotes: bool) -> tuple[str, str, str] | None:
    """What opens at ``at`` (a comment, a string or a quoted name): its kind, the text that
    opens it and the text that closes it."""
    if query.startswith("--", at):
        return "comment", "--", "\n"
    if query.startswith("/*", at):
        return "comment", "/*", "*/"  # PostgreSQL nests them: its comment only runs longer
    if query[at] in "'\"":
        return "quoted", query[at], query[at]
    tag = _DOLLAR_TAG.match(query, at) if dollar_quotes else None
    if tag and not (at and (query[at - 1].isalnum() or query[at - 1] in "_$")):  # not x$y$
        return "quoted", tag[0], tag[0]
    return None


def _closing(query: str, at: int, closer: str, backslash_escapes: bool) -> int:
    """Where the piece whose opening ends at ``at`` ends (just past its ``closer``)."""
    while True:
        found = query.find(closer, at)
        if found < 0:
            return len(query)
        if backslash_escapes and _escaped(query, found):
            at = found + 1
            continue
        return found + len(closer)


def _escaped(query: str, at: int) -> bool:
    """Whether an odd number of backslashes stands just before ``at``."""
    before = query[:at]
    return (len(before) - len(before.rstrip("\\"))) % 2 == 1


def _several_statements(segments: list[tuple[str, str]]) -> bool:
    """Whether anything but blanks and comments follows the first ';' outside strings."""
    after: list[tuple[str, str]] | None = None
    for kind, text in segments:
        if after is not None:
            after.append((kind, text))
        elif kind == "code" and ";" in text:
            after = [("code", text.partition(";")[2])]
    return bool(after) and any(kind != "comment" and text.strip() for kind, text in after)


def _read_only_engine(url: str) -> tuple[Engine, str]:
    """An engine on ``url`` for data.query (a SQLite file opens read-only), and the URL as
    shown to users (no password).

    Raises:
        DataError: a bad URL, options on a SQLite URL, or a database dlstudio cannot make
            read-only.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(resolve_url(url))  # ${NAME} -> the secret, only to connect
        engine = (
            create_engine("sqlite://", creator=partial(_open_sqlite_read_only, parsed))
            if parsed.get_backend_name() == "sqlite"
            else create_engine(parsed)
        )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DataError(
            f"data.database_url {mask_url(url)!r} is not a database URL SQLAlchemy can use "
            f"({mask_url(str(exc))}).",
            fix="write it like sqlite:////path/to/file.db or postgresql+psycopg://user@host/db",
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite" and parsed.query:
        engine.dispose()
        raise DataError(
            f"data.database_url {shown!r} has options after '?', which dlstudio does not use: "
            "it opens the SQLite file read-only itself.",
            fix="write it like sqlite:////path/to/file.db",
        )
    if engine.dialect.name not in READ_ONLY_SETUP:
        engine.dispose()
        raise DataError(
            f"data.query cannot run on {shown}: dlstudio runs queries only where it can make "
            f"them read-only ({', '.join(sorted(READ_ONLY_SETUP))}).",
            fix="copy the table into a SQLite or PostgreSQL database, or export it to a CSV file",
        )
    return engine, shown


def _open_sqlite_read_only(url: URL) -> sqlite3.Connection:
    """The SQLite file of ``url`` opened read-only (mode=ro: it is never created or written)."""
    if url.database in (None, "", ":memory:"):
        return sqlite3.connect("file::memory:?mode=ro", uri=True)
    return sqlite3.connect(f"{Path(url.database).absolute().as_uri()}?mode=ro", uri=True)


def _sqlite_reads_only(connection: Connection) -> None:
    # mode=ro still lets ATTACH create a file and VACUUM INTO write a copy; the authorizer
    # refuses every action of a statement but reading tables and calling functions
    connection.connection.driver_connection.set_authorizer(_sqlite_read_action)


def _sqlite_read_action(action: int, *_: object) -> int:
    return sqlite3.SQLITE_OK if action in _SQLITE_READ_ACTIONS else sqlite3.SQLITE_DENY


def _postgresql_reads_only(connection: Connection) -> None:
    # the first statement of the transaction, before the user's; SESSION too, so that even a
    # COMMIT slipping through would leave the next transaction read-only
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    connection.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")


# how each database is made read-only for data.query; others are refused, not run unguarded
READ_ONLY_SETUP: dict[str, Callable[[Connection], None]] = {
    "sqlite": _sqlite_reads_only,
    "postgresql": _postgresql_reads_only,
}


def _version(path: Path) -> str:
    return folder_version(path) if path.is_dir() else _content_hash(path)


def _content_hash(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"The data file {str(path)!r} does not exist.", fix="check the path")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]
