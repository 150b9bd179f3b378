"""Inputs that claim to be small but unpack huge: ZIP bombs, wide or long tables, huge images.

Each test builds a small file whose directory, footer, header or image header announces the
huge size (or lowers a limit), and checks it is refused or skipped before it is read in full.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile

from dlstudio.data import table_checks
from dlstudio.data.image_decode import decode_image
from dlstudio.data.images import (
    ImageLimits,
    image_files,
    iter_image_files,
    read_image_zip,
)
from dlstudio.data.readers import read_table
from dlstudio.data.uploads import read_upload
from dlstudio.errors import DataError


def _png(side: int = 8, value: int = 10) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), value).save(buffer, format="PNG")
    return buffer.getvalue()


def _noise_png(side: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces width x height pixels and holds none: a few dozen bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _zip(members: dict[str, bytes], stored: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data, zipfile.ZIP_STORED if name in stored else None)
    return buffer.getvalue()


def _two_classes() -> dict[str, bytes]:
    return {f"{label}/{i}.png": _png(value=i * 50) for label in ("cats", "dogs") for i in (1, 2)}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the ZIP members decompressed, in order."""
    names: list[str] = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, mode="r", *args, **kwargs):
        if mode == "r":  # not the writes that build the test's ZIP
            names.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    return names


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of the images whose pixels PIL decoded."""
    sizes: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def recording_load(self):
        sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return sizes


def _refusal(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        read_table(path)
    assert caught.value.fix
    return caught.value


def _never_read(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the table was read in full")

    for name in names:
        monkeypatch.setattr(pd, name, fail)


# --- finding 5: ZIP bombs ---------------------------------------------------------------------


def test_a_zip_unpacking_to_far_more_than_its_size_is_refused_unread(opened: list[str]) -> None:
    # Given a ZIP of a few kB holding 20 MB of zeros named like an image
    members = {**_two_classes(), "cats/bomb.bmp": bytes(20 * 1024**2)}
    archive = _zip(members)
    assert len(archive) < 100_000

    # When it is read, Then it is refused from its directory, before any member is opened
    with pytest.raises(DataError, match=r"times its size .* looks like a ZIP bomb") as caught:
        read_image_zip(archive, size=8)
    assert "Zip the image files themselves" in caught.value.fix
    assert opened == []


def test_a_member_compressed_like_a_bomb_is_skipped_unread(opened: list[str]) -> None:
    # Given a ZIP whose size is honest overall (1 MB of noise, stored) but with one member
    # of 3 MB of zeros that deflates 1000:1
    members = {**_two_classes(), "noise.txt": np.random.default_rng(0).bytes(1024**2)}
    members["cats/bomb.bmp"] = bytes(3 * 1024**2)

    # When it is read
    folder = read_image_zip(_zip(members, stored=("noise.txt",)), size=8)

    # Then the bomb is skipped with why, never decompressed, and the images are read
    assert "possible ZIP bomb" in dict(folder.skipped)["cats/bomb.bmp"]
    assert "cats/bomb.bmp" not in opened
    assert folder.labels == ["cats", "cats", "dogs", "dogs"]


def test_a_member_over_the_per_file_limit_is_skipped_unread(opened: list[str]) -> None:
    # Given a real image larger than the per-file limit
    members = {**_two_classes(), "cats/big.png": _noise_png(64)}
    limits = ImageLimits(max_member_bytes=len(members["cats/big.png"]) - 1)

    # When the ZIP is read, for training and for prediction
    folder = read_image_zip(_zip(members), size=8, limits=limits)
    files, skipped = image_files(_zip(members), limits=limits)

    # Then that file is skipped (and never opened), the others are read
    assert "more than the limit of" in dict(folder.skipped)["cats/big.png"]
    assert len(folder.labels) == 4
    assert "cats/big.png" not in opened
    assert [name for name, _ in skipped] == ["cats/big.png"]
    assert len(files) == 4


def test_iter_image_files_holds_one_member_at_a_time(opened: list[str]) -> None:
    # Given a ZIP of four images and a file that is not an image
    archive = _zip({**_two_classes(), "notes.txt": b"hi"})

    # When the first image is taken from the iterator
    files = iter_image_files(archive)
    skipped = next(files)
    first = next(files)

    # Then only that member has been decompressed so far
    assert skipped == ("notes.txt", None, "not an image file (JPEG, PNG, BMP, WebP or GIF)")
    assert first == ("cats/1.png", _two_classes()["cats/1.png"], "")
    assert opened == ["cats/1.png"]
    assert [name for name, _, _ in files] == ["cats/2.png", "dogs/1.png", "dogs/2.png"]


# --- finding 9: images too large to decode ----------------------------------------------------


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # PIL's own layer
def test_a_png_announcing_13000_squared_pixels_is_skipped_before_decoding(
    decoded: list[tuple[int, int]],
) -> None:
    # Given a ZIP with a PNG whose header announces 13000 x 13000 pixels (169 million)
    members = {**_two_classes(), "cats/huge.png": _png_header_only(13_000, 13_000)}

    # When the ZIP is read
    folder = read_image_zip(_zip(members), size=8)

    # Then that image is skipped with why, and PIL never decoded it
    reason = dict(folder.skipped)["cats/huge.png"]
    assert reason.startswith("image too large to decode safely (13000 x 13000 pixels")
    assert (13_000, 13_000) not in decoded
    assert len(folder.labels) == 4


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decode_image_refuses_a_huge_png_with_a_message() -> None:
    with pytest.raises(ValueError, match=r"too large to decode safely \(13000 x 13000 pixels"):
        decode_image(_png_header_only(13_000, 13_000), size=4, channels=3)


def test_a_large_jpeg_is_still_decoded_at_a_reduced_scale(
    decoded: list[tuple[int, int]],
) -> None:
    # Given a 2000 x 2000 JPEG and PNG, and limits far below their 4 million pixels
    image = Image.new("RGB", (2000, 2000), (0, 128, 255))
    jpeg, png = io.BytesIO(), io.BytesIO()
    image.save(jpeg, format="JPEG")
    image.save(png, format="PNG")
    limits = {"max_pixels": 100_000, "max_decode_pixels": 300_000}

    # When both are decoded
    pixels = decode_image(jpeg.getvalue(), size=4, channels=3, **limits)
    with pytest.raises(ValueError, match="too large to decode safely"):
        decode_image(png.getvalue(), size=4, channels=3, **limits)

    # Then the JPEG was decoded at 1/8 scale (250 x 250), and the PNG not at all
    assert set(decoded) == {(250, 250)}
    assert np.abs(pixels[2, 2].astype(int) - [0, 128, 255]).max() < 8


# --- finding 6: tables larger than their file -------------------------------------------------


def test_a_csv_of_100000_columns_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the reported 1.7 MB CSV: 100,000 columns
    path = tmp_path / "wide.csv"
    n = 100_000
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" * n) + "\n")
    _never_read(monkeypatch, "read_csv")

    # When it is read, Then it is refused by its column count, before pandas reads it
    error = _refusal(path)
    assert error.message == "wide.csv has 100,000 columns, more than the limit of 10,000."


def test_a_csv_with_too_many_values_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given CSVs of 600 rows x 2 columns (with '\n' and with old Mac '\r' line ends) and a
    # limit of 1,000 values
    monkeypatch.setattr(table_checks, "MAX_CELLS", 1_000)
    body = "a,b\n" + "1,2\n" * 600
    for name, text in (("unix.csv", body), ("mac.csv", body.replace("\n", "\r"))):
        (tmp_path / name).write_text(text, newline="")
    _never_read(monkeypatch, "read_csv")

    # When they are read, Then both are refused, naming rows, columns and the limit
    for name in ("unix.csv", "mac.csv"):
        error = _refusal(tmp_path / name)
        assert error.message == (
            f"{name} has up to 600 rows x 2 columns, more than the limit of 1,000 values."
        )


def test_a_parquet_file_with_too_many_rows_is_refused_from_its_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Parquet file of a few kB holding 1 million zeros, and a limit of 500,000 values
    path = tmp_path / "long.parquet"
    pd.DataFrame({"x": np.zeros(1_000_000, dtype="int8")}).to_parquet(path)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(table_checks, "MAX_CELLS", 500_000)
    _never_read(monkeypatch, "read_parquet")

    # When it is read, Then it is refused from its metadata
    error = _refusal(path)
    assert error.message == (
        "long.parquet has 1,000,000 rows x 1 columns, more than the limit of 500,000 values."
    )


def test_a_parquet_file_that_unpacks_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.parquet"
    pd.DataFrame({"x": np.arange(10_000)}).to_parquet(path)
    monkeypatch.setattr(table_checks, "MAX_UNPACKED_BYTES", 1_000)
    _never_read(monkeypatch, "read_parquet")

    error = _refusal(path)

    assert re.fullmatch(
        r"big\.parquet unpacks to .* MB of data, more than the limit of .*", error.message
    )


def _excel(path: Path, rows: int, *, declared: bool = True) -> Path:
    pd.DataFrame({"a": range(rows), "b": range(rows)}).to_excel(path, index=False)
    if not declared:  # drop the sheet's <dimension ref="A1:B31"/>, as a crafted file may
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        sheet = "xl/worksheets/sheet1.xml"
        members[sheet] = re.sub(rb"<dimension [^>]*/>", b"", members[sheet])
        path.write_bytes(_zip(members))
    return path


def test_an_excel_sheet_declaring_too_many_values_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _excel(tmp_path / "long.xlsx", 30)
    monkeypatch.setattr(table_checks, "MAX_CELLS", 20)

    error = _refusal(path)

    assert error.message == (
        "long.xlsx (sheet 'Sheet1') has 30 rows x 2 columns, more than the limit of 20 values."
    )


def test_an_excel_sheet_without_its_size_is_read_no_further_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sheet of 30 rows that does not declare its size, and a limit of 20 values
    path = _excel(tmp_path / "hidden.xlsx", 30, declared=False)
    monkeypatch.setattr(table_checks, "MAX_CELLS", 20)
    nrows: list[int | None] = []
    real_read_excel = pd.read_excel
    monkeypatch.setattr(
        pd, "read_excel", lambda *a, **k: nrows.append(k.get("nrows")) or real_read_excel(*a, **k)
    )

    # When it is read, Then at most 11 rows are read and it is refused
    error = _refusal(path)
    assert nrows == [1, 11]
    assert error.message == (
        "hidden.xlsx (sheet 'Sheet1') has at least 11 rows x 2 columns, more than the limit of "
        "20 values."
    )


def test_an_excel_workbook_that_unpacks_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _excel(tmp_path / "book.xlsx", 30)
    monkeypatch.setattr(table_checks, "MAX_UNPACKED_BYTES", 1_000)

    error = _refusal(path)

    assert error.message.startswith("book.xlsx unpacks to ")


def test_an_upload_of_100000_columns_is_refused_with_the_readers_message() -> None:
    data = (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n").encode()

    with pytest.raises(DataError, match="100,000 columns, more than the limit of 10,000"):
        read_upload(data, filename="wide.csv")


# --- finding 15: a header wider than the sniffing sample --------------------------------------


# Name lengths chosen so that a 64 kB cut ends inside a name, making it repeat an earlier one
# ("pressure_at_sensor_n2" cut from "pressure_at_sensor_n2xxx").
@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", "pressure_at_sensor_n"), ("utf-16", "temperature_at_sensor_n")],
)
def test_a_header_wider_than_64_kb_is_read_whole(
    tmp_path: Path, encoding: str, prefix: str
) -> None:
    # Given 3,000 columns whose names fill over 64 kB
    names = [f"{prefix}{i}" for i in range(3_000)]
    header = ",".join(names)
    assert len(header.encode(encoding)) > 64 * 1024
    path = tmp_path / "wide.csv"
    path.write_bytes(
        f"{header}\n{','.join('1' * 3_000)}\n{','.join('2' * 3_000)}\n".encode(encoding)
    )

    # When it is read
    table = read_table(path)

    # Then every name is whole (no false duplicate) and the rows are read
    assert list(table.frame.columns) == names
    assert table.frame.shape == (2, 3_000)
    assert table.frame.iloc[1].eq(2).all()


def test_a_wide_header_over_the_column_limit_says_so_not_duplicate(tmp_path: Path) -> None:
    # Given the reported case: 12,000 names 'column_i' (a 64 kB cut made 'column_555' twice)
    path = tmp_path / "wide.csv"
    n = 12_000
    path.write_text(",".join(f"column_{i}" for i in range(n)) + "\n" + ",".join("1" * n) + "\n")

    error = _refusal(path)

    assert error.message == "wide.csv has 12,000 columns, more than the limit of 10,000."


def test_a_first_line_longer_than_any_header_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_checks, "MAX_HEADER_BYTES", 100_000)
    path = tmp_path / "one_line.csv"
    path.write_text("x" * 300_000)

    error = _refusal(path)

    assert error.message.startswith("The first line of one_line.csv is longer than 0.1 MB")
