"""The plan of a province's migration: which old mailbox goes into which of ours (R13.7).

A .csv (UTF-8) or .xlsx file, one mailbox a line, columns by header name in any order:

| column | meaning |
| --- | --- |
| `old_address` | the address on the former server (reported, and the login when `login` is empty) |
| `server` | `host:port` of the former IMAP server (`[::1]:993` for IPv6) |
| `tls` | `tls` (from the first byte, the default), `starttls` or `none` |
| `verify` | `no` to accept an internal server's self-signed certificate (default `yes`) |
| `login` | the login on the former server (default: `old_address`) |
| `password` | the person's password, or empty when the administrator signs in for them |
| `master_user`, `master_password` | the former server's administrator (Dovecot master user) |
| `auth` | `login` (LOGIN; as administrator `person*admin`) or `plain` (AUTHENTICATE PLAIN) |
| `separator` | the administrator login's separator (default `*`) |
| `new_address` | our mailbox that receives the mail |

Vietnamese headers are understood too (`dia chi cu`, `may chu`, `mat khau`, `dia chi moi`, …). Every
line is checked before anything starts, and every bad line is named in one error, by line number and
column: a password never appears in an error, a log line or a repr (`Secret`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hopthu.errors import HopThuError
from hopthu.importing.imapsource import Credentials, Endpoint, Secret, TlsMode
from hopthu.text import fold

MAX_FILE = 10 * 1024 * 1024
MAX_LINES = 100_000
MAX_CELL = 1024
MAX_SHOWN = 20  # bad lines named in the error; the count says how many more

COLUMNS = (
    "old_address",
    "server",
    "tls",
    "verify",
    "login",
    "password",
    "master_user",
    "master_password",
    "auth",
    "separator",
    "new_address",
)
_ALIASES = {
    "dia chi cu": "old_address",
    "email cu": "old_address",
    "old address": "old_address",
    "may chu": "server",
    "may chu cu": "server",
    "host": "server",
    "ma hoa": "tls",
    "kiem tra chung chi": "verify",
    "ten dang nhap": "login",
    "user": "login",
    "mat khau": "password",
    "tai khoan quan tri": "master_user",
    "master": "master_user",
    "mat khau quan tri": "master_password",
    "xac thuc": "auth",
    "dia chi moi": "new_address",
    "new address": "new_address",
}
_TLS = {
    "tls": TlsMode.TLS,
    "ssl": TlsMode.TLS,
    "starttls": TlsMode.STARTTLS,
    "none": TlsMode.NONE,
    "plain": TlsMode.NONE,
}
_YES = {"", "yes", "co", "true", "1", "y"}
_NO = {"no", "khong", "false", "0", "n"}
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


class PlanError(HopThuError):
    """The plan file cannot be used: every bad line is named."""


@dataclass(frozen=True, slots=True)
class PlanLine:
    line: int
    old_address: str
    endpoint: Endpoint
    credentials: Credentials
    new_address: str

    @property
    def source(self) -> str:
        """The old mailbox's name in our records: server and address, never a credential."""
        return f"{self.endpoint.host}:{self.endpoint.port}/{self.old_address}"


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    lines: tuple[PlanLine, ...]

    @property
    def digest(self) -> str:
        """What identifies this plan across runs (to resume it): its lines without passwords."""
        hashed = hashlib.sha256()
        for each in self.lines:
            who = each.credentials
            fields = (each.source, each.endpoint.tls, who.user, who.master_user or "", each.new_address)
            hashed.update("\0".join(fields).encode() + b"\n")
        return hashed.hexdigest()


