"""The `/metrics` listener refuses what is not a scrape, cleanly: a status line and a closed
connection, never a hang, a traceback or a buffer that grows with what the client sends."""

from __future__ import annotations

import asyncio
import socket

import pytest

from hopthu.metrics import listener
from hopthu.metrics.listener import MetricsListener, judge
from hopthu.server import listen_socket

BODY = b"# HELP hopthu_test A test\n# TYPE hopthu_test gauge\nhopthu_test 1.0\n"


@pytest.mark.parametrize(
    ("head", "status", "head_only"),
    [
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, False),
        (b"GET /metrics?name[]=x HTTP/1.0\r\n\r\n", 200, False),
        (b"HEAD /metrics HTTP/1.1\r\n\r\n", 200, True),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 405, False),
        (b"GET / HTTP/1.1\r\n\r\n", 404, False),
        (b"GET /metrics/../etc HTTP/1.1\r\n\r\n", 404, False),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505, False),
        (b"GET /metrics\r\n\r\n", 400, False),
        (b"GET  /metrics HTTP/1.1\r\n\r\n", 400, False),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, False),  # a TLS hello
        (b"G\xc3\xa9T /metrics HTTP/1.1\r\n\r\n", 400, False),
        (b"GET /metrics SMTP/1.1\r\n\r\n", 400, False),
    ],
)
def test_request_lines(head: bytes, status: int, head_only: bool) -> None:
    assert judge(head) == (status, head_only)


@pytest.fixture
async def served(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listener, "HEAD_SECONDS", 0.5)
    monkeypatch.setattr(listener, "LINGER_SECONDS", 0.5)
    monkeypatch.setattr(listener, "MAX_CLIENTS", 3)
    renders = []

    async def render() -> bytes:
        renders.append(1)
        return BODY

    metrics = MetricsListener(render)
    sock = listen_socket("127.0.0.1", 0, "metrics")
    await metrics.start(sock)
    try:
        yield sock.getsockname()[1], renders, metrics
    finally:
        await metrics.close()


async def exchange(port: int, request: bytes, *, seconds: float = 5.0) -> bytes:
    """Send `request`, then read until the server closes (within `seconds`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if request:
            writer.write(request)
            await writer.drain()
        async with asyncio.timeout(seconds):
            return await reader.read(-1)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_a_scrape_is_answered_with_the_text(served) -> None:
    port, renders, _ = served
    answer = await exchange(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    assert f"Content-Length: {len(BODY)}".encode() in head and body == BODY
    assert b"Connection: close" in head and renders == [1]
    answer = await exchange(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n")  # the head alone


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"\x00\xff garbage \x01\r\n\r\n", 400),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 405),
        (b"GET /admin HTTP/1.1\r\n\r\n", 404),
        (b"GET /metrics HTTP/1.1\r\n", 400),  # the client closes before the head's end
    ],
)
async def test_what_is_not_a_scrape_is_refused_in_both_languages(
    served, request_bytes: bytes, status: int
) -> None:
    port, renders, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes)
    if status == 400 and request_bytes.endswith(b"HTTP/1.1\r\n"):
        writer.write_eof()
    await writer.drain()
    async with asyncio.timeout(5):
        answer = await reader.read(-1)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == status
    assert b" / " in body and body.decode("utf-8")  # Vietnamese / English, one line
    assert renders == []
    if status == 405:
        assert b"Allow: GET, HEAD" in head


async def test_a_silent_client_gets_408_and_the_connection_ends(served) -> None:
    port, _, _ = served
    answer = await exchange(port, b"", seconds=5)
    assert status_of(answer) == 408


async def test_a_client_that_sends_without_end_is_cut_off(served) -> None:
    """Past the head's bound the answer is 431; what keeps coming is read for a moment, then the
    connection is dropped: the client cannot hold it by sending."""
    port, _, _ = served
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"X" * 65536
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises((ConnectionError, OSError)):
        async with asyncio.timeout(10):
            while True:
                writer.write(chunk)
                await writer.drain()
    assert loop.time() - started < 8
    writer.close()


async def test_too_many_clients_at_once_get_503(served) -> None:
    port, _, metrics = served
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    async with asyncio.timeout(5):
        while metrics.clients < 3:
            await asyncio.sleep(0.01)
    answer = await exchange(port, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert status_of(answer) == 503
    for _, writer in idle:
        writer.close()
    async with asyncio.timeout(5):
        while metrics.clients:
            await asyncio.sleep(0.01)
    assert status_of(await exchange(port, b"GET /metrics HTTP/1.1\r\n\r\n")) == 200


async def test_close_ends_scrapes_under_way(served) -> None:
    port, _, metrics = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    async with asyncio.timeout(5):
        while metrics.clients < 1:
            await asyncio.sleep(0.01)
    await metrics.close()
    async with asyncio.timeout(5):
        assert await reader.read(-1) == b""
    writer.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
