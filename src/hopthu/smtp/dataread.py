"""Reading the DATA of one SMTP transaction (RFC 5321 §4.1.1.4) within our bounds.

aiosmtpd refuses any line over 998 octets with `500 Line too long`, but document systems send whole
HTML pages as one line and Postfix and Dovecot deliver them: bouncing what they accept would lose the
city's mail. So lines are read in pieces no longer than the stream's buffer limit (a connection waiting
for a command still holds about a kilobyte) and joined, up to `smtp.max_line_bytes`, and the message
up to `smtp.max_message_size`: past either bound the rest is read and thrown away (§4.2.5: the reply
comes after the final dot) and nothing more is held. Lines are kept byte for byte; relaying folds
them (`smtp.linefold`), storage never does.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass


class Overrun(enum.Enum):
    LINE = "line"  # one line over max_line_bytes
    SIZE = "size"  # the message over max_message_size


@dataclass(frozen=True, slots=True)
class DataRead:
    content: bytes  # dot-unstuffed (§4.5.2), CRLF kept; empty when overrun
    overrun: Overrun | None


async def read_data(reader: asyncio.StreamReader, *, max_size: int, max_line: int) -> DataRead:
    """Reads up to the lone dot; raises IncompleteReadError if the client hangs up first."""
    content = bytearray()
    inside = False  # part of a line has been read: its end cannot be the final dot
    line_start = 0  # where the current line begins in `content`
    overrun: Overrun | None = None
    while True:
        try:
            piece = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as error:
            # No CRLF within the buffer's limit: take what is there (a lone CR stays behind, so a
            # CRLF split across pieces is still found) and go on with the same line.
            piece = await reader.readexactly(error.consumed)
        if not inside:
            if piece == b".\r\n":
                break
            line_start = len(content)
            if piece.startswith(b"."):
                piece = piece[1:]  # §4.5.2 transparency
        inside = not piece.endswith(b"\r\n")
        if overrun is not None:
            continue
        content += piece  # pieces go straight on: most lines are one piece
        if len(content) - line_start > max_line + 2:
            overrun = Overrun.LINE
        elif len(content) > max_size:
            overrun = Overrun.SIZE
        if overrun is not None:
            content = bytearray()  # what was read goes now, not after the client finishes
    return DataRead(b"" if overrun else bytes(content), overrun)
