"""The `/metrics` listener: a small HTTP/1.1 responder on the process's event loop.

Apart from the web (`metrics.listen`, loopback by default) so that the reverse proxy in front of the
webmail never publishes it, and small on purpose: one request per connection, `GET` or `HEAD` of
`/metrics` answered with the registry's text (RFC 9110; Prometheus's text format 0.0.4), the rest
refused in a line of Vietnamese and English. What a client may make it hold is bounded: the request
head to `MAX_HEAD` bytes (431 past it), `HEAD_SECONDS` to send it (408), `MAX_CLIENTS` connections
at once (503 to the next), and a request body is never read. A scraper is a program on the
operators' side: nothing here needs more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger("hopthu.metrics")

PATH = "/metrics"
# Prometheus's classic text format, which every version of Prometheus reads; our names need none of
# the newer format's escaping, so the text is the same.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_HEAD = 8 * 1024  # a scraper's request head is a few hundred bytes
HEAD_SECONDS = 10.0  # to send the whole head; Prometheus's default scrape timeout is 10 s too
WRITE_SECONDS = 30.0  # for the client to take the answer
LINGER_SECONDS = 2.0  # what a refused client still sends is read and dropped this long at most
LINGER_BYTES = 1024 * 1024  # and this much at most
MAX_CLIENTS = 16  # connections at once: Prometheus scrapes one at a time per target

Render = Callable[[], Awaitable[bytes]]
"""The body of a scrape: the registry's text, its samples refreshed first."""

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_WORDS = {
    400: ("Yêu cầu không đúng cú pháp HTTP", "Malformed HTTP request"),
    404: ("Chỉ có /metrics ở đây", "Only /metrics is served here"),
    405: ("Chỉ nhận GET hoặc HEAD", "Only GET or HEAD is allowed"),
    408: ("Hết thời gian gửi yêu cầu", "Request not sent in time"),
    431: ("Phần đầu yêu cầu quá lớn", "Request head too large"),
    500: ("Lỗi nội bộ khi đo", "Internal error while measuring"),
    503: ("Quá nhiều kết nối tới /metrics", "Too many connections to /metrics"),
    505: ("Chỉ hỗ trợ HTTP/1.x", "Only HTTP/1.x is supported"),
}


class MetricsListener:
    """Serves `render`'s text on a listening socket until `close`."""

    def __init__(self, render: Render) -> None:
        self.render = render
        self.clients = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self, sock: socket.socket) -> None:
        # `limit` bounds what the reader buffers while it looks for the head's end
        self._server = await asyncio.start_server(self._serve, sock=sock, limit=MAX_HEAD)

    async def close(self) -> None:
        """Stop listening and drop the scrapes under way (their reads and writes end at once)."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        self.clients += 1
        try:
            if self.clients > MAX_CLIENTS:
                status, body, head_only = 503, b"", False
            else:
                status, body, head_only = await self._answer(reader)
            await self._send(writer, status, body, head_only)
            if status not in (200, 500):  # the client may still be sending what was refused
                await _linger(reader)
            writer.close()
            with contextlib.suppress(ConnectionError):
                async with asyncio.timeout(WRITE_SECONDS):
                    await writer.wait_closed()
        except (ConnectionError, TimeoutError):
            pass  # the scraper went away, or does not read: nothing to tell it
        finally:
            self.clients -= 1
            self._open.discard(writer)
            if not writer.is_closing():
                writer.transport.abort()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        """(status, body, HEAD): the request read and judged."""
        try:
            async with asyncio.timeout(HEAD_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return 408, b"", False
        except asyncio.LimitOverrunError:
            return 431, b"", False
        except asyncio.IncompleteReadError:
            return 400, b"", False
        status, head_only = judge(head)
        if status != 200:
            return status, b"", False
        try:
            return 200, await self.render(), head_only
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("rendering /metrics failed (incident %s)", incident)
            return 500, b"", False

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, head_only: bool) -> None:
        if status == 200:
            kind = CONTENT_TYPE
        else:
            vi, en = _WORDS[status]
            body, kind = f"{vi} / {en}\n".encode(), "text/plain; charset=utf-8"
        head = [
            f"HTTP/1.1 {status} {_REASONS[status]}",
            f"Content-Type: {kind}",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if status == 405:
            head.append("Allow: GET, HEAD")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
        if not head_only:
            writer.write(body)
        async with asyncio.timeout(WRITE_SECONDS):
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _linger(reader: asyncio.StreamReader) -> None:
    """Read and drop what a refused client is still sending, a little of it for a little while:
    closing with unread bytes makes the kernel reset the connection, and the client may lose the
    answer it was sent."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_SECONDS):
            dropped = 0
            while dropped < LINGER_BYTES:
                chunk = await reader.read(MAX_HEAD)
                if not chunk:
                    return
                dropped += len(chunk)


def judge(head: bytes) -> tuple[int, bool]:
    """The status a request head earns (200 to serve it) and whether it asked for HEAD. Pure: only
    the request line is looked at; headers a scraper sends (Accept, User-Agent) change nothing."""
    line, _, _ = head.partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        return 400, False
    method, target, version = parts
    if not version.startswith(b"HTTP/"):
        return 400, False
    if version not in (b"HTTP/1.0", b"HTTP/1.1"):
        return 505, False
    if method not in (b"GET", b"HEAD"):
        return 405, False
    path = target.split(b"?", 1)[0]
    if path != PATH.encode():
        return 404, False
    return 200, method == b"HEAD"
