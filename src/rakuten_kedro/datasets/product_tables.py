"""Reading tables of products, for training and for prediction alike, trusting nothing.

Every table of products the project reads (the raw training and test files in either layout,
the new products of ``predict``) goes through these functions, so a file is read the same way
whatever it is for, and each defect gets one message naming the file and the row or column:

- text is UTF-8 (a BOM is allowed); lines that are not stop the run, or with
  ``non_utf8_lines="windows-1252"`` only their invalid bytes are read as Windows-1252, with a
  warning naming them (a valid UTF-8 line is never decoded twice);
- ids are exact integers, as written: no scientific notation, decimals or 64-bit overflow;
- a product (``productid`` + ``imageid``) appears once;
- a text field that swallowed whole records (an unclosed quote) is refused.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from kedro.io import DatasetError

logger = logging.getLogger(__name__)

#: How to treat lines that are not UTF-8 (``data.non_utf8_lines``).
NON_UTF8_POLICIES = ("error", "windows-1252")
ID_COLUMNS = ("row_id", "productid", "imageid")
SHOWN = 5  # how many offending rows or lines a message lists
_BOM = b"\xef\xbb\xbf"
_INT64 = np.iinfo(np.int64)
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_SCIENTIFIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")
_SEPARATOR_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}


def check_policy(non_utf8_lines: str) -> None:
    """Refuse an unknown ``data.non_utf8_lines`` value when the dataset is configured."""
    if non_utf8_lines not in NON_UTF8_POLICIES:
        raise DatasetError(
            f"data.non_utf8_lines must be one of {list(NON_UTF8_POLICIES)}, not {non_utf8_lines!r}."
        )


# -- text --------------------------------------------------------------------------------------


class _BadLine(NamedTuple):
    number: int  # 1-based line of the file
    offset: int  # byte offset in the file of the first byte that is not UTF-8
    excerpt: str


def decode_table_text(path: Path, non_utf8_lines: str = "error") -> str:
    """The file's text: UTF-8 (BOM allowed); lines that are not, as ``non_utf8_lines`` says.

    Args:
        path: The table file.
        non_utf8_lines: ``error`` stops, naming the first lines and byte offsets;
            ``windows-1252`` reads only the invalid bytes of those lines as Windows-1252.

    Returns:
        The decoded text, line ends kept.

    Raises:
        DatasetError: Lines are not UTF-8 (``error``), or hold bytes that Windows-1252 does
            not define either.
    """
    data = path.read_bytes()
    start = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines, bad, offset = [], [], start
    for number, line in enumerate(data[start:].split(b"\n"), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            bad.append(_BadLine(number, offset + error.start, _excerpt(line, error.start)))
            if non_utf8_lines == "windows-1252":
                lines.append(_decode_with_windows_1252_fallback(line, path, number, offset))
        offset += len(line) + 1
    shown = "; ".join(f"line {b.number} (byte {b.offset}): {b.excerpt}" for b in bad[:SHOWN])
    if non_utf8_lines != "windows-1252":
        raise DatasetError(
            f"{path} is not UTF-8 on {len(bad)} line(s): {shown}. Convert the file to UTF-8 "
            "(e.g. iconv -f WINDOWS-1252 -t UTF-8), or read only those lines as Windows-1252: "
            '--params "data.non_utf8_lines=windows-1252".'
        )
    logger.warning(
        "%s: %d line(s) are not UTF-8; their invalid bytes were read as Windows-1252 "
        "(data.non_utf8_lines): %s",
        path,
        len(bad),
        shown,
    )
    return "\n".join(lines)


def _excerpt(line: bytes, position: int, width: int = 30) -> str:
    """The bytes around ``position``, undecodable ones shown as ``\\xe9``."""
    around = line[max(0, position - width) : position + width]
    return "'" + around.decode("utf-8", errors="backslashreplace").rstrip("\r") + "'"


def _decode_with_windows_1252_fallback(line: bytes, path: Path, number: int, offset: int) -> str:
    """UTF-8, except the byte runs that are not UTF-8: those are read as Windows-1252."""
    parts, position = [], 0
    while True:
        try:
            parts.append(line[position:].decode("utf-8"))
            return "".join(parts)
        except UnicodeDecodeError as error:
            start, end = position + error.start, position + error.end
            parts.append(line[position:start].decode("utf-8"))
            try:
                parts.append(line[start:end].decode("cp1252"))
            except UnicodeDecodeError as undefined:
                byte = line[start + undefined.start]
                raise DatasetError(
                    f"{path}: line {number} (byte {offset + start + undefined.start}) holds "
                    f"byte 0x{byte:02X}, which is neither UTF-8 nor Windows-1252: "
                    f"{_excerpt(line, start)}. The file is in another encoding; convert it "
                    "to UTF-8."
                ) from undefined
            position = end


# -- tables ------------------------------------------------------------------------------------


def read_table(path: Path, *, separator: str, non_utf8_lines: str = "error") -> pd.DataFrame:
    """Every cell of a delimited table as written (strings; empty cells are NaN).

    Args:
        path: The file.
        separator: ``,`` or ``\\t``.
        non_utf8_lines: See :func:`decode_table_text`.

    Returns:
        The table, one column per header field, in file order.

    Raises:
        DatasetError: The file is empty, not UTF-8, not a table, or uses another separator.
    """
    if path.stat().st_size == 0:
        raise DatasetError(f"{path} is empty (0 bytes).")
    text = decode_table_text(path, non_utf8_lines)
    expected = _SEPARATOR_NAMES.get(separator, repr(separator))
    try:
        # header=None: a record with more fields than the header is an error, never an index.
        table = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError as error:
        raise DatasetError(f"{path} holds no header line (blank file).") from error
    except pd.errors.ParserError as error:
        hint = _other_separator_hint(text, separator) or (
            ' A quote (") that opens a field is never closed: double a quote that belongs to '
            'the text ("").'
            if "EOF inside string" in str(error)
            else ""
        )
        raise DatasetError(
            f"{path} cannot be read as a {expected}-separated table: {str(error).strip()}.{hint}"
        ) from error
    header = [
        name if isinstance(name, str) else f"Unnamed: {i}" for i, name in enumerate(table.iloc[0])
    ]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DatasetError(f"{path}: the header names column(s) {repeated} more than once.")
    table = table.iloc[1:].set_axis(header, axis=1).reset_index(drop=True)
    if len(table.columns) == 1:
        hint = _other_separator_hint(text, separator)
        if hint:
            raise DatasetError(f"{path} has a single column {list(table.columns)}.{hint}")
    return table


def _other_separator_hint(text: str, separator: str) -> str:
    header = text.split("\n", 1)[0]
    for other, name in _SEPARATOR_NAMES.items():
        if other != separator and header.count(other) > header.count(separator):
            expected = _SEPARATOR_NAMES.get(separator, repr(separator))
            return f" Its header looks {name}-separated; this file must be {expected}-separated."
    return ""


def integer_column(values: pd.Series, column: str, path: Path) -> pd.Series:
    """The cells of an id or label column as int64, if every one is an exact integer.

    Args:
        values: The cells as written (strings, NaN when empty).
        column: The column's name, for the message.
        path: The file, for the message.

    Returns:
        The integers, same index.

    Raises:
        DatasetError: Naming the data rows and the raw values that are empty, in scientific
            notation, decimal, outside the 64-bit range, or not numbers.
    """
    as_written = values.fillna("").astype(str).reset_index(drop=True)
    problems = as_written.str.strip().map(_integer_problem)
    bad = problems[problems != ""]
    if not bad.empty:
        rows = ", ".join(
            f"data row {position + 1}: {as_written[position]!r} ({problem})"
            for position, problem in bad.head(SHOWN).items()
        )
        raise DatasetError(
            f"{path}: column {column!r} must hold integers; {len(bad)} value(s) are not ({rows})."
        )
    return pd.Series(as_written.str.strip().map(int).to_numpy(dtype=np.int64), index=values.index)


def _integer_problem(written: str) -> str:
    """Why ``written`` is not an exact int64, or ``""``."""
    if not written:
        return "empty"
    if _WHOLE_NUMBER.fullmatch(written):
        return "" if _INT64.min <= int(written) <= _INT64.max else "outside the 64-bit range"
    if _SCIENTIFIC.fullmatch(written):
        return "scientific notation: a spreadsheet rounded it; store ids as text"
    if _DECIMAL.fullmatch(written):
        return "a decimal number"
    return "not a number"


def require_unique(table: pd.DataFrame, column: str, path: Path) -> None:
    """Refuse a column (e.g. ``row_id``) whose values repeat, naming them."""
    duplicated = table.loc[table[column].duplicated(keep=False), column]
    if not duplicated.empty:
        values = sorted(set(duplicated.tolist()))[:SHOWN]
        raise DatasetError(
            f"{path}: {duplicated.nunique()} duplicate {column} value(s), e.g. {values}; "
            "each product must appear once."
        )


# -- products ----------------------------------------------------------------------------------


def products_from_table(
    table: pd.DataFrame, path: Path, columns: Mapping[str, str], separator: str
) -> pd.DataFrame:
    """The products of a table read by :func:`read_table`, validated, columns normalised.

    Args:
        table: The cells as written.
        path: The file, for messages.
        columns: Source column → normalised name (``row_id``, ``productid``, ``imageid``,
            ``title``, ``description``); ``title`` is required. A missing ``row_id`` becomes
            the data row's position, missing ``productid``/``imageid`` become ``-1``, a
            missing ``description`` becomes empty.
        separator: The file's separator (to recognise records swallowed by a quote).

    Returns:
        ``row_id, productid, imageid, title, description`` (ids int64, texts str).
    """
    if table.empty:
        raise DatasetError(f"{path} has a header but no products.")
    _refuse_swallowed_records(table, path, columns, separator)
    products = table.rename(columns=dict(columns))
    for column in ID_COLUMNS:
        if column in products.columns:
            products[column] = integer_column(products[column], column, path)
    defaults = {
        "row_id": np.arange(len(products), dtype=np.int64),
        "productid": -1,
        "imageid": -1,
        "description": "",
    }
    for column, default in defaults.items():
        if column not in products.columns:
            products[column] = default
    require_unique(products, "row_id", path)
    _require_unique_products(products, path)
    for column in ("title", "description"):
        products[column] = products[column].fillna("").astype(str)
    return products[[*ID_COLUMNS, "title", "description"]].reset_index(drop=True)


def _require_unique_products(products: pd.DataFrame, path: Path) -> None:
    """The same product twice could land in both training and validation: refuse it."""
    known = products[(products["productid"] != -1) | (products["imageid"] != -1)]
    repeated = known[known.duplicated(["productid", "imageid"], keep=False)]
    if repeated.empty:
        return
    groups = repeated.groupby(["productid", "imageid"], sort=False)
    shown = "; ".join(
        f"productid {productid}, imageid {imageid}: data rows "
        + ", ".join(str(position + 1) for position in group.index)
        + " (row_id "
        + ", ".join(str(row_id) for row_id in group["row_id"])
        + ")"
        for (productid, imageid), group in list(groups)[:SHOWN]
    )
    raise DatasetError(
        f"{path}: {groups.ngroups} product(s) appear more than once ({shown}). A product "
        "listed twice could land in both training and validation; keep one row each."
    )


def _all_integers(fields: list[str]) -> bool:
    return all(_WHOLE_NUMBER.fullmatch(field.strip()) for field in fields)


class _RecordShape(NamedTuple):
    """How a record of a table looks at its two ends, to recognise one inside a text field."""

    separator: str
    width: int  # fields per record
    first_is_id: bool  # the record starts with its row id
    trailing: int  # id columns after the last text column

    def ends_a_record(self, line: str) -> bool:
        """``line`` ends with text then the trailing id columns (the rest of its own record)."""
        fields = line.split(self.separator)
        return len(fields) > self.trailing and _all_integers(self.tail(fields))

    def starts_a_record(self, line: str, after: float, before: float) -> bool:
        """``line`` starts with a row id that the table skips between ``after`` and ``before``."""
        first, *rest = line.split(self.separator, 1)
        return bool(rest) and _all_integers([first]) and after < int(first) < before

    def is_a_record(self, line: str, known_tails: set[tuple[str, ...]]) -> bool:
        """``line`` has a record's width and trailing ids that no row of the table has."""
        fields = line.split(self.separator)
        tail = self.tail(fields)
        return (
            len(fields) >= self.width
            and _all_integers(tail)
            and tuple(f.strip() for f in tail) not in known_tails
        )

    def tail(self, fields: list[str]) -> list[str]:
        return fields[len(fields) - self.trailing :]

    def swallowed_record(
        self, cell: str, after: float, before: float, known_tails: set[tuple[str, ...]]
    ) -> str | None:
        """The first line of ``cell`` that is another record read into it, if any.

        Args:
            cell: A multi-line text field of the row.
            after: The row's id (a record swallowed after it has a larger one).
            before: The next row's id (the swallowed records' ids are smaller).
            known_tails: The trailing ids of every row (tables without a row id column).
        """
        own, *later = (line.rstrip("\r") for line in cell.split("\n"))
        if self.trailing and not self.ends_a_record(own):
            return None
        if self.first_is_id:
            return next((line for line in later if self.starts_a_record(line, after, before)), None)
        return next((line for line in later if self.is_a_record(line, known_tails)), None)


