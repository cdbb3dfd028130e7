"""product_tables: the one way product tables are read (training files and new products)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets.product_tables import (
    decode_table_text,
    integer_column,
    products_from_table,
    read_table,
)

COLUMNS = {"Unnamed: 0": "row_id", "designation": "title", "productid": "productid"}


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    return path


def test_integer_column_takes_exact_int64_values_only():
    ok = pd.Series([" 12 ", "+5", "-1", "-9223372036854775808", "9223372036854775807"])
    assert integer_column(ok, "productid", Path("t.csv")).tolist() == [
        12, 5, -1, -9223372036854775808, 9223372036854775807,
    ]  # fmt: skip
    bad = pd.Series(["1", None, "1E3", ".5", "9223372036854775808", "A-17"])
    with pytest.raises(DatasetError) as error:
        integer_column(bad, "productid", Path("t.csv"))
    assert str(error.value) == (
        "t.csv: column 'productid' must hold integers; 5 value(s) are not ("
        "data row 2: '' (empty), "
        "data row 3: '1E3' (scientific notation: a spreadsheet rounded it; store ids as text), "
        "data row 4: '.5' (a decimal number), "
        "data row 5: '9223372036854775808' (outside the 64-bit range), "
        "data row 6: 'A-17' (not a number))."
    )


def test_only_the_bytes_that_are_not_utf8_are_read_as_windows_1252(tmp_path: Path):
    # On one line: "été " in UTF-8, then "été €" in Windows-1252; each is read as written.
    path = write(tmp_path, "a\nété ".encode() + b"\xe9t\xe9 \x80\r\nz")
    assert decode_table_text(path, "windows-1252") == "a\nété été €\r\nz"


def test_offsets_count_the_bom(tmp_path: Path):
    path = write(tmp_path, b"\xef\xbb\xbfa\nb\xe9\n")
    with pytest.raises(DatasetError, match=r"line 2 \(byte 6\): 'b\\xe9'"):
        decode_table_text(path)


def test_a_record_with_more_fields_than_the_header_is_refused(tmp_path: Path):
    # An unquoted comma in a title: pandas would otherwise take the first column as an index.
    path = write(tmp_path, b",designation,productid\n0,Lampe, rouge,12\n1,Vase,13\n")
    with pytest.raises(
        DatasetError,
        match=r"table.csv cannot be read as a comma-separated table: .*Expected 3 fields in "
        r"line 2, saw 4",
    ):
        read_table(path, separator=",")


def test_a_quote_never_closed_up_to_the_end_of_the_file_is_named(tmp_path: Path):
    path = write(tmp_path, b',designation,productid\n0,"Lampe,12\n1,Vase,13\n')
    with pytest.raises(DatasetError, match=r"EOF inside string.*A quote \(\"\) that opens a field"):
        read_table(path, separator=",")


def test_products_from_a_table_without_ids_get_positions_and_no_duplicate_check(tmp_path):
    path = write(tmp_path, b"designation\nLampe\nLampe\n")
    products = products_from_table(read_table(path, separator=","), path, COLUMNS, ",")
    assert products["row_id"].tolist() == [0, 1]
    assert products["productid"].tolist() == [-1, -1] and products["description"].eq("").all()
