"""Reading an mbox file as a stream of messages (Thunderbird, Apple Mail's export, mutt, our own
folder download).

An mbox is messages one after another, each opened by a "From " line (RFC 4155): `From sender date`.
A line of a message that itself began "From " was written `>From ` (mboxo, mboxrd) and one `>` is
taken off again here, as mboxrd says (`>>From ` becomes `>From `). A "From " line opens a new message
only at the start of the file or after an empty line, and only when it carries a time and a year, so
an mboxo body line such as "From now on…" after a paragraph stays in its message.

The file is read a line at a time in pieces of at most `PIECE` bytes (a line of a megabyte of
base64 costs one piece of memory), and a message is held until it is complete, up to the message
bound; past it the rest of that message is read and dropped, and it is reported as too large.

Flags come from what the programs wrote into the headers: Thunderbird's `X-Mozilla-Status` (read,
replied, marked, forwarded; "expunged" means deleted but not yet compacted away, so it is left out)
and `X-Mozilla-Keys` (its tags), mutt's and Apple Mail's `Status:` (R read) and `X-Status:`
(A answered, F flagged, T draft, D deleted). The time a message arrived is the From line's date,
else its Date: header.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from typing import BinaryIO

from hopthu.importing.items import (
    Bounds,
    Found,
    Item,
    Skip,
    date_header,
    header_block,
    header_values,
    keywords,
    looks_like_mail,
    plausible,
)

PIECE = 64 * 1024  # bytes of one line read at a time
_SEPARATOR_MAX = 1000  # a From line longer than this is a body line
_TIME = re.compile(rb"\b\d{1,2}:\d{2}\b")
_YEAR = re.compile(rb"\b\d{4}\b")
_BLANK = (b"\n", b"\r\n")

# Thunderbird's nsMsgMessageFlags, as written in X-Mozilla-Status (4 hex digits).
_MOZILLA = ((0x0001, "\\Seen"), (0x0002, "\\Answered"), (0x0004, "\\Flagged"), (0x1000, "$Forwarded"))
_MOZILLA_EXPUNGED = 0x0008
_X_STATUS = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft"}


def is_mbox(start: bytes) -> bool:
    """Whether a file starting with `start` is an mbox: its first line is a From line."""
    return start.startswith(b"From ")


def _separator(line: bytes, first: bool, after_blank: bool) -> bool:
    if not line.startswith(b"From ") or len(line) > _SEPARATOR_MAX:
        return False
    return first or (after_blank and bool(_TIME.search(line)) and bool(_YEAR.search(line)))


def from_line_date(line: bytes) -> dt.datetime | None:
    """The date of a From line, `From sender Mon Jan  1 00:00:00 2001` (asctime, UTC by custom, an
    offset after the year when a program wrote one), or None when it does not read as a date."""
    words = line.decode("latin-1").split()[2:]
    if len(words) < 5:
        return None
    try:
        moment = dt.datetime.strptime(" ".join(words[:5]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=dt.UTC)
    except ValueError:
        try:
            return plausible(email.utils.parsedate_to_datetime(" ".join(words)))
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if len(words) > 5 and re.fullmatch(r"[+-]\d{4}", words[5]):
        sign = -1 if words[5][0] == "-" else 1
        offset = dt.timedelta(hours=int(words[5][1:3]), minutes=int(words[5][3:5]))
        moment -= sign * offset
    return plausible(moment)


def flags_of(data: bytes) -> tuple[tuple[str, ...], bool]:
    """The message's flags from the headers mail programs keep them in, and whether it was deleted."""
    block = header_block(data)
    flags: list[str] = []
    deleted = False
    for value in header_values(block, b"x-mozilla-status")[:1]:
        try:
            bits = int(value[:8], 16)
        except ValueError:
            continue
        flags.extend(name for bit, name in _MOZILLA if bits & bit)
        deleted = deleted or bool(bits & _MOZILLA_EXPUNGED)
    for value in header_values(block, b"x-mozilla-keys")[:1]:
        flags.extend(keywords(value))
    for value in header_values(block, b"status")[:1]:
        if "R" in value:
            flags.append("\\Seen")
    for value in header_values(block, b"x-status")[:1]:
        flags.extend(name for letter, name in _X_STATUS.items() if letter in value)
        deleted = deleted or "D" in value
    return tuple(dict.fromkeys(flags)), deleted


class _Message:
    """The message being read: its From line, its bytes up to the bound, its size in the file."""

    def __init__(self, from_line: bytes, number: int, limit: int) -> None:
        self.from_line = from_line
        self.number = number
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size <= self.limit:
            self.parts.append(piece)
        else:
            self.parts.clear()  # too large: counted, not kept

    def finish(self, folder: tuple[str, ...], prefix: str) -> Item:
        where = f"{prefix}#{self.number}"
        if self.size > self.limit:
            return Skip(folder, "too_large", where)
        data = b"".join(self.parts)
        # The empty line before the next From line (or the file's end) separates; it is not the message's.
        if data.endswith(b"\r\n\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n\n"):
            data = data[:-1]
        if not data.strip():
            return Skip(folder, "empty", where)
        if not looks_like_mail(data):
            return Skip(folder, "not_mail", where)
        flags, deleted = flags_of(data)
        if deleted:
            return Skip(folder, "deleted", where)
        arrived = from_line_date(self.from_line) or date_header(data)
        return Found(folder, data, flags, arrived, where)


def read_mbox(
    stream: BinaryIO, folder: tuple[str, ...], bounds: Bounds, *, where: str = ""
) -> Iterator[Item]:
    """Every message of the mbox `stream` (read in pieces, see the module's docstring), in `folder`."""
    current: _Message | None = None
    number = 0
    line_start = True
    after_blank = False
    first = True
    while True:
        piece = stream.readline(PIECE)
        if not piece:
            break
        if line_start and _separator(piece, first, after_blank):
            if current is not None:
                yield current.finish(folder, where)
            number += 1
            current = _Message(piece, number, bounds.message_max)
        elif current is not None:
            if line_start and piece.startswith(b">") and piece.lstrip(b">").startswith(b"From "):
                piece = piece[1:]  # mboxrd: one level of quoting off
            current.add(piece)
        else:
            # Before the first From line: not an mbox after all (callers check the start first).
            yield Skip(folder, "not_mail", where)
            return
        first = False
        after_blank = line_start and piece in _BLANK
        line_start = piece.endswith(b"\n")
    if current is not None:
        yield current.finish(folder, where)
