"""rspamd's HTTP protocol: `/checkv2` on the normal worker, `/learnspam` and `/learnham` on the
controller.

A small HTTP/1.1 client of our own rather than a general one: rspamd speaks plain HTTP on the local
machine, every request is one POST with a body we hold in memory, and the answer is a small JSON
object. Connections are kept alive in a bounded pool (a message waits for a free one rather than
opening without end), an answer larger than `MAX_RESPONSE` is refused, and every failure (refused
connection, timeout, a status other than 200, JSON we cannot read) is an `EngineError`.

What rspamd is told beside the message (its request headers): IP, Helo, From, one Rcpt per
recipient, User for a signed-in sender (rspamd then treats the message as outbound), MTA-Name (our
name) and Queue-Id. rspamd's own `Hostname` header means the client's verified reverse DNS name,
which we do not know, so it is not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from hopthu.protection.engines import EngineError, ScanEnvelope, SpamAnswer

MAX_RESPONSE = 1024 * 1024  # an answer's body: a few hundred symbols at most
MAX_HEAD = 16 * 1024  # status line and headers
POOL = 8  # connections kept alive (and open at once) per rspamd worker


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    path: str  # the URL's path prefix, without a trailing slash

    @classmethod
    def parse(cls, url: str) -> _Endpoint:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"rspamd URL must be http://host:port, not {url!r}")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/"))


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Pool:
    """Keep-alive HTTP/1.1 connections to one host, at most `size` of them open at once."""

    def __init__(self, endpoint: _Endpoint, size: int) -> None:
        self.endpoint = endpoint
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(size)

    async def post(self, path: str, headers: list[tuple[str, str]], body: bytes) -> _Response:
        async with self._slots:
            # A kept-alive connection rspamd has since closed fails at once: try one fresh connection.
            for attempt in range(2):
                reused = bool(self._idle)
                connection = self._idle.pop() if reused else await self._open()
                try:
                    response = await _exchange(connection, self.endpoint, path, headers, body)
                except (OSError, asyncio.IncompleteReadError, EngineError) as error:
                    await _close(connection[1])
                    if reused and attempt == 0 and not isinstance(error, EngineError):
                        continue
                    raise
                except BaseException:
                    await _close(connection[1])
                    raise
                if response.headers.get("connection", "").lower() == "close":
                    await _close(connection[1])
                else:
                    self._idle.append(connection)
                return response
        raise AssertionError("unreachable")

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.endpoint.host, self.endpoint.port, limit=MAX_HEAD)

    async def close(self) -> None:
        while self._idle:
            await _close(self._idle.pop()[1])


class Rspamd:
    def __init__(
        self,
        url: str,
        *,
        controller_url: str = "",
        password: str = "",
        timeout: float = 30.0,
        pool: int = POOL,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.password = password
        self._normal = _Pool(_Endpoint.parse(url), pool)
        self._controller = _Pool(_Endpoint.parse(controller_url), pool) if controller_url else None

    def __repr__(self) -> str:
        return f"Rspamd({self.url!r})"

    async def check(self, message: bytes, envelope: ScanEnvelope) -> SpamAnswer:
        headers = [("IP", envelope.client_ip), ("Helo", envelope.helo), ("From", envelope.mail_from)]
        headers += [("Rcpt", recipient) for recipient in envelope.recipients]
        if envelope.user:
            headers.append(("User", envelope.user))
        if envelope.hostname:
            headers.append(("MTA-Name", envelope.hostname))
        if envelope.queue_id:
            headers.append(("Queue-Id", envelope.queue_id))
        answer = await self._post(self._normal, "/checkv2", headers, message)
        try:
            score = float(answer["score"])
            action = str(answer.get("action", ""))
            symbols = {
                str(name): float(symbol.get("score", 0.0))
                for name, symbol in (answer.get("symbols") or {}).items()
                if isinstance(symbol, dict)
            }
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise EngineError(f"rspamd: unexpected answer ({type(error).__name__})") from error
        return SpamAnswer(score=score, action=action, symbols=symbols)

    async def learn(self, message: bytes, *, spam: bool) -> None:
        """Teach rspamd's Bayes classifier. rspamd declining (a message it already learned this way,
        or one its learn conditions refuse: HTTP 204 or 208) is not an error: there is nothing to do."""
        if self._controller is None:
            raise EngineError("rspamd: no controller URL to learn with")
        headers = [("Password", self.password)] if self.password else []
        path = "/learnspam" if spam else "/learnham"
        try:
            await self._post(self._controller, path, headers, message)
        except _Status as status:
            if status.code not in (204, 208):
                raise

    async def _post(self, pool: _Pool, path: str, headers: list[tuple[str, str]], body: bytes) -> dict:
        try:
            response = await asyncio.wait_for(
                pool.post(pool.endpoint.path + path, headers, body), self.timeout
            )
        except EngineError:
            raise
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            why = str(error) or type(error).__name__
            raise EngineError(f"rspamd: {why}") from error
        if response.status != 200:
            raise _Status(response.status, response.body[:300].decode("utf-8", "replace"))
        try:
            answer = json.loads(response.body)
        except ValueError as error:
            raise EngineError("rspamd: an answer that is not JSON") from error
        if not isinstance(answer, dict):
            raise EngineError("rspamd: an answer that is not a JSON object")
        if "error" in answer and "score" not in answer:
            raise EngineError(f"rspamd: {str(answer['error'])[:200]}")
        return answer

    async def close(self) -> None:
        await self._normal.close()
        if self._controller is not None:
            await self._controller.close()


class _Status(EngineError):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"rspamd answered HTTP {code}: {text[:200]}")
        self.code = code
        self.text = text


async def _exchange(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    endpoint: _Endpoint,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> _Response:
    reader, writer = connection
    lines = [f"POST {path} HTTP/1.1", f"Host: {endpoint.host}:{endpoint.port}"]
    lines += [f"{name}: {_field(value)}" for name, value in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: keep-alive"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    writer.write(body)
    await writer.drain()
    return await _read_response(reader)


def _field(value: str) -> str:
    """A header value on one line (an address or HELO name with a CR or LF would split the request)."""
    return "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in value)[:1000]


async def _read_response(reader: asyncio.StreamReader) -> _Response:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as error:
        raise EngineError("rspamd: response headers too long") from error
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise EngineError(f"rspamd: not an HTTP answer ({status_line[:80]!r})")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if parts[0] == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers["connection"] = "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as error:
            raise EngineError("rspamd: bad Content-Length") from error
        if length < 0 or length > MAX_RESPONSE:
            raise EngineError(f"rspamd: answer of {length} bytes is too large")
        body = await reader.readexactly(length)
    else:
        body = await _read_to_close(reader)
        headers["connection"] = "close"
    return _Response(int(parts[1]), headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        try:
            size_line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as error:
            raise EngineError("rspamd: bad chunk") from error
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as error:
            raise EngineError("rspamd: bad chunk size") from error
        if size < 0 or len(body) + size > MAX_RESPONSE:
            raise EngineError("rspamd: answer too large")
        if size == 0:
            # Trailers (none expected) up to the empty line.
            for _ in range(100):
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return bytes(body)
            raise EngineError("rspamd: too many trailers")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise EngineError("rspamd: bad chunk end")


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while chunk := await reader.read(64 * 1024):
        body += chunk
        if len(body) > MAX_RESPONSE:
            raise EngineError("rspamd: answer too large")
    return bytes(body)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
