"""IMAP conversations over an in-memory transport: a session runs in the test's event loop against a
real store, and the test speaks to it line by line, as RFC 9051's examples do:

    await imap.transact(OK, "SELECT INBOX")
    await imap.transact(NO, "SELECT Nowhere", code=Code.NONEXISTENT)

No socket, no thread, no TLS: the rules of the protocol are checked here, the wire itself by the
real-client and golden tests.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hopthu.imap import listener  # noqa: F401  (registers the command handlers)
from hopthu.imap.session import ImapContext, Session

OK, NO, BAD, BYE = "OK", "NO", "BAD", "BYE"
WAIT = 10.0  # seconds a test waits for an answer before it fails
_STATUS = re.compile(
    rb"(?P<tag>\S+) (?P<condition>OK|NO|BAD|BYE)(?: \[(?P<code>[^]]*)\])?(?: (?P<text>.*))?\r\n\Z"
)
_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\+?\}\r\n\Z")


class _Incoming(asyncio.Queue[bytes | None]):
    """The client's side of the connection: a queue that also calls back once something is put."""

    arrival: Callable[[], None] | None = None

    def _put(self, item: bytes | None) -> None:
        super()._put(item)  # type: ignore[misc]
        if self.arrival is not None:
            arrival, self.arrival = self.arrival, None
            arrival()


class MemoryTransport:
    """A session's `Transport` kept in memory: what the client sends is queued, what the server
    writes is kept for reading; closing ends both ways. `None` in the queue is the client hanging up."""

    def __init__(self, *, peer: str = "127.0.0.1", secure: bool = True) -> None:
        self.incoming = _Incoming()
        self.output = bytearray()
        self.written = asyncio.Event()
        self.closed = False
        self.aborted = False
        self.tls_started = 0
        self._peer = peer
        self._secure = secure

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def secure(self) -> bool:
        return self._secure

    async def read(self) -> bytes:
        if self.closed:
            return b""
        data = await self.incoming.get()
        if data is None:
            self.incoming.put_nowait(None)  # every later read sees the end too
            return b""
        return data

    def has_input(self) -> bool:
        return self.closed or not self.incoming.empty()

    def on_input(self, callback: Callable[[], None] | None) -> None:
        self.incoming.arrival = callback

    def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("write after close")
        self.output += data
        self.written.set()

    async def drain(self) -> None:
        return None

    async def start_tls(self) -> None:
        # What the client queued before the handshake came in plain text: dropped (CVE-2011-0411).
        while not self.incoming.empty():
            self.incoming.get_nowait()
        self.tls_started += 1
        self._secure = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self.written.set()

    async def wait_closed(self) -> None:
        return None

    def abort(self) -> None:
        self.aborted = True
        self.close()


@dataclass
class Answer:
    """What the server said to one command: untagged lines (without "* " and CRLF; literals kept
    inline), and the tagged status."""

    untagged: list[bytes]
    condition: str
    code: str | None
    text: str
    continuations: list[bytes] = field(default_factory=list)

    def named(self, name: bytes) -> list[bytes]:
        """The untagged lines of one kind ("EXISTS", "FETCH", "SEARCH"...), in order."""
        found = []
        for line in self.untagged:
            words = line.split(b" ", 2)
            if words[0] == name or (len(words) > 1 and words[0].isdigit() and words[1] == name):
                found.append(line)
        return found


