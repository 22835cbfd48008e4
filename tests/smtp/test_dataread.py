"""Reading DATA within bounds: long lines joined from pieces and kept byte for byte, the transparency
dot removed (RFC 5321 §4.5.2), and past either bound nothing more held while the rest is read."""

from __future__ import annotations

import asyncio

import pytest

from hopthu.smtp.dataread import Overrun, read_data

STREAM_LIMIT = 1001  # aiosmtpd's buffer limit: a line longer than this arrives in pieces


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_a_long_line_is_joined_and_kept_as_sent() -> None:
    line = ("Văn bản " * 2000).encode()
    body = b"Subject: x\r\n\r\n" + line + b"\r\n..dot\r\nend\r\n"
    read = await read_data(_reader(body + b".\r\nNOOP\r\n"), max_size=10**6, max_line=10**5)
    assert read.overrun is None
    assert read.content == body.replace(b"\r\n..dot", b"\r\n.dot")


async def test_a_final_dot_inside_a_long_line_does_not_end_the_data() -> None:
    """The reader keeps a separator's first byte back; when that byte is the line's last dot, the next
    piece is exactly ".\r\n", yet it ends a long line, not the data."""
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    reader.feed_data(b"a\r\n" + b"x" * (STREAM_LIMIT * 3) + b".")
    task = asyncio.create_task(read_data(reader, max_size=10**6, max_line=10**5))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done() and reader._buffer == b"."  # what the reader holds back
    reader.feed_data(b"\r\nb\r\n.\r\n")
    read = await task
    assert read.content == b"a\r\n" + b"x" * (STREAM_LIMIT * 3) + b".\r\nb\r\n"


@pytest.mark.parametrize(
    ("data", "overrun"),
    [
        (b"y" * 5000 + b"\r\n", Overrun.LINE),
        ((b"z" * 500 + b"\r\n") * 100, Overrun.SIZE),
    ],
)
async def test_past_a_bound_the_rest_is_read_and_nothing_kept(data: bytes, overrun: Overrun) -> None:
    reader = _reader(b"Subject: x\r\n\r\n" + data + b"after\r\n.\r\nQUIT\r\n")
    read = await read_data(reader, max_size=20_000, max_line=4000)
    assert (read.overrun, read.content) == (overrun, b"")
    assert await reader.readline() == b"QUIT\r\n"  # the next command is where it should be


async def test_a_hang_up_before_the_dot_is_an_incomplete_read() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        await read_data(_reader(b"Subject: x\r\n\r\nno end"), max_size=10**6, max_line=10**5)
