"""read_table: every supported format, and a plain message (with a fix) for each bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlstudio.data.readers import read_table
from dlstudio.errors import DataError


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def write_excel(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, frame in sheets.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    return path


def read_error(path: Path, **options: object) -> DataError:
    with pytest.raises(DataError) as caught:
        read_table(path, **options)  # type: ignore[arg-type]
    return caught.value


# --- delimited text -------------------------------------------------------------------------


def test_comma_file_reads_numbers_and_text(tmp_path: Path) -> None:
    path = write(tmp_path, "sales.csv", "region,amount\nnorth,12.5\nsouth,3\n")

    table = read_table(path)

    assert table.frame["region"].tolist() == ["north", "south"]
    assert table.frame["amount"].tolist() == [12.5, 3.0]
    assert table.source == path.resolve()
    assert table.notes == ()


def test_cp1252_file_keeps_accents_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "cities.csv", "city,drink\nZürich,café\nMünchen,thé\n", "cp1252")

    table = read_table(path)

    assert table.frame["city"].tolist() == ["Zürich", "München"]
    assert table.frame["drink"].tolist() == ["café", "thé"]
    assert table.notes == ("Read as cp1252 text.",)


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.csv", b"name,code\nA\x81,1\nB,2\n")

    table = read_table(path)

    assert table.frame["name"].tolist() == ["A\x81", "B"]
    assert table.notes == ("Read as latin-1 text.",)


def test_semicolon_file_with_decimal_commas_gives_floats(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.csv", "item;price;qty\napple;12,5;3\npear;0,75;10\n")

    table = read_table(path)

    assert table.frame["price"].tolist() == [12.5, 0.75]
    assert table.frame["qty"].tolist() == [3, 10]
    assert table.notes == ("Columns separated by ';' with ',' as decimal mark.",)


def test_tab_separated_file(tmp_path: Path) -> None:
    path = write(tmp_path, "scores.tsv", "name\tscore\nAnna\t7\nBen\t9\n")

    table = read_table(path)

    assert list(table.frame.columns) == ["name", "score"]
    assert table.frame["score"].tolist() == [7, 9]
    assert table.notes == ("Columns separated by tabs.",)


def test_pipe_separated_txt_file(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", "id|city\n1|Oslo\n2|Rome\n")

    table = read_table(path)

    assert table.frame["city"].tolist() == ["Oslo", "Rome"]
    assert table.notes == ("Columns separated by '|'.",)


def test_utf8_bom_does_not_leak_into_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "excel.csv", "\ufeffcustomer,total\nA,1\n")

    table = read_table(path)

    assert list(table.frame.columns) == ["customer", "total"]
    assert table.notes == ()


def test_quoted_values_may_contain_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", 'name,age\n"Smith, John",40\n"Doe, Jane",31\n')

    table = read_table(path)

    assert table.frame["name"].tolist() == ["Smith, John", "Doe, Jane"]


def test_column_names_are_stripped(tmp_path: Path) -> None:
    path = write(tmp_path, "spaced.csv", " region , amount\nnorth,1\n")

    assert list(read_table(path).frame.columns) == ["region", "amount"]


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "SALES.CSV", "a,b\n1,2\n")

    assert read_table(path).frame.shape == (1, 2)


def test_single_column_file_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "names.csv", "name\nAnna\nBen\n")

    assert read_table(path).frame["name"].tolist() == ["Anna", "Ben"]


# --- bad delimited text ---------------------------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nowhere.csv")

    assert "File not found" in error.message
    assert "nowhere.csv" in error.message


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "blank.csv", b""))

    assert error.message == "blank.csv is empty."
    assert error.fix is not None and "header row" in error.fix


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "spaces.csv", "  \n\n \t\n"))

    assert error.message == "spaces.csv is empty."


def test_header_only_file_says_no_rows(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "header.csv", "region,amount\n"))

    assert error.message == "header.csv has column names ('region', 'amount') but no rows of data."
    assert error.fix is not None and "Add at least one row" in error.fix


def test_binary_file_renamed_csv_is_not_a_text_table(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))

    assert "does not look like a text table" in error.message
    assert error.fix is not None and "CSV" in error.fix


def test_xlsx_renamed_csv_says_what_it_is(tmp_path: Path) -> None:
    workbook = write_excel(tmp_path / "book.xlsx", {"Sales": pd.DataFrame({"a": [1]})})
    renamed = workbook.rename(tmp_path / "book.csv")

    error = read_error(renamed)

    assert "Excel workbook" in error.message
    assert error.fix == "Rename it to book.xlsx and upload it again."


def test_parquet_renamed_csv_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)

    error = read_error(path)

    assert error.message == "data.csv is not a text table: it is a Parquet file."
    assert error.fix == "Rename it to data.parquet and upload it again."


def test_one_column_while_header_has_another_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.csv", "name;age;city\nAnna,31,Oslo\nBen,40,Rome\n")

    error = read_error(path)

    assert "Only one column was found in mixed.csv using ',' as the separator" in error.message
    assert "the file seems to use ';'" in error.message


def test_duplicate_column_names_are_named_with_positions(tmp_path: Path) -> None:
    path = write(tmp_path, "dupes.csv", "id,amount,city,amount\n1,2,Oslo,3\n")

    error = read_error(path)

    assert error.message == "Column name 'amount' appears 2 times in dupes.csv (columns 2 and 4)."
    assert error.fix is not None and "Rename one" in error.fix


def test_names_equal_after_stripping_are_duplicates(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "dupes.csv", "amount, amount \n1,2\n"))

    assert "'amount' appears 2 times" in error.message


def test_file_larger_than_limit_gives_size_limit_and_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "a,b\n" + "1,2\n" * 400_000)  # 1.53 MB

    error = read_error(path, max_bytes=1024 * 1024)

    assert error.message == "big.csv is 1.53 MB, larger than the limit of 1 MB."
    assert error.fix is not None and "DLSTUDIO_MAX_UPLOAD_MB" in error.fix


def test_size_limit_defaults_to_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_MAX_UPLOAD_MB", "1")
    path = write(tmp_path, "big.csv", "a,b\n" + "1,2\n" * 400_000)

    error = read_error(path)

    assert "limit of 1 MB" in error.message


def test_row_with_an_extra_value_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", "a,b\n1,2\n3,4\n5,6,7\n")

    error = read_error(path)

    assert error.message == "Line 4 of ragged.csv has 3 values, but the header has 2 columns."


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "quote.csv", 'a,b\n1,2\n3,"4\n5,6\n')

    error = read_error(path)

    assert error.message == 'A quote (") opened on line 3 of quote.csv is never closed.'


def test_header_shorter_than_rows_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "short.csv", "a,b\n1,2,3\n4,5,6\n")

    error = read_error(path)

    assert "has 2 column names, but the row below it has 3 values" in error.message


def test_sheet_for_a_csv_file_is_refused(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "a.csv", "a\n1\n"), sheet="Sales")

    assert "a.csv is not an Excel workbook" in error.message


def test_old_xls_is_refused_with_supported_formats(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0rest"))

    assert ".xlsx" in error.message and ".csv" in error.message and ".parquet" in error.message
    assert error.fix == "Open it in Excel and save it as .xlsx or CSV."


def test_unknown_extension_names_supported_formats(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "data.json", "{}"))

    assert "unsupported file type '.json'" in error.message
    assert ".csv, .tsv, .txt" in error.message


# --- Excel ----------------------------------------------------------------------------------


def test_xlsx_uses_first_sheet_and_notes_the_others(tmp_path: Path) -> None:
    path = write_excel(
        tmp_path / "book.xlsx",
        {
            "Sales": pd.DataFrame({"region": ["north"], "amount": [5]}),
            "Q2": pd.DataFrame({"x": [1]}),
            "Notes": pd.DataFrame({"text": ["hi"]}),
        },
    )

    table = read_table(path)

    assert table.frame.to_dict("list") == {"region": ["north"], "amount": [5]}
    assert table.notes == (
        "Used sheet 'Sales'; the file also has sheets 'Q2', 'Notes' (choose one with data.sheet).",
    )


def test_xlsx_named_sheet_is_read(tmp_path: Path) -> None:
    path = write_excel(
        tmp_path / "book.xlsx",
        {"Sales": pd.DataFrame({"a": [1]}), "Q2": pd.DataFrame({"x": [7, 8]})},
    )

    table = read_table(path, sheet="Q2")

    assert table.frame["x"].tolist() == [7, 8]
    assert table.notes == ("Used sheet 'Q2'.",)


def test_xlsx_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_excel(
        tmp_path / "book.xlsx",
        {"Sales": pd.DataFrame({"a": [1]}), "Q2": pd.DataFrame({"x": [1]})},
    )

    error = read_error(path, sheet="sales")

    assert error.message == "book.xlsx has no sheet named 'sales'."
    assert error.fix == "Did you mean 'Sales'? Its sheets are: 'Sales', 'Q2'."


def test_xlsx_empty_sheet_is_refused(tmp_path: Path) -> None:
    path = write_excel(tmp_path / "book.xlsx", {"Blank": pd.DataFrame()})

    error = read_error(path)

    assert error.message == "Sheet 'Blank' in book.xlsx is empty."


def test_xlsx_sheet_with_header_only_says_no_rows(tmp_path: Path) -> None:
    path = write_excel(tmp_path / "book.xlsx", {"Sales": pd.DataFrame({"a": [], "b": []})})

    error = read_error(path)

    assert (
        error.message
        == "book.xlsx (sheet 'Sales') has column names ('a', 'b') but no rows of data."
    )


def test_xlsm_duplicate_headers_are_named(tmp_path: Path) -> None:
    frame = pd.DataFrame([[1, 2]], columns=["amount", "amount "])
    path = write_excel(tmp_path / "book.xlsm", {"Sales": frame})

    error = read_error(path)

    assert (
        "'amount' appears 2 times in book.xlsm (sheet 'Sales') (columns 1 and 2)" in error.message
    )


def test_corrupt_xlsx_cannot_be_opened(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "broken.xlsx", b"PK\x03\x04" + b"garbage" * 20))

    assert error.message.startswith("broken.xlsx cannot be opened as an Excel workbook (")
    assert error.fix is not None and "export or save it again" in error.fix


def test_csv_renamed_xlsx_cannot_be_opened(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "table.xlsx", "a,b\n1,2\n"))

    assert "cannot be opened as an Excel workbook" in error.message
    assert error.fix is not None and "rename it to .csv" in error.fix


# --- Parquet --------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"name": ["a", "b"], "amount": [1.5, 2.0], "day": pd.to_datetime(["2024-01-01", None])}
    )
    frame.to_parquet(tmp_path / "data.PQ")

    table = read_table(tmp_path / "data.PQ")

    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False)


def test_corrupt_parquet_cannot_be_opened(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "broken.parquet", b"PAR1" + b"\x00" * 50))

    assert error.message.startswith("broken.parquet cannot be opened as a Parquet file (")
    assert "magic bytes" in error.message
