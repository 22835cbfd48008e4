"""The former provinces' people from a list (R13.7): each row an old address and its person; the person
gets a new mailbox by R4 through the one naming path every list of people takes (`people`: a base
already taken gets the next number, `nvminh` → `nvminh2`), and the old address is recorded as theirs.

Columns, by header in any order, Vietnamese or English: the old address, family name, middle name,
given name, agency code, rank, job title (chức vụ, for the address book); and optionally the new
address: a mailbox the person already has (the row then only records the old address), or the
address an administrator chose for a new one (R4.3b).
A list is bounded (`MAX_ROWS`, `MAX_BYTES`, read no further than the limits); every bad row is named by
its line in both languages and changes nothing: an old address given twice, one recorded already, one
whose domain is not a former province's.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError

from hopthu.directory.accounts import AccountService, local_part
from hopthu.directory.former import FormerAddressService
from hopthu.directory.people import PeopleService, PersonRow
from hopthu.errors import HopThuError
from hopthu.sheets import read_table, text_only
from hopthu.text import fold

MAX_ROWS: Final = 20_000
MAX_BYTES: Final = 8 * 1024 * 1024
_MAX_COLUMNS: Final = 16
CHUNK: Final = 500
EXAMPLE_NOTE: Final = "Dòng ví dụ, xóa trước khi gửi"

# The template's columns: (field, Vietnamese header, example value).
COLUMNS: Final = (
    ("old", "Địa chỉ cũ", "nvminh@soctrang.gov.vn"),
    ("family", "Họ", "Nguyễn"),
    ("middle", "Tên đệm", "Văn"),
    ("given", "Tên", "Minh"),
    ("agency", "Mã cơ quan", "sonv"),
    ("rank", "Cấp bậc", "0"),
    ("new", "Địa chỉ mới (nếu đã có)", ""),
    ("job_title", "Chức vụ", "Chuyên viên"),
    ("note", "Ghi chú", EXAMPLE_NOTE),
)
_FIELDS: Final = tuple(field for field, _, _ in COLUMNS)
_ALIASES: Final = {
    "dia chi cu": "old",
    "old address": "old",
    "former address": "old",
    "email cu": "old",
    "ho": "family",
    "family name": "family",
    "ten dem": "middle",
    "ten lot": "middle",
    "middle name": "middle",
    "ten": "given",
    "given name": "given",
    "ma co quan": "agency",
    "co quan": "agency",
    "don vi": "agency",
    "agency code": "agency",
    "cap bac": "rank",
    "chuc vu": "job_title",
    "chuc danh": "job_title",
    "position": "job_title",
    "title": "job_title",
    "job title": "job_title",
    "dia chi moi": "new",
    "dia chi moi (neu da co)": "new",
    "new address": "new",
    "ghi chu": "note",
}


@dataclass(frozen=True, slots=True)
class FormerRow:
    line: int
    old: str
    family: str = ""
    middle: str = ""
    given: str = ""
    agency: str = ""
    rank: str = ""
    job_title: str = ""
    new: str = ""
    note: str = ""


@dataclass(slots=True)
class ImportResult:
    row: FormerRow
    old: str | None = None  # the old address, checked
    address: str | None = None  # the new mailbox's local part
    created: bool = False  # a new mailbox (else an existing one)
    temporary_password: str | None = None
    proposals: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None  # Vietnamese / English, when the row changes nothing

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.row.family, self.row.middle, self.row.given) if part)

    def as_json(self, domain: str) -> dict:
        return {
            "line": self.row.line,
            "former_address": self.old or self.row.old,
            "name": self.name,
            "agency": self.row.agency,
            "address": f"{self.address}@{domain}" if self.address else None,
            "created": self.created,
            "temporary_password": self.temporary_password,
            "proposals": self.proposals,
            "error": self.error,
        }


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


def read_rows(data: bytes, filename: str) -> list[FormerRow]:
    """The rows of a list (.xlsx or .csv by its name); refused whole when too large, unreadable or
    without the old-address column."""
    if len(data) > MAX_BYTES:
        raise TooLarge.bytes()
    return read_table(data, filename, _rows, max_columns=_MAX_COLUMNS)


def _column(header: Any) -> str | None:
    name = " ".join(fold(str(header or "")).replace("_", " ").split())
    return name if name in _FIELDS else _ALIASES.get(name)


def _rows(table: Iterable[Iterable[Any]]) -> list[FormerRow]:
    lines: Iterator[Iterable[Any]] = iter(table)
    try:
        header = [_column(cell) for cell in list(next(lines))[:_MAX_COLUMNS]]
    except StopIteration:
        raise HopThuError("Tệp trống", "The file is empty") from None
    if "old" not in header:
        raise HopThuError("Thiếu cột: Địa chỉ cũ", "Missing column: old address")
    rows: list[FormerRow] = []
    for number, cells in enumerate(lines, start=2):
        values = {
            field: _text(value)
            for field, value in zip(header, cells, strict=False)
            if field and value is not None
        }
        if not any(values.values()):
            continue
        if len(rows) == MAX_ROWS:
            raise TooLarge.rows()
        rows.append(FormerRow(line=number, **values))
    if not rows:
        raise HopThuError("Danh sách không có dòng nào", "The list has no rows")
    return rows


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:500]


def template(fmt: str) -> bytes:
    """The file an operator fills in: the headers `read_rows` reads and one example row (recognised
    and refused if it comes back as it is)."""
    headers = [header for _, header, _ in COLUMNS]
    example = [value for _, _, value in COLUMNS]
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerow(example)
        return out.getvalue().encode("utf-8-sig")  # with its mark, so a spreadsheet opens it as UTF-8
    if fmt != "xlsx":
        raise HopThuError("Không có tệp mẫu này", "No such template")
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


TEMPLATE_NAME = "mau-dia-chi-cu"


class FormerImport:
    """Plan (the preview, changing nothing) and carry out a list of old addresses."""

    def __init__(self, people: PeopleService, accounts: AccountService, former: FormerAddressService) -> None:
        self.people = people
        self.accounts = accounts
        self.former = former

    async def plan(self, rows: Sequence[FormerRow]) -> list[ImportResult]:
        """What `run` would do with each row now: its new address (existing or to be created), or why not."""
        results = [ImportResult(row) for row in rows]
        seen: dict[str, int] = {}
        for result in results:
            result.error = self._checked(result, seen)
        recorded = await self.former.owners(r.old for r in results if r.error is None and r.old)
        for result in results:
            if result.error is None and result.old in recorded:
                owner = recorded[result.old]
                result.error = (
                    f"Dòng {result.row.line}: địa chỉ cũ '{result.old}' đã được ghi cho hộp thư '{owner}'"
                    f" / the old address is already recorded for the mailbox '{owner}'"
                )
        await self._existing(results)
        registering = [r for r in results if r.error is None and r.address is None]
        for result, planned in zip(registering, await self.people.plan(_people(registering)), strict=True):
            self._planned(result, planned.address, planned.proposals, planned.error)
        return results

    async def run(
        self, rows: Sequence[FormerRow], *, actor: str, progress: Callable[[int], None] | None = None
    ) -> list[ImportResult]:
        """Create the mailboxes the list needs (R4) and record every good row's old address; return
        one result per row, in order. A row that fails changes nothing; the others go ahead."""
        results = await self.plan(rows)
        registering = [r for r in results if r.created]
        if registering:
            registered = await self.people.register(_people(registering), actor=actor, progress=progress)
            for result, done in zip(registering, registered, strict=True):
                self._planned(result, done.address, done.proposals, done.error)
                result.temporary_password = done.temporary_password
        elif progress:
            progress(0)
        ready = [r for r in results if r.error is None and r.address]
        locals_ = await self.accounts.find_many({r.address for r in ready if r.address})
        for start in range(0, len(ready), CHUNK):
            await self._map_chunk(ready[start : start + CHUNK], locals_, actor)
        return results

    def _checked(self, result: ImportResult, seen: dict[str, int]) -> str | None:
        row = result.row
        if row.note == EXAMPLE_NOTE:
            return f"Dòng {row.line}: dòng ví dụ của tệp mẫu / the template's example row"
        try:
            result.old = self.former.checked(row.old)
        except HopThuError as error:
            return f"Dòng {row.line}: {error.vi} / {error.en}"
        first = seen.setdefault(result.old, row.line)
        if first != row.line:
            return (
                f"Dòng {row.line}: địa chỉ cũ '{result.old}' trùng với dòng {first}"
                f" / the old address repeats line {first}"
            )
        if row.rank and not row.rank.lstrip("-").isdigit():
            return f"Dòng {row.line}: cấp bậc '{row.rank}' không phải số / rank is not a number"
        return None

    async def _existing(self, results: list[ImportResult]) -> None:
        """Rows naming a new address: an existing mailbox is simply theirs; otherwise the address is an
        administrator's choice for a new mailbox, which needs the person's name and agency."""
        domain = self.accounts.domain
        named: dict[int, str] = {}
        for index, result in enumerate(results):
            if result.error is not None or not result.row.new:
                continue
            try:
                named[index] = local_part(result.row.new, domain)
            except HopThuError as error:
                result.error = f"Dòng {result.row.line}: {error.vi} / {error.en}"
        found = await self.accounts.find_many(set(named.values()))
        for index, local in named.items():
            result = results[index]
            existing = found.get(local)
            if existing is not None:
                result.address = existing.local
            elif not (result.row.family and result.row.given and result.row.agency):
                result.error = (
                    f"Dòng {result.row.line}: không có hộp thư '{local}@{domain}'; muốn cấp mới với "
                    f"địa chỉ này thì ghi đủ họ, tên và mã cơ quan / no mailbox '{local}@{domain}'; to "
                    "create it, give the family name, given name and agency code"
                )

    def _planned(
        self, result: ImportResult, address: str | None, proposals: list[str], error: str | None
    ) -> None:
        result.created = address is not None and error is None
        result.address = address
        result.proposals = list(proposals)
        if error is not None:
            line = f"Dòng {result.row.line}: "
            result.error = error if error.startswith(line) else line + error
        elif address is None:
            choices = ", ".join(proposals)
            result.error = (
                f"Dòng {result.row.line}: cần quản trị viên chọn địa chỉ (R4.3b), ghi địa chỉ chọn vào cột "
                f"'Địa chỉ mới': {choices} / an administrator must choose the address (R4.3b); write the "
                f"choice in the 'new address' column: {choices}"
            )

    async def _map_chunk(self, chunk: list[ImportResult], accounts: dict, actor: str) -> None:
        """One transaction per chunk; an old address recorded meanwhile by someone else fails only its
        own row."""
        pairs = []
        for result in chunk:
            assert result.old is not None and result.address is not None
            owner = accounts.get(result.address)
            if owner is None:  # removed meanwhile
                result.error = (
                    f"Dòng {result.row.line}: không có hộp thư '{result.address}' / no such mailbox"
                )
                continue
            pairs.append((result.old, owner.id, owner.local))
        try:
            async with self.former.ctx.store.db.write() as conn:
                await self.former.add_rows(conn, pairs, actor=actor, source="import")
        except IntegrityError:
            if len(chunk) == 1:
                chunk[0].error = (
                    f"Dòng {chunk[0].row.line}: địa chỉ cũ '{chunk[0].old}' vừa được ghi cho người khác"
                    " / the old address was just recorded for someone else"
                )
                return
            for result in chunk:
                if result.error is None:
                    await self._map_chunk([result], accounts, actor)


def _people(results: Sequence[ImportResult]) -> list[PersonRow]:
    """The rows that need a new mailbox, as the naming path reads a list of people."""
    return [
        PersonRow(
            family=r.row.family,
            middle=r.row.middle,
            given=r.row.given,
            agency=r.row.agency.strip().lower(),
            rank=int(r.row.rank) if r.row.rank else 0,
            job_title=r.row.job_title or None,
            address=r.row.new.strip().lower().partition("@")[0] or None,  # checked by `_existing`
            line=r.row.line,
        )
        for r in results
    ]
