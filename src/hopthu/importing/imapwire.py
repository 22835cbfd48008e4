"""The IMAP responses a migration reads from a former server, as values: sans-IO, bytes in.

A response is its text with every literal's bytes set aside in order (`Response`): the text keeps
the `{n}` marker where the literal stood, and `tokens` reads the text back into Python values:
atoms as `str` (NIL as None), quoted strings and literals as `bytes`, parenthesised lists as `list`.
A literal the reader would not hold (over its limit) is an `Oversized` in its place. Nothing here
awaits, logs or allocates beyond what it was given, so the fuzzers and the tests use it directly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from hopthu.imap.mutf7 import decode_mutf7

LITERAL_AT_END = re.compile(rb"\{(\d{1,12})\+?\}\r?\n\Z")
_NUMBER = re.compile(rb"\d{1,20}")
_CODE = re.compile(rb"\[([A-Z0-9.-]{1,40})(?: ([^\]]{0,200}))?\]")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_DATE = re.compile(rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\Z")
MAX_DEPTH = 20  # nested lists (BODYSTRUCTURE is never asked for: FETCH responses are shallow)


class WireError(ValueError):
    """A response that is not IMAP as RFC 9051 writes it."""


@dataclass(frozen=True, slots=True)
class Oversized:
    """A literal too large to hold: its size only, its bytes were read and dropped."""

    size: int


@dataclass(slots=True)
class Response:
    text: bytes
    literals: list[bytes | Oversized] = field(default_factory=list)

    def code(self) -> tuple[str, str] | None:
        """The response code of a status response (`[UIDVALIDITY 123]` → ("UIDVALIDITY", "123"))."""
        found = _CODE.search(self.text)
        if found is None:
            return None
        return found.group(1).decode(), (found.group(2) or b"").decode("ascii", "replace")


def tokens(text: bytes, literals: list[bytes | Oversized], start: int = 0) -> list[Any]:
    """The values of `text[start:]`, literals taken from `literals` in order."""
    reader = _Tokens(text, literals, start)
    values = reader.values(depth=0, closing=False)
    return values


class _Tokens:
    def __init__(self, text: bytes, literals: list[bytes | Oversized], start: int) -> None:
        self.text = text
        self.literals = literals
        self.at = start
        self.literal = 0

    def values(self, depth: int, closing: bool) -> list[Any]:
        if depth > MAX_DEPTH:
            raise WireError("lists nested too deeply")
        found: list[Any] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == 0x20:
                self.at += 1
            elif char == 0x28:  # (
                self.at += 1
                found.append(self.values(depth + 1, closing=True))
            elif char == 0x29:  # )
                if not closing:
                    raise WireError("unbalanced ')'")
                self.at += 1
                return found
            elif char == 0x22:  # "
                found.append(self.quoted())
            elif char == 0x7B:  # {
                found.append(self.take_literal())
            else:
                found.append(self.atom())
        if closing:
            raise WireError("unterminated list")
        return found

    def quoted(self) -> bytes:
        out = bytearray()
        at = self.at + 1
        text = self.text
        while at < len(text):
            char = text[at]
            if char == 0x5C and at + 1 < len(text):  # backslash
                out.append(text[at + 1])
                at += 2
            elif char == 0x22:
                self.at = at + 1
                return bytes(out)
            else:
                out.append(char)
                at += 1
        raise WireError("unterminated quoted string")

    def take_literal(self) -> bytes | Oversized:
        end = self.text.find(b"}", self.at)
        if end < 0 or not _NUMBER.fullmatch(self.text[self.at + 1 : end].rstrip(b"+")):
            raise WireError("bad literal marker")
        self.at = end + 1
        if self.literal >= len(self.literals):
            raise WireError("literal marker without its bytes")
        value = self.literals[self.literal]
        self.literal += 1
        return value

    def atom(self) -> str | None:
        text = self.text
        at = self.at
        brackets = 0
        while at < len(text):
            char = text[at]
            if char == 0x5B:  # [ : a section such as BODY[HEADER.FIELDS (A B)] keeps its spaces
                brackets += 1
            elif char == 0x5D:
                brackets = max(0, brackets - 1)
            elif brackets == 0 and char in b" ()\r\n":
                break
            at += 1
        word = text[self.at : at].decode("utf-8", "replace")
        self.at = at
        if not word:
            raise WireError("empty atom")
        return None if word.upper() == "NIL" else word


def as_text(value: Any) -> str:
    """An astring value (atom or string) as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise WireError("expected a string")


def mailbox_name(raw: str) -> str:
    """A mailbox name as the server sent it (modified UTF-7, RFC 3501 §5.1.3) in Unicode; a name
    that is not canonical modified UTF-7 is kept as it was sent (Dovecot never sends one)."""
    try:
        return decode_mutf7(raw)
    except ValueError:
        return raw


def internal_date(value: Any) -> dt.datetime | None:
    """INTERNALDATE ("02-Mar-2026 08:30:00 +0700", RFC 9051 §9 date-time) as an aware datetime."""
    if not isinstance(value, bytes):
        return None
    found = _DATE.fullmatch(value)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    number = _MONTHS.get(month.decode().title())
    if number is None:
        return None
    offset = dt.timedelta(hours=int(zone_h), minutes=int(zone_m)) * (-1 if sign == b"-" else 1)
    try:
        return dt.datetime(
            int(year), number, int(day), int(hour), int(minute), int(second), tzinfo=dt.timezone(offset)
        )
    except ValueError:
        return None


def quoted(value: str) -> bytes | None:
    """`value` as an IMAP quoted string, or None when it needs a literal (8-bit, CR, LF, NUL)."""
    raw = value.encode("utf-8")
    if any(b < 0x20 or b > 0x7E for b in raw):
        return None
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def uid_set(uids: list[int]) -> bytes:
    """A sorted list of UIDs as an IMAP sequence set of runs ("1:5,9,12:14")."""
    runs: list[str] = []
    start = previous = uids[0]
    for uid in uids[1:]:
        if uid == previous + 1:
            previous = uid
            continue
        runs.append(f"{start}:{previous}" if start != previous else str(start))
        start = previous = uid
    runs.append(f"{start}:{previous}" if start != previous else str(start))
    return ",".join(runs).encode()
