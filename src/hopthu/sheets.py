"""Spreadsheets we write hold text as text: a cell that starts with `=` never becomes a formula.

openpyxl turns any string beginning with `=` into a formula, so a person's or an agency's name such as
`=HYPERLINK("http://…","Bấm")` written into the temporary-password workbook or a report would run in
the reader's spreadsheet program (formula injection). Every workbook we make passes through
`text_only` before it is saved; the value itself is kept exactly as written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from hopthu.errors import HopThuError

T = TypeVar("T")


def text_only(book: Any) -> Any:
    """The same workbook with every formula cell made a plain string cell; returns it for chaining."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return book


def read_table(
    data: bytes, filename: str, rows: Callable[[Iterable[Sequence[Any]]], T], *, max_columns: int
) -> T:
    """What `rows` makes of the lines of an uploaded list, a .csv (UTF-8) or .xlsx file by its name:
    it gets them lazily, so it bounds how many it reads and its own refusals pass through; a file of
    another kind, or one that cannot be read (a damaged sheet fails only once it is read), is refused
    in both languages."""
    name = filename.lower()
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HopThuError("Tệp CSV phải mã hóa UTF-8", "The CSV file must be UTF-8 encoded") from None
        try:
            return rows(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            raise HopThuError("Không đọc được tệp CSV", "The CSV file cannot be read") from None
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook  # slow to import, needed only for spreadsheets

        unreadable = HopThuError("Không đọc được tệp Excel (.xlsx)", "The Excel file (.xlsx) cannot be read")
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise unreadable from None
        try:
            return rows(book.worksheets[0].iter_rows(max_col=max_columns, values_only=True))
        except HopThuError:
            raise
        except Exception:
            raise unreadable from None
        finally:
            book.close()
    raise HopThuError("Chỉ nhận tệp .xlsx hoặc .csv", "Only .xlsx or .csv files are accepted")