class Conversation:
    """One client's side of a session: tagged commands in, the server's lines out."""

    def __init__(self, ctx: ImapContext, *, peer: str = "127.0.0.1", secure: bool = True) -> None:
        self.transport = MemoryTransport(peer=peer, secure=secure)
        self.session = Session(ctx, self.transport)
        self.task: asyncio.Task[None] | None = None
        self.tags = (f"A{n:03d}" for n in itertools.count(1))
        self._read = 0
        self.greeting = b""

    async def start(self) -> Conversation:
        self.task = asyncio.create_task(self.session.run())
        self.greeting = await self.line()
        return self

    def send(self, data: bytes | str) -> None:
        """Bytes as the client sends them (CRLF included)."""
        self.transport.incoming.put_nowait(data.encode() if isinstance(data, str) else data)

    def hang_up(self) -> None:
        self.transport.incoming.put_nowait(None)

    async def line(self) -> bytes:
        """The server's next line, with any literals it announces read into it; b"" once closed."""
        line = await self._next_line()
        while line and (literal := _LITERAL_AT_END.search(line)) is not None:
            line += await self._take(int(literal[1]))
            line += await self._next_line()
        return line

    async def _next_line(self) -> bytes:
        async with asyncio.timeout(WAIT):
            while True:
                end = self.transport.output.find(b"\r\n", self._read)
                if end >= 0:
                    line = bytes(self.transport.output[self._read : end + 2])
                    self._read = end + 2
                    return line
                if self.transport.closed:
                    return b""
                self.transport.written.clear()
                await self.transport.written.wait()

    async def _take(self, size: int) -> bytes:
        async with asyncio.timeout(WAIT):
            while len(self.transport.output) - self._read < size:
                if self.transport.closed:
                    raise AssertionError("closed inside a literal")
                self.transport.written.clear()
                await self.transport.written.wait()
        data = bytes(self.transport.output[self._read : self._read + size])
        self._read += size
        return data

    def pending(self) -> bytes:
        """What the server wrote that the test has not read yet."""
        return bytes(self.transport.output[self._read :])

    async def continuation(self) -> bytes:
        """The server's next line, which must be a continuation request ("+ ...")."""
        line = await self.line()
        assert line.startswith(b"+"), line
        return line

    async def answer(self, tag: str) -> Answer:
        """Every line up to the tagged status of `tag`. A BYE that closes the connection instead
        of a tagged answer (too many bad commands, sign-ins) ends the answer with condition "BYE"."""
        untagged: list[bytes] = []
        continuations: list[bytes] = []
        while True:
            line = await self.line()
            if not line:
                bye = [u for u in untagged if u.startswith(b"BYE")]
                assert bye, f"connection closed without answering {tag}: {untagged}"
                status = _STATUS.match(b"* " + bye[-1])
                assert status is not None
                return Answer(untagged, BYE, _code(status), _text(status), continuations)
            if line.startswith(b"+"):
                continuations.append(line)
                continue
            if line.startswith(b"* "):
                untagged.append(line[2:-2])
                continue
            status = _STATUS.match(line)
            assert status is not None and status["tag"] == tag.encode(), line
            return Answer(untagged, status["condition"].decode(), _code(status), _text(status), continuations)

    async def transact(
        self,
        expected: str,
        command: str | bytes,
        *,
        code: str | None = None,
        literal: bytes | None = None,
    ) -> Answer:
        """Send one tagged command and read its answer, which must have the `expected` condition
        (and response `code`, when given). A command ending in a synchronising literal ("{12}")
        gets `literal` sent after the server's continuation request (RFC 9051 §7.5)."""
        tag = next(self.tags)
        raw = command.encode() if isinstance(command, str) else command
        self.send(tag.encode() + b" " + raw + b"\r\n")
        if literal is not None:
            if not raw.endswith(b"+}"):
                await self.continuation()
            self.send(literal + b"\r\n")
        answer = await self.answer(tag)
        assert answer.condition == expected, (command, answer)
        if code is not None:
            assert answer.code is not None and answer.code.split(" ")[0] == code, (command, answer)
        return answer

    async def login(self, user: str, password: str) -> Answer:
        return await self.transact(OK, f'LOGIN {user} "{password}"')

    async def finished(self) -> None:
        """Wait for the session to end (after LOGOUT, a BYE or the client hanging up)."""
        assert self.task is not None
        async with asyncio.timeout(WAIT):
            await self.task
        assert self.transport.closed

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.hang_up()
            await self.finished()


def _code(status: re.Match[bytes]) -> str | None:
    return status["code"].decode() if status["code"] is not None else None


def _text(status: re.Match[bytes]) -> str:
    return (status["text"] or b"").decode("ascii", "replace")
