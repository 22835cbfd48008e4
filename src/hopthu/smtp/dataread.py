"""Reading the DATA of one SMTP transaction (RFC 5321 §4.1.1.4) within our bounds.

aiosmtpd refuses any line over 998 octets with `500 Line too long`, but document systems send whole
HTML pages as one line and Postfix and Dovecot deliver them: bouncing what they accept would lose the
city's mail. So lines may be as long as `smtp.max_line_bytes`, and the message as long as
`smtp.max_message_size`: past either bound the rest is read and thrown away (§4.2.5: the reply comes
after the final dot) and nothing more is held. Lines are kept byte for byte; relaying folds them
(`smtp.linefold`), storage never does.

The data is read in pieces as large as the stream's buffer allows, each up to the end-of-data
sequence CRLF "." CRLF, not line by line: a 100 KB letter is a hundred pieces, not thirteen hundred
lines, each a trip through the reader. The sequence's leading CRLF ends the last line, so the data is
read as if a CRLF came before it; while what was read last could still begin the sequence (at the
start, and after an empty or dot-stuffed line there), lines are read one at a time. The transparency
dots (§4.5.2) are removed from the whole once it is read, in one pass.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

_END = b"\r\n.\r\n"
_LINE_START = b"\r\n"  # the data is read as if this came before it


class Overrun(enum.Enum):
    LINE = "line"  # one line over max_line_bytes
    SIZE = "size"  # the message over max_message_size


@dataclass(frozen=True, slots=True)
class DataRead:
    content: bytes  # dot-unstuffed (§4.5.2), CRLF kept; empty when overrun
    overrun: Overrun | None


async def read_data(reader: asyncio.StreamReader, *, max_size: int, max_line: int) -> DataRead:
    """Reads up to the lone dot; raises IncompleteReadError if the client hangs up first."""
    reading = _Reading(max_size, max_line)
    while not await _lines_at_start(reader, reading):
        pass
    while not reading.ended:
        try:
            piece = await reader.readuntil(_END)
        except asyncio.LimitOverrunError as error:
            # No end within the buffer's limit: take what cannot be part of it (the reader keeps back
            # an end's length less one) and go on.
            piece = await reader.readexactly(error.consumed)
        else:
            reading.ended = True
        reading.add(piece)
    return reading.result()


async def _lines_at_start(reader: asyncio.StreamReader, reading: _Reading) -> bool:
    """Reads while the last bytes read could begin the end-of-data sequence; True once they cannot
    (or the data ended), so that the rest can be read in large pieces."""
    first = await reader.readexactly(1)
    if first == b".":
        line = await _line(reader)
        reading.ended = line == b"\r\n"
        reading.add(first + line)
        if reading.ended:
            return True
        return not line.endswith(b"\r\n")  # a long dot-stuffed line: its end is found with the rest
    if first == b"\r":
        second = await reader.readexactly(1)
        reading.add(first + second)
        if second == b"\n":
            return False  # an empty line: the next one starts where the end could
        if second != b"\r":
            return True
        # A second CR may begin CRLF: the next line decides; put the reader back at a line's start
        # only once that CR is followed by LF.
        return await _after_cr(reader, reading)
    reading.add(first)
    return True


async def _after_cr(reader: asyncio.StreamReader, reading: _Reading) -> bool:
    while True:
        byte = await reader.readexactly(1)
        reading.add(byte)
        if byte == b"\n":
            return False
        if byte != b"\r":
            return True


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError as error:
        return await reader.readexactly(error.consumed)


class _Reading:
    """What has been read, with the bounds kept as it grows: the stuffed bytes as sent, after a
    CRLF that begins them, until a bound is passed; then only the count of what is thrown away."""

    def __init__(self, max_size: int, max_line: int) -> None:
        self.max_size = max_size
        self.max_line = max_line
        self.raw = bytearray(_LINE_START)
        self.line_start = len(_LINE_START)  # where the line being read begins in `raw`
        self.stuffed = 0  # transparency dots in `raw`
        self.overrun: Overrun | None = None
        self.ended = False

    def add(self, piece: bytes) -> None:
        if self.overrun is not None:
            return
        raw = self.raw
        start = len(raw)
        raw += piece
        self.stuffed += raw.count(b"\r\n.", max(start - 2, 0))
        if self.ended:
            self.stuffed -= 1  # the final dot is not a transparency dot
        self.overrun = self._line_overrun(start) or self._size_overrun()
        if self.overrun is not None:
            self.raw = bytearray()  # what was read goes now, not after the client finishes

    def _line_overrun(self, start: int) -> Overrun | None:
        raw, limit = self.raw, self.max_line + 2  # a line's length with its CRLF
        end = len(raw) - (3 if self.ended else 0)  # the final ".\r\n" is no line
        if end - self.line_start <= limit:
            # No line that began since `line_start` can be over the bound: only its start moves.
            last = raw.rfind(b"\r\n", max(start - 1, self.line_start), end)
            if last >= 0:
                self.line_start = last + 2
            return None
        position = self.line_start
        while True:
            found = raw.find(b"\r\n", max(start - 1, position), end)
            stop = end if found < 0 else found + 2
            length = stop - position - (raw[position : position + 1] == b".")
            if length > limit:
                return Overrun.LINE
            if found < 0:
                self.line_start = position
                return None
            position = found + 2

    def _size_overrun(self) -> Overrun | None:
        size = len(self.raw) - len(_LINE_START) - self.stuffed - (3 if self.ended else 0)
        return Overrun.SIZE if size > self.max_size else None

    def result(self) -> DataRead:
        if self.overrun is not None:
            return DataRead(b"", self.overrun)
        raw = self.raw
        del raw[len(raw) - 3 :]  # the final ".\r\n"
        if self.stuffed:
            raw = raw.replace(b"\r\n.", b"\r\n")
        del raw[: len(_LINE_START)]
        return DataRead(bytes(raw), None)
