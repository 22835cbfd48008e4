"""Reading DATA within bounds: long lines joined from pieces and kept byte for byte, the transparency
dot removed (RFC 5321 §4.5.2), and past either bound nothing more held while the rest is read."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    """A long line's last byte is a dot and the rest of the line arrives later: the next bytes are
    exactly ".\r\n", yet they end a long line, not the data."""
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    reader.feed_data(b"a\r\n" + b"x" * (STREAM_LIMIT * 3) + b".")
    task = asyncio.create_task(read_data(reader, max_size=10**6, max_line=10**5))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done()
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


def _as_specified(stream: bytes, max_size: int, max_line: int) -> tuple[bytes, Overrun | None, bytes]:
    """RFC 5321 §4.1.1.4 and §4.5.2 read literally: the data ends at the first CRLF "." CRLF of the
    stream as if a CRLF came before it, and one leading dot goes from each line; the content, the
    bound passed (a line's before the message's) and what follows the end."""
    end = (b"\r\n" + stream).index(b"\r\n.\r\n")  # the data is stream[:end], CRLF after each line
    lines = stream[:end].split(b"\r\n")[:-1]
    lines = [line[1:] if line.startswith(b".") else line for line in lines]
    content = b"".join(line + b"\r\n" for line in lines)
    if any(len(line) > max_line for line in lines):
        return b"", Overrun.LINE, stream[end + 3 :]
    if len(content) > max_size:
        return b"", Overrun.SIZE, stream[end + 3 :]
    return content, None, stream[end + 3 :]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: bytes(b"a.\r\nx"[c % 5] for c in b)), max_size=30),
    limit=st.integers(min_value=6, max_value=90),
    pieces=st.lists(st.integers(min_value=1, max_value=50), max_size=20),
    max_line=st.integers(min_value=10, max_value=200),
    max_size=st.integers(min_value=0, max_value=400),
)
async def test_the_data_is_read_as_the_rfc_says_whatever_its_bytes_and_pieces(
    lines: list[bytes], limit: int, pieces: list[int], max_line: int, max_size: int
) -> None:
    """Any bytes, any stream buffer, any way they arrive: the content, the bound passed and the next
    command are those of the RFC's reading (among random lines, the first lone dot ends the data)."""
    stream = b"\r\n".join(lines) + (b"\r\n" if lines else b"") + b".\r\nNOOP\r\n"
    content, overrun, rest = _as_specified(stream, max_size, max_line)
    reader = asyncio.StreamReader(limit=limit)
    task = asyncio.create_task(read_data(reader, max_size=max_size, max_line=max_line))
    sent = 0
    for size in pieces:
        reader.feed_data(stream[sent : sent + size])
        sent += size
        await asyncio.sleep(0)
    reader.feed_data(stream[sent:])
    reader.feed_eof()
    read = await task
    if overrun is not None and read.overrun is not None:
        assert read.content == b""  # which bound is met first depends on the pieces
    else:
        assert (read.content, read.overrun) == (content, overrun)
    assert await reader.read() == rest
