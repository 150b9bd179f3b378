"""The dataset catalog: every stored version with the rows and columns counted at save time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlstudio.data.catalog import CATALOG_COLUMNS, catalog_frame
from dlstudio.data.store import SHAPE_FILE, DatasetStore

SALES_V1 = b"region,amount\nnorth,1\nsouth,2\n"
SALES_V2 = b"region,amount,year\nnorth,1,2024\nsouth,2,2024\neast,3,2025\n"
JAN = datetime(2024, 1, 1, 9, 30, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    return DatasetStore(tmp_path / "datasets")


def test_save_records_the_tables_shape(store: DatasetStore) -> None:
    saved = store.save("sales", SALES_V2, filename="sales.csv")

    assert (saved.n_rows, saved.n_columns) == (3, 3)
    assert (saved.path.parent / SHAPE_FILE).is_file()


def test_catalog_lists_every_version_newest_first(store: DatasetStore) -> None:
    store.save("sales", SALES_V1, filename="sales.csv", now=JAN)
    v2 = store.save("sales", SALES_V2, filename="sales_2.csv", now=FEB)
    store.save("leads", b"email,score\na@x,1\n", filename="leads.csv", now=JAN)

    frame = catalog_frame(store)

    assert list(frame.columns) == list(CATALOG_COLUMNS)
    assert frame[["name", "file", "rows", "columns"]].values.tolist() == [
        ["leads", "leads.csv", 1, 2],
        ["sales", "sales_2.csv", 3, 3],
        ["sales", "sales.csv", 2, 2],
    ]
    assert frame["version"].tolist()[1] == v2.version
    assert frame["saved"].tolist()[2] == "2024-01-01 09:30"
    assert frame["size_mb"].tolist() == [0.0, 0.0, 0.0]  # tiny files round to 0 MB


def test_versions_stored_before_shapes_were_recorded_show_blank_rows(
    store: DatasetStore,
) -> None:
    saved = store.save("sales", SALES_V1, filename="sales.csv")
    (saved.path.parent / SHAPE_FILE).unlink()

    frame = catalog_frame(store)

    assert frame["rows"].isna().tolist() == [True]
    assert store.versions("sales")[0].n_rows is None


def test_empty_store_gives_an_empty_catalog_with_its_columns(store: DatasetStore) -> None:
    frame = catalog_frame(store)

    assert frame.empty
    assert list(frame.columns) == list(CATALOG_COLUMNS)


def test_size_is_in_megabytes(store: DatasetStore) -> None:
    store.save("wide", b"a,b\n" + b"1,2\n" * 150_000, filename="wide.csv")

    assert catalog_frame(store)["size_mb"].tolist() == [0.57]  # 600,004 bytes
