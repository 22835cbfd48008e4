"""Lists of requests about existing mailboxes (R10.3): change, delete, lock, restore and reset the
password of many mailboxes from one spreadsheet (.xlsx) or .csv, as agencies send them.

Each row names a mailbox and what its kind of request needs: the new agency and/or the new name for a
change, the regulation's reason (its code, `transferred`, or its Vietnamese words) and the document
behind it for delete, lock and restore, nothing more for a password reset. Headers are read in
Vietnamese or English, in any order. A list is bounded (`MAX_ROWS`, `MAX_BYTES`) and read as a stream:
a larger one is refused before it is held.

The templates are made here, one per kind and format, with the headers and one example row; the
example row is recognised when it comes back and named as a problem, never filed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from hopthu.errors import HopThuError
from hopthu.policy import lifecycle
from hopthu.sheets import read_table, text_only
from hopthu.text import fold

KINDS: Final = ("change", "delete", "lock", "restore", "reset_password")
MAX_ROWS: Final = 20_000
MAX_BYTES: Final = 8 * 1024 * 1024
_MAX_COLUMNS: Final = 16  # cells read per row: a row a million cells wide costs nothing
EXAMPLE_NOTE: Final = "Dòng ví dụ, xóa trước khi gửi"

# Each kind's columns, in the template's order: (field, Vietnamese header, example value).
COLUMNS: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "change": (
        ("address", "Địa chỉ thư", "nvminh"),
        ("agency", "Mã cơ quan mới", "sotc"),
        ("family", "Họ mới", ""),
        ("middle", "Tên đệm mới", ""),
        ("given", "Tên mới", ""),
        ("reason", "Lý do", "transferred"),
        ("ref", "Số văn bản", "123/QĐ-SNV"),
        ("note", "Ghi chú", EXAMPLE_NOTE),
    ),
    "delete": (
        ("address", "Địa chỉ thư", "nvminh"),
        ("reason", "Lý do", "left"),
        ("ref", "Số văn bản", "45/QĐ-SNV"),
        ("note", "Ghi chú", EXAMPLE_NOTE),
    ),
    "lock": (
        ("address", "Địa chỉ thư", "nvminh"),
        ("reason", "Lý do", "security_warning"),
        ("ref", "Số văn bản", "12/CV-CA"),
        ("note", "Ghi chú", EXAMPLE_NOTE),
    ),
    "restore": (
        ("address", "Địa chỉ thư", "nvminh"),
        ("reason", "Lý do", "requested"),
        ("ref", "Số văn bản", "56/CV-SNV"),
        ("note", "Ghi chú", EXAMPLE_NOTE),
    ),
    "reset_password": (
        ("address", "Địa chỉ thư", "nvminh"),
        ("note", "Ghi chú", EXAMPLE_NOTE),
    ),
}
_FIELDS: Final = ("address", "agency", "family", "middle", "given", "reason", "ref", "note")
_ALIASES: Final = {
    "dia chi": "address",
    "dia chi thu": "address",
    "email": "address",
    "hop thu": "address",
    "ma co quan moi": "agency",
    "co quan moi": "agency",
    "ma co quan": "agency",
    "co quan": "agency",
    "new agency": "agency",
    "ho moi": "family",
    "ho": "family",
    "new family": "family",
    "ten dem moi": "middle",
    "ten dem": "middle",
    "new middle": "middle",
    "ten moi": "given",
    "ten": "given",
    "new given": "given",
    "ly do": "reason",
    "so van ban": "ref",
    "van ban": "ref",
    "can cu": "ref",
    "document": "ref",
    "ghi chu": "note",
}
# A reason may be written as the regulation words it (`cá nhân chuyển công tác`) or by its code.
_REASONS: Final = {fold(reason.vi): reason.value for reason in lifecycle.Reason}


@dataclass(frozen=True, slots=True)
class ActRow:
    """One row of a list: the mailbox and what the request about it says."""

    line: int
    address: str
    reason: str = ""
    ref: str = ""
    agency: str = ""
    family: str = ""
    middle: str = ""
    given: str = ""
    note: str = ""

    @property
    def example(self) -> bool:
        """The template's example row, come back unchanged."""
        return self.note == EXAMPLE_NOTE


