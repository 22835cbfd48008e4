"""How the server writes IMAP values and refusals: one place for quoting, names, flags and dates.

Refusals are exceptions carrying their response code (RFC 5530) and text; the session catches them
once, at the command boundary, and writes `tag NO [CODE] text` or `tag BAD text`. Texts are ASCII,
Vietnamese without diacritics then English, like our SMTP replies: IMAP4rev1 response text is 7-bit.
"""

from __future__ import annotations

import datetime as dt

from hopthu.errors import HopThuError
from hopthu.imap.mutf7 import encode_mutf7
from hopthu.mail.imapview import nstring
from hopthu.policy.dates import VIETNAM
from hopthu.store.flags import flag_names
from hopthu.text import ascii_text

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapRefusal(Exception):
    """A command refused: `kind` is "NO" (the client's or a passing fault) or "BAD" (syntax, state)."""

    def __init__(self, vi: str, en: str, code: str | None = None, kind: str = "NO") -> None:
        super().__init__(en)
        self.kind = kind
        self.code = code
        self.text = f"{ascii_text(vi)} / {en}"

    @classmethod
    def explaining(cls, error: HopThuError, code: str | None = None) -> ImapRefusal:
        return cls(error.vi, ascii_text(error.en), code)

    def line(self, tag: str) -> bytes:
        code = f"[{self.code}] " if self.code else ""
        return f"{tag} {self.kind} {code}{self.text}\r\n".encode("ascii", "replace")


def bad(vi: str, en: str) -> ImapRefusal:
    return ImapRefusal(vi, en, kind="BAD")


def astring(text: str) -> bytes:
    """A string argument: quoted when it can be, a literal otherwise (UTF-8 bytes)."""
    return nstring(text.encode("utf-8"))


def mailbox_name(name: str, utf8: bool) -> bytes:
    """A mailbox name as this client reads it: UTF-8 (IMAP4rev2) or modified UTF-7 (RFC 3501 §5.1.3)."""
    return astring(name if utf8 else encode_mutf7(name))


def flag_list(bits: int, keywords: str | None) -> bytes:
    return b"(" + " ".join(flag_names(bits, keywords)).encode("ascii", "replace") + b")"


def date_time(moment: dt.datetime) -> bytes:
    """RFC 9051 date-time, e.g. "02-Mar-2026 08:30:00 +0700", in Vietnam's time."""
    local = moment.astimezone(VIETNAM)
    return (
        f'"{local.day:02d}-{_MONTHS[local.month - 1]}-{local.year:04d} '
        f'{local.hour:02d}:{local.minute:02d}:{local.second:02d} +0700"'
    ).encode("ascii")


def sequence_set(numbers: list[int]) -> bytes:
    """Ascending numbers as a compact sequence set ("1:3,7")."""
    parts: list[str] = []
    start = previous = None
    for number in numbers:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}:{previous}")
        start = previous = number
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}:{previous}")
    return ",".join(parts).encode("ascii")
