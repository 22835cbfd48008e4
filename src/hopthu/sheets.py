"""Spreadsheets we write hold text as text: a cell that starts with `=` never becomes a formula.

openpyxl turns any string beginning with `=` into a formula, so a person's or an agency's name such as
`=HYPERLINK("http://…","Bấm")` written into the temporary-password workbook or a report would run in
the reader's spreadsheet program (formula injection). Every workbook we make passes through
`text_only` before it is saved; the value itself is kept exactly as written.
"""

from __future__ import annotations

from typing import Any


def text_only(book: Any) -> Any:
    """The same workbook with every formula cell made a plain string cell; returns it for chaining."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return book