def _refuse_swallowed_records(
    table: pd.DataFrame, path: Path, columns: Mapping[str, str], separator: str
) -> None:
    """Refuse a text field holding whole records: the mark of a quote that is never closed.

    A quote that opens a field and is never closed makes the parser read the following lines
    into that field, up to the next quote in the file, silently when the fields after that
    quote happen to line up. Such a field runs over several lines; its first line ends with
    the rest of its own record (the trailing id columns), and a later line starts with a row
    id the table skips right there (or, without a row id column, is a whole record whose ids
    no row has). An ordinary multi-line description does not look like that.
    """
    header = list(table.columns)
    is_id = [columns.get(name) in ID_COLUMNS for name in header]
    trailing = is_id[::-1].index(False) if False in is_id else 0
    shape = _RecordShape(separator, len(header), columns.get(header[0]) == "row_id", trailing)
    if not shape.first_is_id and not trailing:
        return  # nothing tells a record from text
    # Ids around each row (unknown: no bound), between which a swallowed record's id lies.
    row_ids = pd.to_numeric(table[header[0]], errors="coerce").to_numpy(dtype=float)
    after = np.nan_to_num(row_ids, nan=-np.inf)
    before = np.nan_to_num(np.append(row_ids[1:], np.nan), nan=np.inf)
    known_tails = set(
        table[shape.tail(header)].fillna("").astype(str).itertuples(index=False, name=None)
    )
    for name in (name for name, flag in zip(header, is_id, strict=True) if not flag):
        cells = table[name].reset_index(drop=True).dropna()
        for position, cell in cells[cells.str.contains("\n", regex=False)].items():
            low, high = sorted((after[position], before[position]))
            record = shape.swallowed_record(cell, low, high, known_tails)
            if record is not None:
                row = f"data row {position + 1}"
                if shape.first_is_id:
                    row += f" (row_id {table.iloc[position, 0]})"
                raise _swallowed_records_error(path, row, name, cell, record)


def _swallowed_records_error(
    path: Path, row: str, column: str, cell: str, record: str
) -> DatasetError:
    return DatasetError(
        f"{path}: {row}: its {column!r} runs over {cell.count(chr(10)) + 1} lines and holds "
        f'what looks like the start of another record ({record[:60]!r}): the quote (") that '
        f"opens this field, before {cell[:30]!r}, is never closed, so the lines after it were "
        'read into it. Close or remove that quote (a quote inside a text is written twice: "").'
    )
