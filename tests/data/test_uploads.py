"""Uploads: the accepted kinds, names pre-filled from file names, reading bytes or refusing them."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dlstudio.data import readers
from dlstudio.data.store import validate_name
from dlstudio.data.uploads import TABLE_TYPES, name_from_filename, read_upload
from dlstudio.errors import DataError


def test_every_offered_type_is_one_the_reader_reads() -> None:
    assert {f".{kind}" for kind in TABLE_TYPES} == set(readers._READERS)


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("sales.csv", "sales"),
        ("Sales 2024 (v2).xlsx", "Sales_2024_v2"),
        ("données.clients.parquet", "donn_es.clients"),
        (".hidden.csv", "hidden"),
        ("(((.csv", "dataset"),
        ("x" * 80 + ".csv", "x" * 64),
    ],
)
def test_name_from_filename_is_a_valid_dataset_name(filename: str, name: str) -> None:
    assert name_from_filename(filename) == name
    validate_name(name)  # raises when the store would refuse it


def test_read_upload_reads_a_csv_from_bytes() -> None:
    table = read_upload(b"region;amount\nnorth;1,5\nsouth;2,25\n", filename="sales.csv")

    assert table.frame.to_dict(orient="list") == {
        "region": ["north", "south"],
        "amount": [1.5, 2.25],
    }
    assert table.notes == ("Columns separated by ';' with ',' as decimal mark.",)


def test_read_upload_reads_parquet_from_bytes() -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(buffer, index=False)

    table = read_upload(buffer.getvalue(), filename="t.parquet")

    assert table.frame.to_dict(orient="list") == {"a": [1, 2], "b": ["x", "y"]}


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("blob.csv", bytes(range(256)), "blob.csv does not look like a text table"),
        ("book.csv", b"PK\x03\x04" + b"\x00" * 32, "book.csv is not a text table: it is a zip"),
        ("empty.csv", b"", "empty.csv is empty."),
        ("header.csv", b"a,b\n", "header.csv has column names ('a', 'b') but no rows of data."),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "Line 3 of ragged.csv has 3 values"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 32, "old.xls is an old Excel .xls workbook"),
        ("photos.zip", b"PK\x03\x04", "photos.zip has an unsupported file type '.zip'"),
        ("../etc/passwd.csv", b"a\n1\n", "File name '../etc/passwd.csv' cannot be read."),
    ],
)
def test_read_upload_refuses_a_bad_file_with_the_readers_message(
    filename: str, data: bytes, message: str
) -> None:
    with pytest.raises(DataError) as caught:
        read_upload(data, filename=filename)

    assert caught.value.message.startswith(message)
    assert caught.value.fix


def test_read_upload_refuses_a_file_over_the_limit_before_writing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DLSTUDIO_MAX_UPLOAD_MB", "1")

    with pytest.raises(DataError, match=r"big.csv is 2 MB, larger than the limit of 1 MB"):
        read_upload(b"a\n" + b"1\n" * (1024 * 1024 - 1), filename="big.csv")
