"""Multi-line POP3 responses: dot-stuffing, the terminating ".", and TOP's cut of a message.

A message may be tens of megabytes; these generators hand the connection pieces of at most `CHUNK`
bytes (views into the stored bytes where possible), so that serving one adds little beyond the
message itself and the writer's buffer, and the writer can wait for the client between pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

CHUNK = 64 * 1024
TERMINATOR = b".\r\n"

_HEADER_END = re.compile(rb"(?:\A|\n)\r?\n")  # RFC 5322 §2.1: the first empty line ends the header


def stuffed(data: bytes, chunk: int = CHUNK) -> Iterator[bytes]:
    """`data` as a multi-line response body (RFC 1939 §3): a "." added before each line that starts
    with one, the last line ended, then "." CRLF; in pieces of at most `chunk` bytes."""
    return _coalesce(_stuffed_pieces(data), chunk)


def listing(lines: Iterable[str], chunk: int = CHUNK) -> Iterator[bytes]:
    """Short text lines (CAPA, LIST, UIDL) as a multi-line response body, terminator included."""

    def pieces() -> Iterator[bytes]:
        for line in lines:
            encoded = line.encode()
            yield (b"." + encoded if encoded.startswith(b".") else encoded) + b"\r\n"
        yield TERMINATOR

    return _coalesce(pieces(), chunk)


def top(data: bytes, lines: int) -> bytes:
    """RFC 1939 §7 TOP: the header, the blank line separating it from the body, then the first
    `lines` lines of the body (all of them if it has fewer). A message without a blank line is all
    header."""
    found = _HEADER_END.search(data)
    if found is None:
        return data
    end = found.end()
    for _ in range(lines):
        newline = data.find(b"\n", end)
        if newline < 0:
            return data
        end = newline + 1
    return data[:end]


def _stuffed_pieces(data: bytes) -> Iterator[bytes | memoryview]:
    view = memoryview(data)
    if data.startswith(b"."):
        yield b"."
    start = 0
    while (hit := data.find(b"\n.", start)) >= 0:  # RFC 1939 §3 byte-stuffing
        yield view[start : hit + 1]
        yield b"."
        start = hit + 1
    yield view[start:]
    if data and not data.endswith(b"\n"):
        yield b"\r\n"
    yield TERMINATOR


def _coalesce(pieces: Iterable[bytes | memoryview], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        while piece:
            room = size - len(buffer)
            buffer += piece[:room]
            piece = piece[room:]
            if len(buffer) >= size:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)
