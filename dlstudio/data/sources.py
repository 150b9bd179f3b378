"""Resolve a spec's data section (a path or a stored dataset) into frames to train on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dlstudio.data.image_source import ImageSource, folder_version
from dlstudio.data.images import is_image_source, list_images
from dlstudio.data.readers import read_table
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DataError
from dlstudio.settings import Settings
from dlstudio.spec import DataSpec
from dlstudio.tasks.base import TrainingData

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


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
    of the rows, so two runs on unchanged data share a version."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    url = str(spec.database_url)
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DataError(
            f"data.database_url {url!r} is not a database URL SQLAlchemy can use ({exc}).",
            fix="write it like sqlite:////path/to/file.db or postgresql+psycopg://user@host/db",
        ) from None
    try:
        with engine.connect() as connection:
            frame = pd.read_sql(text(str(spec.query)), connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0]
        raise DataError(
            f"The query on {engine.url.render_as_string(hide_password=True)} failed: {reason}.",
            fix="check the query (table and column names) and that the database is reachable",
        ) from None
    finally:
        engine.dispose()
    if frame.empty:
        raise DataError("The query returned no rows.", fix="check its WHERE clause and the table")
    version = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    return DataSource(TrainingData(frame), "sql query", version.hexdigest()[:12])


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