def read_plan(path: Path) -> Plan:
    """The plan in a .csv or .xlsx file (blocking: from a coroutine, call it in a thread)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise PlanError(
            f"Tệp kế hoạch phải là .csv hoặc .xlsx, không nhận '{suffix}'",
            f"The plan must be a .csv or .xlsx file, not '{suffix}'",
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise PlanError(
                f"Tệp kế hoạch quá lớn (tối đa {MAX_FILE // 1024 // 1024} MB)",
                f"The plan file is too large (at most {MAX_FILE // 1024 // 1024} MB)",
            )
        data = path.read_bytes()
    except OSError:
        raise PlanError(f"Không đọc được tệp {path}", f"Cannot read the file {path}") from None
    return plan_from_bytes(path.name, data, xlsx=suffix == ".xlsx")


def plan_from_bytes(name: str, data: bytes, *, xlsx: bool) -> Plan:
    if len(data) > MAX_FILE:
        raise PlanError("Tệp kế hoạch quá lớn", "The plan file is too large")
    return Plan(name, tuple(_lines(_xlsx_rows(data) if xlsx else _csv_rows(data))))


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError("Tệp CSV phải mã hóa UTF-8", "The CSV file must be UTF-8 encoded") from None
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as error:
        raise PlanError(f"Tệp CSV hỏng: {error}", f"The CSV file is malformed: {error}") from None


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # slow to import, needed only for spreadsheets

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise PlanError("Không đọc được tệp Excel (.xlsx)", "The Excel file (.xlsx) cannot be read") from None
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _column(header: Any) -> str | None:
    name = " ".join(fold(str(header or "")).replace("_", " ").split())
    underscored = name.replace(" ", "_")
    return underscored if underscored in COLUMNS else _ALIASES.get(name)


def _lines(rows: Iterable[list[Any]]) -> list[PlanLine]:
    table = iter(rows)
    try:
        header = [_column(cell) for cell in next(table)]
    except StopIteration:
        raise PlanError("Tệp kế hoạch trống", "The plan file is empty") from None
    missing = [c for c in ("old_address", "server", "new_address") if c not in header]
    if missing:
        raise PlanError(f"Thiếu cột: {', '.join(missing)}", f"Missing columns: {', '.join(missing)}")
    lines: list[PlanLine] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(table, start=2):
        if number > MAX_LINES + 1:
            raise PlanError(
                f"Tệp kế hoạch quá nhiều dòng (tối đa {MAX_LINES})",
                f"The plan has too many lines (at most {MAX_LINES})",
            )
        values = {
            column: "" if cell is None else str(cell).strip()
            for column, cell in zip(header, cells, strict=False)
            if column
        }
        if not any(values.values()):
            continue
        try:
            line = _line(number, values)
        except PlanError as error:
            problems.append(str(error))
            continue
        key = (line.source, line.new_address)
        if key in seen:
            problems.append(
                f"Dòng {number}: trùng với dòng {seen[key]} / Line {number}: the same as line {seen[key]}"
            )
            continue
        seen[key] = number
        lines.append(line)
    if problems:
        shown = problems[:MAX_SHOWN]
        more = len(problems) - len(shown)
        tail = f" (+{more})" if more else ""
        raise PlanError(
            "Kế hoạch có dòng sai: " + "; ".join(shown) + tail,
            f"The plan has {len(problems)} bad line(s): " + "; ".join(shown) + tail,
        )
    if not lines:
        raise PlanError("Tệp kế hoạch không có hộp thư nào", "The plan lists no mailbox")
    return lines


def _bad(number: int, vi: str, en: str) -> PlanError:
    return PlanError(f"Dòng {number}: {vi}", f"Line {number}: {en}")


def _line(number: int, values: dict[str, str]) -> PlanLine:
    for column, value in values.items():
        if len(value) > MAX_CELL:
            raise _bad(number, f"ô {column} quá dài", f"the {column} cell is too long")
        if any(ord(ch) < 0x20 for ch in value):
            raise _bad(
                number, f"ô {column} có ký tự điều khiển", f"the {column} cell holds control characters"
            )
    old = values.get("old_address", "").lower()
    new = values.get("new_address", "").lower()
    for column, address in (("old_address", old), ("new_address", new)):
        if not _ADDRESS.fullmatch(address):
            raise _bad(number, f"{column} không phải địa chỉ thư", f"{column} is not a mail address")
    endpoint = _endpoint(number, values)
    credentials = _credentials(number, values, old)
    return PlanLine(number, old, endpoint, credentials, new)


def _endpoint(number: int, values: dict[str, str]) -> Endpoint:
    server = values.get("server", "")
    host, colon, port_text = server.rpartition(":")
    if not colon or not host or not _HOST.fullmatch(host) or not port_text.isdigit():
        raise _bad(number, "server phải có dạng máy:cổng", "server must be host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise _bad(number, f"cổng {port_text} không hợp lệ", f"port {port_text} is not valid")
    tls_text = values.get("tls", "").lower() or "tls"
    if tls_text not in _TLS:
        raise _bad(number, "tls phải là tls, starttls hoặc none", "tls must be tls, starttls or none")
    verify_text = fold(values.get("verify", "")).lower()
    if verify_text not in _YES | _NO:
        raise _bad(number, "verify phải là yes hoặc no", "verify must be yes or no")
    return Endpoint(host.strip("[]"), port, _TLS[tls_text], verify=verify_text in _YES)


def _credentials(number: int, values: dict[str, str], old: str) -> Credentials:
    login = values.get("login") or old
    password = values.get("password", "")
    master = values.get("master_user", "")
    master_password = values.get("master_password", "")
    auth = values.get("auth", "").lower() or "login"
    separator = values.get("separator", "") or "*"
    if auth not in ("login", "plain"):
        raise _bad(number, "auth phải là login hoặc plain", "auth must be login or plain")
    if len(separator) > 4:
        raise _bad(number, "separator quá dài", "separator is too long")
    if master and not master_password:
        raise _bad(number, "thiếu master_password", "master_password is missing")
    if not master and not password:
        raise _bad(
            number,
            "cần password, hoặc master_user và master_password",
            "a password, or master_user and master_password, is needed",
        )
    return Credentials(
        user=login,
        password=Secret(password) if password else None,
        master_user=master or None,
        master_password=Secret(master_password) if master_password else None,
        mechanism=auth,
        separator=separator,
    )