def read_acts(kind: str, data: bytes, filename: str) -> list[ActRow]:
    """The rows of a list of `kind` requests (.xlsx or .csv by its name); refused whole when it is
    too large, unreadable or lacks a column its kind needs."""
    if kind not in KINDS:
        raise HopThuError(f"Loại danh sách không hợp lệ: {kind}", f"Unknown kind of list: {kind}")
    if len(data) > MAX_BYTES:
        raise TooLarge.bytes()
    return read_table(data, filename, lambda lines: _rows(kind, lines), max_columns=_MAX_COLUMNS)


class TooLarge(HopThuError):
    @classmethod
    def bytes(cls) -> TooLarge:
        megabytes = MAX_BYTES // (1024 * 1024)
        return cls(f"Tệp danh sách lớn hơn {megabytes} MB", f"The list file is larger than {megabytes} MB")

    @classmethod
    def rows(cls) -> TooLarge:
        return cls(
            f"Danh sách có hơn {MAX_ROWS} dòng; hãy chia thành nhiều tệp",
            f"The list has more than {MAX_ROWS} rows; split it into several files",
        )


def _column(header: Any) -> str | None:
    name = " ".join(fold(str(header or "")).replace("_", " ").split())
    return name if name in _FIELDS else _ALIASES.get(name)


def _rows(kind: str, table: Iterable[Iterable[Any]]) -> list[ActRow]:
    lines: Iterator[Iterable[Any]] = iter(table)
    try:
        header = [_column(cell) for cell in list(next(lines))[:_MAX_COLUMNS]]
    except StopIteration:
        raise HopThuError("Tệp trống", "The file is empty") from None
    needed = [field for field, _, _ in COLUMNS[kind] if field in ("address", "reason")]
    missing = [field for field in needed if field not in header]
    if missing:
        raise HopThuError(f"Thiếu cột: {', '.join(missing)}", f"Missing columns: {', '.join(missing)}")
    wanted = {field for field, _, _ in COLUMNS[kind]}
    rows: list[ActRow] = []
    for number, cells in enumerate(lines, start=2):
        values = {
            field: _text(value)
            for field, value in zip(header, cells, strict=False)
            if field in wanted and value is not None
        }
        if not any(values.values()):
            continue
        if len(rows) == MAX_ROWS:
            raise TooLarge.rows()
        reason = values.get("reason", "")
        rows.append(
            ActRow(
                line=number,
                address=values.get("address", "").lower(),
                reason=_REASONS.get(fold(reason), reason.lower()),
                ref=values.get("ref", ""),
                agency=values.get("agency", "").lower(),
                family=values.get("family", ""),
                middle=values.get("middle", ""),
                given=values.get("given", ""),
                note=values.get("note", ""),
            )
        )
    if not rows:
        raise HopThuError("Danh sách không có dòng nào", "The list has no rows")
    return rows


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:500]


def template(kind: str, fmt: str) -> bytes:
    """The file an agency fills in for a list of `kind`: the headers `read_acts` reads and one
    example row (recognised and refused if it is sent back as it is)."""
    if kind not in KINDS or fmt not in ("xlsx", "csv"):
        raise HopThuError("Không có tệp mẫu này", "No such template")
    headers = [header for _, header, _ in COLUMNS[kind]]
    example = [value for _, _, value in COLUMNS[kind]]
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerow(example)
        return out.getvalue().encode("utf-8-sig")  # with its mark, so a spreadsheet opens it as UTF-8
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append(headers)
    sheet.append(example)
    for cell in sheet[1]:
        sheet.column_dimensions[cell.column_letter].width = max(14, len(str(cell.value)) + 4)
    out_bytes = io.BytesIO()
    text_only(book).save(out_bytes)
    return out_bytes.getvalue()


def template_name(kind: str, fmt: str) -> str:
    return f"mau-danh-sach-{kind.replace('_', '-')}.{fmt}"
