"""Lists of people from a spreadsheet (.xlsx) or .csv, as agencies send them (R10.3).

Columns, by header name in any order: family, middle, given, agency, rank, date and, optionally,
job_title (Vietnamese headers `họ`, `tên đệm`, `tên`, `cơ quan`, `cấp bậc`, `ngày`, `chức vụ` are
understood too; `title` is the job title). `cấp bậc` is the number that orders leaders (R4.3b);
`chức vụ` is the words the address book shows ("Phó Trưởng phòng"). A row whose cells cannot be
read keeps its line number and a `problem`, so the operator sees every bad row at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hopthu.directory import jobtitle
from hopthu.directory.people import PersonRow
from hopthu.errors import HopThuError
from hopthu.sheets import text_only
from hopthu.text import fold

COLUMNS = ("family", "middle", "given", "agency", "rank", "date", "job_title")
REQUIRED = ("family", "given", "agency")
_ALIASES = {
    "ho": "family",
    "ten dem": "middle",
    "ten lot": "middle",
    "ten": "given",
    "co quan": "agency",
    "ma co quan": "agency",
    "don vi": "agency",
    "cap bac": "rank",
    "thu bac": "rank",
    "chuc vu": "job_title",
    "chuc danh": "job_title",
    "title": "job_title",
    "job title": "job_title",
    "ngay": "date",
    "ngay dang ky": "date",
    "address": "address",
    "dia chi": "address",
}


def read_people(path: Path) -> list[PersonRow]:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise HopThuError(f"Không tìm thấy tệp {path}", f"File not found: {path}")
    if suffix == ".csv":
        return people_from_csv(path.read_bytes())
    if suffix == ".xlsx":
        return people_from_xlsx(path.read_bytes())
    raise HopThuError(
        f"Chỉ nhận tệp .csv hoặc .xlsx, không nhận '{suffix}'",
        f"Only .csv or .xlsx files are accepted, not '{suffix}'",
    )


def people_from_csv(data: bytes) -> list[PersonRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HopThuError("Tệp CSV phải mã hóa UTF-8", "The CSV file must be UTF-8 encoded") from None
    return _rows(csv.reader(io.StringIO(text)))


def people_from_xlsx(data: bytes) -> list[PersonRow]:
    from openpyxl import load_workbook  # imported here: slow to import, needed only for spreadsheets

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise HopThuError(
            "Không đọc được tệp Excel (.xlsx)", "The Excel file (.xlsx) cannot be read"
        ) from None
    try:
        return _rows(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _column(header: Any) -> str | None:
    name = " ".join(fold(str(header or "")).replace("_", " ").split())
    return name if name in (*COLUMNS, "address") else _ALIASES.get(name)


def _rows(table: Iterable[Iterable[Any]]) -> list[PersonRow]:
    lines: Iterator[Iterable[Any]] = iter(table)
    try:
        header = [_column(cell) for cell in next(lines)]
    except StopIteration:
        raise HopThuError("Tệp trống", "The file is empty") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise HopThuError(f"Thiếu cột: {', '.join(missing)}", f"Missing columns: {', '.join(missing)}")
    people = []
    for number, cells in enumerate(lines, start=2):
        values = dict(zip(header, cells, strict=False))
        values.pop(None, None)
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue
        people.append(_person(number, values))
    return people


def _person(line: int, values: dict[str | None, Any]) -> PersonRow:
    text = {k: "" if v is None else str(v).strip() for k, v in values.items() if k}
    problems = []
    rank = 0
    if text.get("rank"):
        try:
            rank = int(float(text["rank"]))
        except ValueError:
            problems.append(f"cấp bậc '{text['rank']}' không phải số / rank is not a number")
    date = None
    raw_date = values.get("date")
    if isinstance(raw_date, dt.datetime):
        date = raw_date.date()
    elif isinstance(raw_date, dt.date):
        date = raw_date
    elif text.get("date"):
        date = _parse_date(text["date"])
        if date is None:
            problems.append(f"ngày '{text['date']}' không đúng dạng YYYY-MM-DD hoặc DD/MM/YYYY / bad date")
    try:
        title = jobtitle.clean(text.get("job_title"))
    except HopThuError as error:
        problems.append(str(error))
        title = None
    return PersonRow(
        family=text.get("family", ""),
        middle=text.get("middle", ""),
        given=text.get("given", ""),
        agency=text.get("agency", "").lower(),
        rank=rank,
        date=date,
        address=text.get("address") or None,
        job_title=title,
        line=line,
        problem=f"Dòng {line}: " + "; ".join(problems) if problems else None,
    )


def _parse_date(text: str) -> dt.date | None:
    for layout in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


TEMPLATE_HEADERS = ("Họ", "Tên đệm", "Tên", "Mã cơ quan", "Cấp bậc", "Ngày", "Chức vụ")


def template_xlsx(agency_code: str) -> bytes:
    """The spreadsheet an agency fills in: a sheet with the headers `_column` reads, and a sheet that
    explains each column with an example (not in the list, so it cannot be registered by mistake)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append(TEMPLATE_HEADERS)
    for column, width in zip("ABCDEFG", (14, 16, 12, 16, 10, 14, 24), strict=True):
        sheet.column_dimensions[column].width = width
    guide = book.create_sheet("Hướng dẫn")
    for line in (
        ("Cột", "Ý nghĩa", "Ví dụ"),
        ("Họ", "Họ của người được cấp hộp thư", "Nguyễn"),
        ("Tên đệm", "Tên đệm (có thể để trống)", "Văn"),
        ("Tên", "Tên", "Minh"),
        ("Mã cơ quan", "Mã cơ quan, đơn vị nơi người đó làm việc", agency_code),
        ("Cấp bậc", "Số lớn hơn là chức vụ lãnh đạo cao hơn (Quy chế 4.3b)", "2"),
        ("Ngày", "Ngày đăng ký, dạng DD/MM/YYYY; để trống là hôm nay", "01/12/2026"),
        ("Chức vụ", "Chức vụ hiện trong danh bạ (có thể để trống, tối đa 100 ký tự)", "Phó Trưởng phòng"),
    ):
        guide.append(line)
    out = io.BytesIO()
    text_only(book).save(out)
    return out.getvalue()
