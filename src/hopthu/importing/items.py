"""What an archive reader yields, the bounds every reader keeps, and the reasons a file or a message is
left out, in Vietnamese and English.

A reader never stops at a bad message: it yields `Found` for what it could read (broken or not: the
store keeps a message as it is) and `Skip` with a reason code for what it leaves out, so the summary
can say "3 left out: larger than 40 MB". Only an archive that cannot be read at all, or one whose
declared contents pass the bounds (a zip bomb), is refused whole with `ArchiveRefused`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass

from hopthu.errors import HopThuError

MiB = 1024**2
GiB = 1024**3

# The header block read for dates and flags: headers past this are not looked at (the message is
# still kept whole).
HEADER_SCAN = 64 * 1024
# An RFC 5322 §3.6.8 field name and its colon: what the first line of a message looks like.
_FIELD = re.compile(rb"[!-9;-~]{1,200}:")
_NOT_ATOM = frozenset('(){ %*"\\]')  # RFC 9051 §9 atom-specials (with resp-specials)
KEYWORDS_MAX = 20  # per message


@dataclass(frozen=True, slots=True)
class Bounds:
    """How much one archive may make the server read. `message_max` is the SMTP limit, so nothing
    enters by import that could not have come by mail; `total_max` bounds the bytes unpacked from a
    zip whatever its members declare; `ratio_max` is the largest unpacked-to-packed ratio of a member
    above `ratio_floor` (mail packs to a fifth or a tenth; a zip bomb to a thousandth)."""

    message_max: int = 40 * MiB
    members_max: int = 100_000
    total_max: int = 20 * GiB
    ratio_max: int = 200
    ratio_floor: int = 1 * MiB


@dataclass(frozen=True, slots=True)
class Found:
    """One message read from the archive: its source folder (parts, outermost first; () is the
    archive's main folder, Inbox), its bytes as they were, flags, and the time it arrived."""

    folder: tuple[str, ...]
    data: bytes
    flags: tuple[str, ...] = ()
    internal_date: dt.datetime | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class Skip:
    """A file or message left out, with the code of its reason (`REASONS`)."""

    folder: tuple[str, ...]
    reason: str
    where: str = ""


Item = Found | Skip

REASONS: dict[str, tuple[str, str]] = {
    "too_large": ("thư lớn hơn giới hạn cho phép", "the message is larger than allowed"),
    "empty": ("thư rỗng", "the message is empty"),
    "not_mail": ("không phải thư điện tử", "not an e-mail message"),
    "deleted": ("đã bị xóa trong chương trình cũ", "deleted in the former program"),
    "unfinished": ("thư chưa nhận xong (thư mục tmp của Maildir)", "not fully received (Maildir's tmp)"),
    "unsafe_name": ("tên tệp trong tệp nén không an toàn", "an unsafe file name in the zip file"),
    "link": ("liên kết tượng trưng, không phải tệp", "a symbolic link, not a file"),
    "encrypted": ("tệp được mã hóa bằng mật khẩu", "a password-protected file"),
    "nested_archive": ("tệp nén nằm trong tệp nén không được mở", "a zip inside the zip is not opened"),
    "outlook_msg": (
        "tệp .msg của Outlook chưa đọc được; hãy lưu thư dạng .eml",
        "Outlook .msg files cannot be read; save the mail as .eml",
    ),
    "packed_too_much": (
        "tỷ lệ nén bất thường (có thể là bom nén)",
        "an unusual compression ratio (possibly a zip bomb)",
    ),
    "damaged": ("tệp trong tệp nén bị hỏng", "a damaged file in the zip file"),
    "over_total": (
        "vượt tổng dung lượng được giải nén của một tệp nén",
        "past the total size one zip file may unpack to",
    ),
    "folder_name": ("tên thư mục không dùng được", "the folder name cannot be used"),
    "refused": ("hộp thư không nhận thư này", "the mailbox did not take this message"),
    "unreadable": ("không đọc được thư này", "this message could not be read"),
}


class ArchiveRefused(HopThuError):
    """The file as a whole cannot be imported: not an archive of mail, unreadable, or past a bound."""


def looks_like_mail(data: bytes) -> bool:
    """Whether `data` starts as a message does: a header field on its first line (RFC 5322 §2.2)."""
    return _FIELD.match(data.lstrip(b"\r\n")[:256]) is not None


def header_block(data: bytes) -> bytes:
    """The message's header lines (up to `HEADER_SCAN` bytes), unfolded, for reading a few fields."""
    head = data[:HEADER_SCAN]
    end = re.search(rb"\r?\n\r?\n", head)
    block = head[: end.start()] if end else head
    return re.sub(rb"\r?\n[ \t]+", b" ", block)


def header_values(block: bytes, name: bytes) -> list[str]:
    """The values of header field `name` (case-insensitive) in an unfolded block, as Latin-1 text
    (the fields read here are ASCII; 8-bit bytes elsewhere are kept by the store, not decoded here)."""
    pattern = re.compile(rb"^" + re.escape(name) + rb"[ \t]*:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)
    return [m.group(1)[:1000].decode("latin-1").strip() for m in pattern.finditer(block)]


def plausible(moment: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """`moment` when it could be when a message arrived (from 1970 to a day ahead), in UTC; else None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    try:
        if dt.datetime(1970, 1, 1, tzinfo=dt.UTC) <= moment <= now + dt.timedelta(days=1):
            return moment.astimezone(dt.UTC)
    except OverflowError:
        return None
    return None


def date_header(data: bytes) -> dt.datetime | None:
    """The message's Date: (RFC 5322 §3.6.1) when it reads as a plausible time."""
    for value in header_values(header_block(data), b"date")[:1]:
        try:
            return plausible(email.utils.parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return None


def keywords(text: str) -> list[str]:
    """IMAP keywords from a space-separated list a program wrote, the valid ones only (RFC 9051 §2.3.2)."""
    return [
        word
        for word in text.split()[:KEYWORDS_MAX]
        if len(word) <= 64 and all("!" <= ch <= "~" and ch not in _NOT_ATOM for ch in word)
    ]


def stored_size(data: bytes) -> int:
    """The message's size once its line ends are CRLF, as the store keeps it and the quota counts."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")
